/**
 * S3 adapter behaviour beyond the conformance suite: endpoint forms, maxConnections as a real socket
 * bound (counted by a TCP relay in front of s3rver), connections reused across stores (as a warm
 * function does), claim objects kept out of listings, and the
 * exclusive-create scheme's handling of claims left behind.
 */
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError } from '../lib/backends/errors.js';
import {
  CLAIM_MARKER,
  claimPrefix,
  createExclusively,
  STALE_CLAIM_MS,
  type ClaimEntry,
  type ExclusiveCreateIo,
} from '../lib/backends/exclusive-create.js';
import { resolveS3Endpoint } from '../lib/backends/s3/endpoint.js';
import { serverInfo } from './support/servers.js';
import { openS3, type S3Target } from './support/s3-stores.js';

const s3rver = serverInfo('s3rver') as unknown as S3Target;

describe('S3 endpoint forms', () => {
  it.each([
    [undefined, { aws: true, forcePathStyle: false }],
    ['s3.amazonaws.com', { aws: true, forcePathStyle: false, hostRegion: undefined }],
    ['https://s3.us-east-1.amazonaws.com', { aws: true, hostRegion: 'us-east-1' }],
    ['s3-eu-west-1.amazonaws.com', { aws: true, hostRegion: 'eu-west-1' }],
    [
      'https://s3.dualstack.ap-south-1.amazonaws.com/',
      { aws: true, hostRegion: 'ap-south-1', useDualstackEndpoint: true },
    ],
    [
      's3-fips.us-gov-west-1.amazonaws.com',
      { aws: true, hostRegion: 'us-gov-west-1', useFipsEndpoint: true },
    ],
    [
      'nyc3.digitaloceanspaces.com',
      { aws: false, forcePathStyle: true, url: 'https://nyc3.digitaloceanspaces.com' },
    ],
    ['http://minio.local:9000', { aws: false, forcePathStyle: true, url: 'http://minio.local:9000' }],
    ['https://gateway.storjshare.io/', { aws: false, url: 'https://gateway.storjshare.io' }],
    ['https://bucket.vpce-0a1b.s3.eu-west-1.vpce.amazonaws.com', { aws: false, hostRegion: 'eu-west-1' }],
  ])('%s', (endpoint, expected) => {
    expect(resolveS3Endpoint(endpoint)).toMatchObject(expected);
  });

  it('options.endpoint overrides the backend’s endpoint', () => {
    expect(resolveS3Endpoint('s3.amazonaws.com', 'http://127.0.0.1:9000')).toMatchObject({
      aws: false,
      url: 'http://127.0.0.1:9000',
    });
  });

  it.each([['ftp://host'], ['https://user:pass@host'], ['https://host/?x=1'], ['http://[::1']])(
    'refuses %s as InvalidConfig without echoing credentials',
    (endpoint) => {
      let caught: unknown;
      try {
        resolveS3Endpoint(endpoint);
      } catch (error) {
        caught = error;
      }
      expect(isStorageError(caught, 'InvalidConfig')).toBe(true);
      expect(String((caught as Error).message)).not.toContain('pass');
    },
  );
});

/** A TCP relay that counts how many connections are open at once; it holds each request back a moment. */
async function countingRelay(
  target: URL,
): Promise<{ url: string; peak: () => number; total: () => number; close: () => Promise<void> }> {
  let open = 0;
  let peak = 0;
  let total = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    total++;
    open++;
    peak = Math.max(peak, open);
    const upstream = createConnection(Number(target.port), target.hostname);
    client.once('data', (first) => {
      // Keeps requests in flight long enough to overlap, so the bound (not luck) limits the sockets.
      setTimeout(() => {
        upstream.write(first);
        client.pipe(upstream);
      }, 100);
    });
    upstream.pipe(client);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', () => {
      open--;
      done();
    });
    upstream.once('close', done);
    client.on('error', done);
    upstream.on('error', done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    peak: () => peak,
    total: () => total,
    // Stores leave their pooled keep-alive sockets open: end them, or the server never closes.
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('S3 maxConnections on s3rver', () => {
  it.each([
    [2, (peak: number) => expect(peak).toBe(2)],
    [8, (peak: number) => expect(peak).toBeGreaterThan(2)],
  ])('maxConnections %i bounds the sockets of 12 concurrent puts', async (maxConnections, judge) => {
    const relay = await countingRelay(new URL(s3rver.endpoint));
    const store = await openS3({ ...s3rver, endpoint: relay.url }, { maxConnections });
    try {
      const run = randomUUID().slice(0, 8);
      await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          store.put(`max-connections/${run}/${index}`, Buffer.from('x')),
        ),
      );
      const listed = await store.list(`max-connections/${run}/`);
      expect(listed.objects).toHaveLength(12);
      judge(relay.peak());
    } finally {
      await store.close();
      await relay.close();
    }
  });
});

describe('S3 connections across stores on s3rver', () => {
  it('a store opened after another one closed reuses its keep-alive socket', async () => {
    const relay = await countingRelay(new URL(s3rver.endpoint));
    try {
      const run = randomUUID().slice(0, 8);
      for (const index of [0, 1, 2]) {
        const store = await openS3({ ...s3rver, endpoint: relay.url });
        try {
          await store.put(`reuse/${run}/${index}`, Buffer.from('x'));
          expect((await store.list(`reuse/${run}/`)).objects).toHaveLength(index + 1);
        } finally {
          await store.close();
        }
      }
      expect(relay.total()).toBe(1);
    } finally {
      await relay.close();
    }
  });
});

describe('S3 claim objects', () => {
  let raw: S3Client;
  beforeAll(() => {
    raw = new S3Client({
      region: 'us-east-1',
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3rver.accessKeyId, secretAccessKey: s3rver.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(() => raw.destroy());

  it('never appear in listings, and their names cannot be written through the store', async () => {
    const run = `claims-${randomUUID().slice(0, 8)}`;
    const claim = `${claimPrefix(`${run}/metadata.yaml`)}${randomUUID()}`;
    const inFolder = `${run}/${CLAIM_MARKER}s-metadata.yaml/${randomUUID()}`;
    for (const Key of [claim, inFolder])
      await raw.send(new PutObjectCommand({ Bucket: s3rver.bucket, Key, Body: '' }));
    const store = await openS3(s3rver);
    try {
      await store.put(`${run}/visible`, Buffer.from('v'));
      expect((await store.list(`${run}/`)).objects.map((o) => o.key)).toEqual([`${run}/visible`]);
      const folded = await store.list(`${run}/`, { delimiter: '/' });
      expect(folded.objects.map((o) => o.key)).toEqual([`${run}/visible`]);
      expect(folded.prefixes).toEqual([]);
      let refused: unknown;
      await store.put(claim, Buffer.from('x')).catch((error: unknown) => (refused = error));
      expect(isStorageError(refused, 'InvalidConfig')).toBe(true);
    } finally {
      await store.close();
    }
  });
});

/** The scheme over an in-memory strongly consistent store, to place claims with chosen timestamps. */
function memoryIo(
  objects: Map<string, { body: Uint8Array; lastModified: Date }>,
  signal?: AbortSignal,
): ExclusiveCreateIo & { writes: string[] } {
  const writes: string[] = [];
  return {
    provider: 'memory',
    signal,
    writes,
    write: async (key, body) => {
      writes.push(key);
      objects.set(key, { body, lastModified: new Date() });
      return {};
    },
    listAll: async (prefix, delimiter): Promise<ClaimEntry[]> =>
      [...objects.entries()]
        .filter(([key]) => key.startsWith(prefix))
        .filter(([key]) => delimiter === undefined || !key.slice(prefix.length).includes(delimiter))
        .map(([key, value]) => ({ key, lastModified: value.lastModified })),
    remove: async (key) => void objects.delete(key),
    removeAfterDeadline: async (key) => void objects.delete(key),
  };
}

describe('exclusive create with claims left behind', () => {
  it('ignores a claim older than the stale limit (a creator that died) and creates the object', async () => {
    const objects = new Map([
      [
        `${claimPrefix('dir/marker')}0000`,
        { body: new Uint8Array(0), lastModified: new Date(Date.now() - STALE_CLAIM_MS - 60_000) },
      ],
    ]);
    const io = memoryIo(objects);
    await createExclusively(io, 'dir/marker', Buffer.from('mine'));
    expect(Buffer.from(objects.get('dir/marker')?.body ?? []).toString()).toBe('mine');
    expect([...objects.keys()].filter((key) => key.includes(CLAIM_MARKER) && !key.endsWith('-0000'))).toEqual(
      [],
    );
  });

  it('never writes past a live claim it can see: it backs off, waits until its deadline and leaves no claim of its own', async () => {
    const objects = new Map([
      [`${claimPrefix('dir/marker')}0000`, { body: new Uint8Array(0), lastModified: new Date() }],
    ]);
    const io = memoryIo(objects, AbortSignal.timeout(300));
    let error: unknown;
    await createExclusively(io, 'dir/marker', Buffer.from('mine')).catch(
      (caught: unknown) => (error = caught),
    );
    expect(isStorageError(error, 'Timeout')).toBe(true);
    // Its one optimistic first claim, withdrawn on seeing the other; never the object itself.
    expect(io.writes).toHaveLength(1);
    expect(io.writes[0]?.startsWith(claimPrefix('dir/marker'))).toBe(true);
    expect([...objects.keys()]).toEqual([`${claimPrefix('dir/marker')}0000`]);
  });

  it('stops at once when the object appears while it waits', async () => {
    const objects = new Map([
      [`${claimPrefix('dir/marker')}0000`, { body: new Uint8Array(0), lastModified: new Date() }],
    ]);
    const io = memoryIo(objects);
    setTimeout(() => {
      objects.set('dir/marker', { body: Buffer.from('theirs'), lastModified: new Date() });
      objects.delete(`${claimPrefix('dir/marker')}0000`);
    }, 50);
    let error: unknown;
    await createExclusively(io, 'dir/marker', Buffer.from('mine')).catch(
      (caught: unknown) => (error = caught),
    );
    expect(isStorageError(error, 'AlreadyExists')).toBe(true);
    expect(Buffer.from(objects.get('dir/marker')?.body ?? []).toString()).toBe('theirs');
  });
});
