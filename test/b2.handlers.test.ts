/**
 * initialize and check end to end through the Lambda handlers (direct and HTTP events), with
 * options.endpoint pointing at the contract fake of the B2 native API and the real backblaze-b2 client
 * in between: KubeStash BackupStorage and Stash Repository forms, `dir:` credentials, scoped keys, and
 * 20 concurrent initializers that must leave exactly one metadata.yaml version.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { handler as checkHandler } from '../functions/check.js';
import { handler as initializeHandler } from '../functions/initialize.js';
import type { OperationResult } from '../lib/status/result.js';
import { b2Fake, b2Store, uniqueBucketName } from './support/b2.js';
import { condition, invokeDirect } from './support/handlers.js';
import { httpEvent, lambdaContext } from './support/lambda.js';
import { secretDir } from './support/mounted-secret.js';

const fake = b2Fake();
const endpoint = fake.endpoint;

const initialize = invokeDirect(initializeHandler);
const check = invokeDirect(checkHandler);

function backupStorage(name: string, bucket: string, prefix: string): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name, namespace: 'demo', uid: randomUUID() },
    spec: {
      storage: { provider: 'b2', b2: { bucket, prefix, maxConnections: 4, secretName: 'b2-secret' } },
      usagePolicy: { allowedNamespaces: { from: 'All' } },
      deletionPolicy: 'Delete',
    },
  };
}

const masterSecret = (): Promise<string> =>
  secretDir({ B2_ACCOUNT_ID: fake.accountId, B2_ACCOUNT_KEY: fake.masterKey });

describe('B2 initialize and check through the handlers (contract fake of the B2 native API)', () => {
  it('initializes a missing bucket with options.createBucket, then checks it over HTTP', async () => {
    const bucket = uniqueBucketName('handlers');
    const credentials = await masterSecret();
    const storage = backupStorage('b2-storage', bucket, 'demo/cluster-a');

    const missing = await initialize({ storage, credentials, options: { endpoint } });
    expect(missing.status.phase).toBe('NotReady');
    expect(condition(missing, 'BackendInitialized').reason).toBe('NotFound');

    const initialized = await initialize({
      storage,
      credentials,
      options: { endpoint, createBucket: true },
    });
    expect(initialized.status.phase, JSON.stringify(initialized.status.conditions)).toBe('Ready');
    expect(condition(initialized, 'BackendInitialized').status).toBe('True');
    expect(initialized.status.conditionalWrites).toBe(false);

    const store = b2Store({ bucket, keyId: fake.accountId, key: fake.masterKey });
    expect(Buffer.from(await store.get('demo/cluster-a/metadata.yaml')).toString()).toContain('b2-storage');

    const response = (await checkHandler(
      httpEvent({ storage, credentials, options: { endpoint } }, '/check'),
      lambdaContext(),
    )) as {
      statusCode: number;
      body: string;
    };
    expect(response.statusCode).toBe(200);
    const checked = JSON.parse(response.body) as OperationResult;
    expect(checked.status.phase, response.body).toBe('Ready');
    expect(condition(checked, 'BackendWritable').message).toMatch(/verified \(checksum\)/);
    expect(condition(checked, 'MetadataValid').status).toBe('True');
    expect(response.body).not.toContain(fake.masterKey);

    // Initialize again over HTTP: accepted, the marker not rewritten, no probe left behind.
    const again = (await initializeHandler(
      httpEvent({ storage, credentials, options: { endpoint } }, '/initialize'),
      lambdaContext(),
    )) as {
      statusCode: number;
      body: string;
    };
    expect((JSON.parse(again.body) as OperationResult).status.phase).toBe('Ready');
    expect(await fake.control.versionsOf(bucket, 'demo/cluster-a/metadata.yaml')).toHaveLength(1);
    expect((await store.list('demo/cluster-a/')).objects.map((o) => o.key)).toEqual([
      'demo/cluster-a/metadata.yaml',
    ]);
  });

  it('initializes and checks a Stash Repository with dir: credentials and a bucket-restricted key', async () => {
    const bucket = uniqueBucketName('stash');
    await fake.control.createBucket(bucket);
    const key = await fake.control.createKey({ bucketName: bucket, namePrefix: 'stash/' });
    const credentials = await secretDir({
      B2_ACCOUNT_ID: key.applicationKeyId,
      B2_ACCOUNT_KEY: key.applicationKey,
      RESTIC_PASSWORD: 'not-so-secret-password',
    });
    const repository = {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'b2-repo', namespace: 'demo' },
      spec: {
        backend: { storageSecretName: 'b2-secret', b2: { bucket, prefix: 'stash/demo', maxConnections: 3 } },
      },
    };
    const initialized = await initialize({
      storage: repository,
      credentials,
      options: { endpoint },
    });
    expect(initialized.status.phase, JSON.stringify(initialized.status.conditions)).toBe('Ready');
    expect(condition(initialized, 'BackendInitialized').status).toBe('True');
    const checked = await check({ storage: repository, credentials, options: { endpoint } });
    expect(checked.status.phase, JSON.stringify(checked.status.conditions)).toBe('Ready');
    expect(condition(checked, 'BackendAuthenticated').status).toBe('True');
    expect((await fake.control.stats(key.applicationKeyId)).unfilteredBucketListings).toBe(0);
  });

  it('reports a key scoped to another bucket as PermissionDenied naming what it allows', async () => {
    const bucket = uniqueBucketName('wrong-key');
    const other = uniqueBucketName('wrong-key-other');
    await fake.control.createBucket(bucket);
    await fake.control.createBucket(other);
    const key = await fake.control.createKey({ bucketName: other, namePrefix: 'theirs/' });
    const credentials = await secretDir({
      B2_ACCOUNT_ID: key.applicationKeyId,
      B2_ACCOUNT_KEY: key.applicationKey,
    });
    const checked = await check({
      storage: backupStorage('b2-wrong', bucket, 'mine'),
      credentials,
      options: { endpoint },
    });
    expect(checked.status.phase).toBe('NotReady');
    const readable = condition(checked, 'BackendReadable');
    expect(readable.status).toBe('False');
    expect(readable.reason).toBe('PermissionDenied');
    expect(readable.hint).toContain(`only bucket "${other}"`);
    expect(readable.hint).toContain('only names starting with "theirs/"');
    expect(condition(checked, 'BackendAuthenticated').status).toBe('True');
    expect(JSON.stringify(checked)).not.toContain(key.applicationKey);
  });

  it('lets exactly one of 20 concurrent initializers write metadata.yaml, and all end Ready', async () => {
    const bucket = uniqueBucketName('race');
    await fake.control.createBucket(bucket);
    const credentials = await masterSecret();
    const storage = backupStorage('b2-race', bucket, 'race');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => initialize({ storage, credentials, options: { endpoint } })),
    );
    for (const result of results) {
      expect(result.status.phase, JSON.stringify(result.status.conditions)).toBe('Ready');
    }
    const written = results.filter((result) =>
      result.status.conditions.some(
        (c) => c.type === 'BackendInitialized' && c.message === 'Successfully initialized backend.',
      ),
    );
    expect(written).toHaveLength(1);
    const versions = await fake.control.versionsOf(bucket, 'race/metadata.yaml');
    expect(versions).toHaveLength(1);
    expect(versions[0]?.action).toBe('upload');
  });
});
