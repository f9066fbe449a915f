/**
 * initialize and check end to end through the Lambda handlers (direct and HTTP events) on s3rver and on
 * Swift's s3api, in KubeStash and Stash forms, with credentials read from a `dir:` reference as a
 * mounted Secret would be.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { condition, invokeBoth } from './support/handlers.js';
import { serverInfo } from './support/servers.js';
import { freshBucket, keysOf, openS3, s3apiTarget, secretDir, type S3Target } from './support/s3-stores.js';

const initialize = invokeBoth((await import('../functions/initialize.js')).handler);
const check = invokeBoth((await import('../functions/check.js')).handler);

function backupStorage(target: S3Target, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: `s3-${target.bucket}`, namespace: 'demo' },
    spec: {
      storage: {
        provider: 's3',
        s3: {
          endpoint: target.endpoint,
          bucket: target.bucket,
          region: 'us-east-1',
          prefix: 'demo/cluster-a',
          secretName: 's3-secret',
          ...extra,
        },
      },
      deletionPolicy: 'WipeOut',
    },
  };
}

function stashRepository(target: S3Target): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: `stash-${target.bucket}`, namespace: 'demo' },
    spec: {
      backend: {
        s3: { endpoint: target.endpoint, bucket: target.bucket, prefix: '/stash/demo' },
        storageSecretName: 's3-secret',
      },
    },
  };
}

const targets: [string, (bucket: string) => S3Target][] = [
  ['s3rver', (bucket) => ({ ...(serverInfo('s3rver') as unknown as S3Target), bucket })],
  ['s3api', (bucket) => s3apiTarget(serverInfo('swift'), bucket)],
];

describe.each(targets)('S3 through the handlers on %s', (name, targetFor) => {
  it('KubeStash: initialize creates the bucket and metadata.yaml (direct), check is Ready (HTTP)', async () => {
    const target = targetFor(freshBucket(`ks-${name}`));
    const credentials = await secretDir(keysOf(target));
    const storage = backupStorage(target);

    const first = await initialize.direct({ storage, credentials, options: { createBucket: true } });
    expect(first.status.phase, JSON.stringify(first.status.conditions)).toBe('Ready');
    expect(condition(first, 'BackendInitialized').reason).toBe('BackendInitializationSucceeded');
    expect(first.status.conditionalWrites).toBe(false);
    expect(first.storage).toMatchObject({ provider: 's3', bucket: target.bucket, prefix: 'demo/cluster-a' });

    const store = await openS3(target);
    try {
      const metadata = Buffer.from(await store.get('demo/cluster-a/metadata.yaml')).toString();
      expect(metadata).toContain('s3');
      // Nothing but the marker is left behind: no probe, no claim object.
      expect((await store.list('demo/cluster-a/')).objects.map((o) => o.key)).toEqual([
        'demo/cluster-a/metadata.yaml',
      ]);
    } finally {
      await store.close();
    }

    const again = await initialize.http({ storage, credentials });
    expect(again.status.phase).toBe('Ready');
    expect(condition(again, 'BackendInitialized').message).toContain('already initialized');

    const checked = await check.http({ storage, credentials });
    expect(checked.status.phase, JSON.stringify(checked.status.conditions)).toBe('Ready');
    expect(condition(checked, 'BackendWritable').message).toContain('checksum');
    expect(condition(checked, 'MetadataValid').status).toBe('True');
  });

  it('KubeStash: five concurrent initializes write one metadata.yaml and all report Ready', async () => {
    const target = targetFor(freshBucket(`race-${name}`));
    const credentials = await secretDir(keysOf(target));
    const storage = backupStorage(target);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        (index % 2 === 0 ? initialize.direct : initialize.http)({
          storage,
          credentials,
          options: { createBucket: true },
        }),
      ),
    );
    for (const result of results)
      expect(result.status.phase, JSON.stringify(result.status.conditions)).toBe('Ready');
    const store = await openS3(target);
    try {
      expect((await store.list('demo/cluster-a/')).objects.map((o) => o.key)).toEqual([
        'demo/cluster-a/metadata.yaml',
      ]);
    } finally {
      await store.close();
    }
  });

  it('Stash: initialize (HTTP) and check (direct) a Repository', async () => {
    const target = targetFor(freshBucket(`stash-${name}`));
    // A Stash backend's marker is its restic repository, which needs the repository password.
    const credentials = await secretDir({ ...keysOf(target), RESTIC_PASSWORD: 'stash-demo-password' });
    const storage = stashRepository(target);
    const initialized = await initialize.http({ storage, credentials, options: { createBucket: true } });
    expect(initialized.status.phase, JSON.stringify(initialized.status.conditions)).toBe('Ready');
    expect(initialized.storage).toMatchObject({
      flavor: 'stash',
      bucket: target.bucket,
      prefix: 'stash/demo',
    });
    const checked = await check.direct({ storage, credentials });
    expect(condition(checked, 'BackendWritable').status).toBe('True');
    expect(condition(checked, 'BackendReadable').status).toBe('True');
  });

  it('a missing bucket without options.createBucket: BackendInitialized False, NotFound, with a hint', async () => {
    const target = targetFor(freshBucket(`absent-${name}`));
    const result = await initialize.direct({
      storage: backupStorage(target),
      credentials: await secretDir(keysOf(target)),
    });
    expect(result.status.phase).toBe('NotReady');
    const initialized = condition(result, 'BackendInitialized');
    expect([initialized.status, initialized.reason]).toEqual(['False', 'NotFound']);
    expect(initialized.hint).toContain('createBucket');
    expect(condition(result, 'BackendReachable').status).toBe('True');
  });

  it('a wrong key: check reports BackendAuthenticated False (Unauthenticated), and never the secret', async () => {
    const target = targetFor(freshBucket(`wrongkey-${name}`));
    const secret = 'definitely-wrong-secret';
    const result = await check.http({
      storage: backupStorage(target),
      credentials: await secretDir({ AWS_ACCESS_KEY_ID: 'NOSUCHKEY', AWS_SECRET_ACCESS_KEY: secret }),
    });
    expect(result.status.phase).toBe('NotReady');
    expect(condition(result, 'BackendAuthenticated')).toMatchObject({
      status: 'False',
      reason: 'Unauthenticated',
    });
    expect(JSON.stringify(result)).not.toContain(secret);
  });
});

describe('S3 through the handlers over TLS (s3rver)', () => {
  const s3rver = serverInfo('s3rver') as unknown as S3Target;
  const tlsTarget: S3Target = { ...s3rver, endpoint: s3rver.tlsEndpoint as string, bucket: s3rver.bucket };

  it('CA_CERT_DATA in the secret makes check Ready', async () => {
    const caPem = await readFile(s3rver.caPath as string, 'utf8');
    const credentials = await secretDir({ ...keysOf(tlsTarget), CA_CERT_DATA: caPem });
    const storage = backupStorage(tlsTarget, { prefix: `tls-${Date.now()}` });
    const initialized = await initialize.direct({ storage, credentials });
    expect(initialized.status.phase, JSON.stringify(initialized.status.conditions)).toBe('Ready');
    const checked = await check.http({ storage, credentials });
    expect(checked.status.phase).toBe('Ready');
  });

  it('without the CA: BackendReachable False (TlsError) with the hint; with insecureTLS: Ready', async () => {
    const credentials = await secretDir(keysOf(tlsTarget));
    const prefix = `tls-insecure-${Date.now()}`;
    const refused = await check.direct({ storage: backupStorage(tlsTarget, { prefix }), credentials });
    const reachable = condition(refused, 'BackendReachable');
    expect([reachable.status, reachable.reason]).toEqual(['False', 'TlsError']);
    expect(reachable.hint).toContain('CA_CERT_DATA');
    const storage = backupStorage(tlsTarget, { prefix, insecureTLS: true });
    expect((await initialize.direct({ storage, credentials })).status.phase).toBe('Ready');
    expect((await check.http({ storage, credentials })).status.phase).toBe('Ready');
  });

  it('a closed port: BackendReachable False (Unreachable)', async () => {
    const { freePort } = await import('./support/process.js');
    const closed: S3Target = { ...s3rver, endpoint: `http://127.0.0.1:${await freePort()}` };
    const result = await check.direct({
      storage: backupStorage(closed),
      credentials: await secretDir(keysOf(closed)),
    });
    expect(condition(result, 'BackendReachable')).toMatchObject({ status: 'False', reason: 'Unreachable' });
  });
});
