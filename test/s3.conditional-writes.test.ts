/**
 * The S3 adapter on a server that enforces `If-None-Match: *` (AWS S3, MinIO): s3rver behind a proxy
 * that enforces it as they do (test/support/conditional-s3-proxy.ts). The capability probe must find it
 * enforced, and creates then take the one-request conditional path, with no claim objects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_MARKER } from '../lib/backends/exclusive-create.js';
import { isStorageError } from '../lib/backends/errors.js';
import { startConditionalS3Proxy, type ConditionalS3Proxy } from './support/conditional-s3-proxy.js';
import { invokeBoth } from './support/handlers.js';
import { serverInfo } from './support/servers.js';
import { freshBucket, keysOf, openS3, secretDir, type S3Target } from './support/s3-stores.js';

const initialize = invokeBoth((await import('../functions/initialize.js')).handler);

let proxy: ConditionalS3Proxy;
let target: S3Target;

beforeAll(async () => {
  const s3rver = serverInfo('s3rver') as unknown as S3Target;
  proxy = await startConditionalS3Proxy(s3rver.endpoint);
  target = { ...s3rver, endpoint: proxy.url };
});
afterAll(async () => {
  await proxy?.close();
});

const claimWrites = (): string[] =>
  proxy.requests
    .filter((request) => request.method === 'PUT' && request.path.includes(CLAIM_MARKER))
    .filter((request) => !request.path.includes(`${CLAIM_MARKER}-capability-`))
    .map((request) => request.path);

describe('S3 on a server that enforces If-None-Match (s3rver behind an enforcing proxy)', () => {
  it('20 concurrent creators: one winner, found by the capability probe, with no claim objects', async () => {
    const bucket = freshBucket('cond');
    const store = await openS3({ ...target, bucket });
    try {
      await store.createBucket();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) =>
          store.put('race/metadata.yaml', Buffer.from(`creator-${index}`), { ifNotExists: true }),
        ),
      );
      const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(
            isStorageError(result.reason, 'PreconditionFailed') ||
              isStorageError(result.reason, 'AlreadyExists'),
          ).toBe(true);
        }
      }
      expect(store.capabilities.conditionalWrites).toBe(true);
      expect(claimWrites()).toEqual([]);
      expect(Buffer.from(await store.get('race/metadata.yaml')).toString()).toBe(`creator-${winners[0]}`);
    } finally {
      await store.close();
    }
    // close() waited for the probe's removal: only the marker is left.
    const after = await openS3({ ...target, bucket });
    try {
      expect((await after.list('race/')).objects.map((object) => object.key)).toEqual(['race/metadata.yaml']);
    } finally {
      await after.close();
    }
  });

  it('a conditional create over an existing object is refused and keeps its content', async () => {
    const bucket = freshBucket('cond');
    const store = await openS3({ ...target, bucket });
    try {
      await store.createBucket();
      await store.put('kept/config', Buffer.from('original'));
      const error = await store
        .put('kept/config', Buffer.from('intruder'), { ifNotExists: true })
        .catch((caught: unknown) => caught);
      expect(isStorageError(error, 'PreconditionFailed') || isStorageError(error, 'AlreadyExists')).toBe(
        true,
      );
      expect(Buffer.from(await store.get('kept/config')).toString()).toBe('original');
    } finally {
      await store.close();
    }
  });

  it('initialize through the handler writes metadata.yaml with one conditional PUT and reports conditionalWrites', async () => {
    const bucket = freshBucket('cond');
    const setup = await openS3({ ...target, bucket });
    await setup.createBucket();
    await setup.close();
    const storage = {
      apiVersion: 'storage.kubestash.com/v1alpha1',
      kind: 'BackupStorage',
      metadata: { name: 'conditional', namespace: 'demo' },
      spec: {
        storage: {
          provider: 's3',
          s3: { endpoint: target.endpoint, bucket, region: 'us-east-1', prefix: 'cluster', secretName: 's3' },
        },
        deletionPolicy: 'Delete',
      },
    };
    const credentials = await secretDir(keysOf(target));
    const from = proxy.requests.length;

    const first = await initialize.direct({ storage, credentials });
    expect(first.status.phase, JSON.stringify(first.status.conditions)).toBe('Ready');
    expect(first.status.conditionalWrites).toBe(true);
    const markerPuts = proxy.requests
      .slice(from)
      .filter((request) => request.method === 'PUT' && request.path.endsWith('/cluster/metadata.yaml'));
    expect(markerPuts.map((request) => [request.conditional, request.status])).toEqual([[true, 200]]);
    expect(claimWrites()).toEqual([]);

    const second = await initialize.http({ storage, credentials });
    expect(second.status.phase).toBe('Ready');
    const store = await openS3({ ...target, bucket });
    try {
      expect((await store.list('cluster/')).objects.map((object) => object.key)).toEqual([
        'cluster/metadata.yaml',
      ]);
    } finally {
      await store.close();
    }
  });
});
