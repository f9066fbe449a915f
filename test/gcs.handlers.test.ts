/**
 * initialize and check end to end through the Lambda handlers (direct and HTTP events), with
 * options.endpoint pointing at the contract fake of the GCS JSON API and the real SDK in between.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as checkHandler } from '../functions/check.js';
import { handler as initializeHandler } from '../functions/initialize.js';
import { clientSettings } from '../lib/backends/gcs/auth.js';
import { GcsStore } from '../lib/backends/gcs/store.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { fakeGcsControl } from './fakes/gcs.js';
import { condition, invokeBoth } from './support/handlers.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';

const fake = serverInfo('gcs-fake');
const endpoint = fake.endpoint as string;
const control = fakeGcsControl(endpoint);

function backupStorage(bucket: string, prefix: string): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: `gcs-${prefix}`, namespace: 'demo' },
    spec: {
      storage: { provider: 'gcs', gcs: { bucket, prefix, maxConnections: 4, secretName: 'gcs-secret' } },
      usagePolicy: { allowedNamespaces: { from: 'All' } },
      deletionPolicy: 'WipeOut',
    },
  };
}

let credentials: string;
const initialize = invokeBoth(initializeHandler);
const check = invokeBoth(checkHandler);

beforeAll(async () => {
  credentials = await secretDir({ GOOGLE_PROJECT_ID: fake.projectId as string }, 'gcs-secret');
});

describe('GCS initialize and check through the handlers (contract fake of the GCS JSON API)', () => {
  it('initializes a missing bucket with options.createBucket, then checks it over HTTP', async () => {
    const bucket = `bsf-init-${randomUUID().slice(0, 8)}`;
    const storage = backupStorage(bucket, 'demo/cluster-a');
    const initialized = await initialize.direct({
      storage,
      credentials,
      options: { endpoint, createBucket: true },
    });
    expect(initialized.status.phase, JSON.stringify(initialized.status.conditions)).toBe('Ready');
    expect(condition(initialized, 'BackendInitialized')?.status).toBe('True');
    expect(initialized.status.conditionalWrites).toBe(true);

    const store = new GcsStore(bucket, clientSettings(new SecretBag([], 'test'), endpoint));
    const metadata = await store.stat('demo/cluster-a/metadata.yaml');
    expect(Buffer.from(await store.get('demo/cluster-a/metadata.yaml')).toString()).toMatch(
      /BackupStorage|gcs-demo/,
    );

    const checked = await check.http({ storage, credentials, options: { endpoint } });
    expect(checked.status.phase, JSON.stringify(checked.status.conditions)).toBe('Ready');
    expect(condition(checked, 'BackendWritable')?.message).toMatch(/checksum/);
    expect(condition(checked, 'MetadataValid')?.status).toBe('True');

    // Initialize again: accepted, and the marker is not rewritten.
    const again = await initialize.direct({ storage, credentials, options: { endpoint } });
    expect(again.status.phase).toBe('Ready');
    expect((await store.stat('demo/cluster-a/metadata.yaml')).etag).toBe(metadata.etag);
    // No probe object is left behind.
    const left = await store.list('demo/cluster-a/');
    expect(left.objects.map((o) => o.key)).toEqual(['demo/cluster-a/metadata.yaml']);
  });

  it('reports a missing bucket without createBucket as NotFound, creating nothing', async () => {
    const bucket = `bsf-absent-${randomUUID().slice(0, 8)}`;
    const result = await initialize.direct({
      storage: backupStorage(bucket, 'x'),
      credentials,
      options: { endpoint },
    });
    expect(result.status.phase).toBe('NotReady');
    expect(condition(result, 'BackendInitialized')).toMatchObject({ status: 'False', reason: 'NotFound' });
    const store = new GcsStore(bucket, clientSettings(new SecretBag([], 'test'), endpoint));
    expect(await store.bucketExists()).toBe(false);
  });

  it('checks a Stash Repository from the sample event', async () => {
    const sample = JSON.parse(await readFile('events/gcs/check-stash-repository.json', 'utf8')) as {
      storage: { spec: { backend: { gcs: { bucket: string } } } };
      options: object;
    };
    const bucket = `bsf-stash-${randomUUID().slice(0, 8)}`;
    await control.createBucket(bucket, fake.projectId);
    sample.storage.spec.backend.gcs.bucket = bucket;
    const result = await check.direct({
      ...sample,
      credentials,
      options: { ...sample.options, endpoint },
    });
    // The storage-level conditions; the restic repository's own (RESTIC_PASSWORD, …) belong to the restic suites.
    for (const type of [
      'BackendSecretFound',
      'BackendReachable',
      'BackendAuthenticated',
      'BackendReadable',
      'BackendWritable',
    ]) {
      expect(condition(result, type)?.status, `${type}: ${JSON.stringify(result.status.conditions)}`).toBe(
        'True',
      );
    }
    expect(condition(result, 'BackendWritable')?.message).toMatch(/checksum/);
  });

  it('turns injected 401, 403 and 503 into conditions', async () => {
    const cases: [number, string, string][] = [
      [401, 'BackendAuthenticated', 'Unauthenticated'],
      [403, 'BackendReadable', 'PermissionDenied'],
      [503, 'BackendReadable', 'Unavailable'],
    ];
    for (const [status, type, reason] of cases) {
      const bucket = `bsf-h${status}-${randomUUID().slice(0, 8)}`;
      await control.createBucket(bucket, fake.projectId);
      await control.setFault(bucket, { status });
      const result = await check.direct({
        storage: backupStorage(bucket, 'p'),
        credentials,
        options: { endpoint },
      });
      expect(result.status.phase).toBe('NotReady');
      expect(condition(result, type), `${status}: ${JSON.stringify(result.status.conditions)}`).toMatchObject(
        { status: 'False', reason },
      );
    }
  });

  it('reports a malformed service-account key as InvalidConfig, without the key or a stack trace', async () => {
    const key = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nSECRETMATERIAL';
    const badKey = await secretDir({ GOOGLE_SERVICE_ACCOUNT_JSON_KEY: key }, 'gcs-badkey');
    const result = await check.direct({
      storage: backupStorage(fake.bucket as string, 'p'),
      credentials: badKey,
      options: { endpoint },
    });
    expect(result.status.phase).toBe('NotReady');
    const reachable = condition(result, 'BackendReachable');
    expect(reachable).toMatchObject({ status: 'False', reason: 'InvalidConfig' });
    expect(reachable?.message).toMatch(/GOOGLE_SERVICE_ACCOUNT_JSON_KEY is not JSON/);
    const text = JSON.stringify(result);
    expect(text).not.toContain('SECRETMATERIAL');
    expect(text).not.toMatch(/\bat .*\.(?:ts|js):\d+/);
  });
});
