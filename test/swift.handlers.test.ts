/**
 * initialize and check end to end on the real Swift all-in-one, through the Lambda handlers (direct and
 * HTTP events): a Stash Repository with `dir:` credentials (v1 keys), our normalized form with the
 * deployment's CREDENTIALS_SOURCE template, 20 concurrent initializers, a wrong key, a missing container,
 * inconsistent keys, and (through the Keystone contract fake) a region that is not in the catalog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYSTONE_IDENTITY, startKeystoneFake, type KeystoneFake } from './fakes/keystone.js';
import { condition, invokeBoth } from './support/handlers.js';
import { secretsRoot } from './support/mounted-secret.js';
import { createContainer, listNames, swiftServer, uniqueContainer, v1Secret } from './support/swift.js';

// The deployment's template turns a manifest's secret name into a dir: reference; read at cold start.
const { source, secret } = await secretsRoot('swift');
process.env.CREDENTIALS_SOURCE = source;
const initialize = invokeBoth((await import('../functions/initialize.js')).handler);
const check = invokeBoth((await import('../functions/check.js')).handler);

function repository(container: string, storageSecretName: string): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'Repository',
    metadata: { name: `swift-${container}`, namespace: 'demo' },
    spec: { backend: { swift: { container, prefix: '/demo/deployment/stash-demo' }, storageSecretName } },
  };
}

function normalized(
  container: string,
  secretName: string,
  prefix = 'demo/cluster-a',
): Record<string, unknown> {
  return { provider: 'swift', container, prefix, secretName, namespace: 'demo', name: `swift-${container}` };
}

describe('swift handlers on the real Swift all-in-one', () => {
  let keystone: KeystoneFake;
  let stashCredentials: string;

  beforeAll(async () => {
    const swift = swiftServer();
    keystone = await startKeystoneFake({
      swiftAuthUrl: swift.authUrl,
      swiftUser: swift.user,
      swiftKey: swift.key,
    });
    await secret('demo', 'swift-v1', v1Secret());
    stashCredentials = await secret('demo', 'swift-stash', {
      ...v1Secret(),
      RESTIC_PASSWORD: 'stash-repository-password',
    });
    await secret('demo', 'swift-wrong-key', v1Secret({ ST_KEY: 'definitely-wrong-key' }));
    await secret('demo', 'swift-incomplete', {
      OS_AUTH_URL: `${keystone.url}/v3`,
      OS_USERNAME: 'backup',
      OS_PASSWORD: 'pw-value',
    });
    await secret('demo', 'swift-far-region', {
      OS_AUTH_URL: `${keystone.url}/v3`,
      OS_USERNAME: KEYSTONE_IDENTITY.user.name,
      OS_PASSWORD: KEYSTONE_IDENTITY.user.password,
      OS_USER_DOMAIN_NAME: KEYSTONE_IDENTITY.domain.name,
      OS_PROJECT_NAME: KEYSTONE_IDENTITY.project.name,
      OS_PROJECT_DOMAIN_NAME: KEYSTONE_IDENTITY.domain.name,
      OS_REGION_NAME: 'RegionNine',
    });
  });
  afterAll(async () => {
    await keystone?.close();
  });

  it('initializes a Stash Repository with dir: credentials (direct event), then checks it (HTTP event)', async () => {
    const container = uniqueContainer('stash');
    await createContainer(container);
    const credentials = stashCredentials;
    const storage = repository(container, 'swift-stash');
    const initialized = await initialize.direct({ storage, credentials });
    expect(initialized.status.phase, JSON.stringify(initialized.status)).toBe('Ready');
    expect(initialized.storage).toMatchObject({
      provider: 'swift',
      flavor: 'stash',
      kind: 'Repository',
      prefix: 'demo/deployment/stash-demo',
    });
    expect(initialized.status.conditionalWrites).toBe(false);

    const checked = await check.http({ storage, credentials });
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    for (const type of [
      'BackendSecretFound',
      'BackendReachable',
      'BackendAuthenticated',
      'BackendReadable',
      'BackendWritable',
    ]) {
      expect(condition(checked, type).status).toBe('True');
    }
    expect(condition(checked, 'BackendWritable').message).toContain('checksum');
    // Stash's marker is its restic repository; probes and claims leave nothing behind.
    const names = (await listNames(container)) ?? [];
    expect(names).toContain('demo/deployment/stash-demo/config');
    expect(names.every((name) => name.startsWith('demo/deployment/stash-demo/'))).toBe(true);
    expect(names.filter((name) => name.includes('.backupstorage-'))).toEqual([]);
  });

  it('initializes our normalized form through the CREDENTIALS_SOURCE template, creating the container (HTTP event)', async () => {
    const container = uniqueContainer('normalized');
    const storage = normalized(container, 'swift-v1');
    const initialized = await initialize.http({ storage, options: { createBucket: true } });
    expect(condition(initialized, 'BackendInitialized').status, JSON.stringify(initialized.status)).toBe(
      'True',
    );
    expect(initialized.storage).toMatchObject({
      provider: 'swift',
      flavor: 'kubestash',
      container,
      prefix: 'demo/cluster-a',
    });
    expect(await listNames(container)).toEqual(['demo/cluster-a/metadata.yaml']);
    const checked = await check.direct({ storage });
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    expect(await listNames(container)).toEqual(['demo/cluster-a/metadata.yaml']);
  });

  it('lets exactly one of 20 concurrent initializers write metadata.yaml; the others accept it', async () => {
    const container = uniqueContainer('race');
    await createContainer(container);
    const storage = normalized(container, 'swift-v1', 'race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 ? initialize.http : initialize.direct)({ storage }),
      ),
    );
    const conditions = results.map((result) => condition(result, 'BackendInitialized'));
    expect(
      conditions.every((c) => c.status === 'True'),
      JSON.stringify(conditions),
    ).toBe(true);
    expect(conditions.filter((c) => c.message === 'Successfully initialized backend.')).toHaveLength(1);
    expect(await listNames(container)).toEqual(['race/metadata.yaml']);
  });

  it('reports a wrong key as Unauthenticated, with a hint and without the key', async () => {
    const container = uniqueContainer('wrongkey');
    await createContainer(container);
    const checked = await check.http({ storage: normalized(container, 'swift-wrong-key') });
    expect(checked.status.phase).toBe('NotReady');
    expect(condition(checked, 'BackendReachable').status).toBe('True');
    const authenticated = condition(checked, 'BackendAuthenticated');
    expect(authenticated).toMatchObject({ status: 'False', reason: 'Unauthenticated' });
    expect(authenticated.hint).toContain('ST_KEY');
    expect(JSON.stringify(checked)).not.toContain('definitely-wrong-key');
  });

  it('reports a missing container as NotFound, and initialize without createBucket leaves it missing', async () => {
    const container = uniqueContainer('absent');
    const storage = repository(container, 'swift-stash');
    const checked = await check.direct({ storage });
    expect(checked.status.phase).toBe('NotReady');
    expect(condition(checked, 'BackendAuthenticated').status).toBe('True');
    expect(condition(checked, 'BackendReadable')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(condition(checked, 'BackendReadable').message).toContain(
      `container "${container}" does not exist`,
    );
    const initialized = await initialize.http({ storage });
    expect(condition(initialized, 'BackendInitialized')).toMatchObject({
      status: 'False',
      reason: 'NotFound',
    });
    expect(await listNames(container)).toBeUndefined();
  });

  it('reports inconsistent keys as InvalidConfig naming what is missing, without values', async () => {
    const checked = await check.direct({
      storage: normalized(uniqueContainer('incomplete'), 'swift-incomplete'),
    });
    expect(checked.status.phase).toBe('NotReady');
    const failed = checked.status.conditions.find((c) => c.status === 'False');
    expect(failed?.reason).toBe('InvalidConfig');
    expect(failed?.message).toContain(
      'Keystone v3 password is missing OS_USER_DOMAIN_NAME or OS_USER_DOMAIN_ID, OS_PROJECT_NAME (with OS_PROJECT_DOMAIN_NAME) or OS_PROJECT_ID',
    );
    expect(JSON.stringify(checked)).not.toContain('pw-value');
  });

  it('reports a region missing from the Keystone catalog with the regions that exist', async () => {
    const checked = await check.http({ storage: normalized(uniqueContainer('region'), 'swift-far-region') });
    expect(checked.status.phase).toBe('NotReady');
    const readable = condition(checked, 'BackendReadable');
    expect(readable.reason).toBe('InvalidConfig');
    // A region identifies, it does not authenticate: statuses name it (secrets stay scrubbed).
    expect(readable.message).toContain(
      'no object-store endpoint in region "RegionNine"; regions with one: RegionOne, RegionTwo',
    );
    expect(readable.hint).toContain('OS_REGION_NAME');
  });
});
