/**
 * The REST adapter (lib/backends/rest/) against the contract fake: the conformance suite for what the
 * protocol can express, then what is particular to it — restic-only keys, type listings (v2 and v1,
 * folded and paged), config created exclusively, no overwrites, error mapping, the endpoint guard.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStorageError, type StorageError } from '../lib/backends/errors.js';
import { listAll, type ObjectStore } from '../lib/backends/object-store.js';
import { createStore } from '../lib/backends/rest/index.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { describeObjectStore } from './support/conformance.js';
import { serverInfo } from './support/servers.js';

const info = () => serverInfo('rest-fake');
const credentials = (extra: Record<string, string> = {}) =>
  new SecretBag(
    Object.entries({
      REST_SERVER_USERNAME: info().username as string,
      REST_SERVER_PASSWORD: info().password as string,
      ...extra,
    }),
    'test',
  );
/** A store on a fresh repository path of one listener. */
async function restStore(
  options: { endpoint?: string; path?: string; secret?: SecretBag; create?: boolean } = {},
): Promise<ObjectStore> {
  const path = options.path ?? `/store/${randomUUID().slice(0, 8)}`;
  const store = await createStore(
    { provider: 'rest', url: `${options.endpoint ?? (info().endpoint as string)}${path}` },
    { credentials: options.secret ?? credentials() },
  );
  if (options.create ?? true) await store.createBucket();
  return store;
}
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** A restic-shaped key for a body on a verifying server: the name is the content's hash. */
const keyFor = (type: string, body: Uint8Array) =>
  type === 'data' ? `data/${sha(body).slice(0, 2)}/${sha(body)}` : `${type}/${sha(body)}`;

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isStorageError(error)) throw new Error(`expected a StorageError, got ${String(error)}`);
  return error;
}

describeObjectStore(
  'rest (contract fake of restic’s REST protocol, uploads not verified; keys are lock files named by the case)',
  {
    store: () => restStore({ endpoint: info().unverifiedEndpoint }),
    missingBucketStore: () => restStore({ endpoint: info().unverifiedEndpoint, create: false }),
    key: (run, name) => `locks/${createHash('sha256').update(`${run}/${name}`).digest('hex')}`,
    notApplicable: {
      overwrite: 'a REST server never overwrites a file (rest-server answers 403; restic never rewrites one)',
      exclusiveRace:
        'rest-server creates only config exclusively (O_EXCL); other files are named by their content, so concurrent writers of a name write the same bytes (the config race is tested below)',
      siblings: 'the protocol lists whole restic type directories, not arbitrary prefixes',
      listing:
        'the protocol lists whole restic type directories, not arbitrary prefixes (type listings are tested below)',
      pagination: 'the protocol has no pages; the adapter pages a type listing itself (tested below)',
      pageLimit:
        'the protocol lists whole restic type directories, not a prefix of the case’s own keys (limited pages of a type listing are tested below)',
      pageLimitFolded:
        'the protocol lists whole restic type directories, not a prefix of the case’s own keys (folded, paged type listings are tested below)',
      nestedDelimiter:
        'restic’s layout is one level of type directories (data/ one more), folded listings are tested below',
      weirdKeys: 'every key is a restic file name: a type directory and a hex id',
    },
  },
);

describe('the REST adapter', () => {
  it('says it holds only restic files, and refuses keys and prefixes restic would not store', async () => {
    const store = await restStore();
    expect(store.capabilities).toMatchObject({ resticOnly: true, conditionalWrites: false });
    for (const key of [
      'metadata.yaml',
      'keys/not-an-id',
      `data/00/${'ab'.repeat(32)}`,
      `other/${'ab'.repeat(32)}`,
    ]) {
      const refused = await failure(store.put(key, Buffer.from('x')));
      expect(refused).toMatchObject({ code: 'Unimplemented', provider: 'rest', operation: 'put', key });
      expect(refused.hint).toContain('object store');
    }
    expect(await failure(store.get('metadata.yaml'))).toMatchObject({ code: 'Unimplemented' });
    expect(await failure(store.list('repository/'))).toMatchObject({
      code: 'Unimplemented',
      operation: 'list',
    });
  });

  it('maps data/<xx>/<id> to data/<id>, lists types folded under a delimiter and pages them', async () => {
    const store = await restStore();
    const packs = Array.from({ length: 30 }, () => randomBytes(64));
    const snapshots = Array.from({ length: 3 }, () => randomBytes(32));
    const config = randomBytes(40);
    await store.put('config', config);
    await Promise.all([
      ...packs.map((body) => store.put(keyFor('data', body), body)),
      ...snapshots.map((body) => store.put(keyFor('snapshots', body), body)),
    ]);
    const packKeys = packs.map((body) => keyFor('data', body)).sort();
    const snapshotKeys = snapshots.map((body) => keyFor('snapshots', body)).sort();

    const all: string[] = [];
    for await (const object of listAll(store, '', { limit: 7 })) all.push(object.key);
    expect(all).toEqual(['config', ...packKeys, ...snapshotKeys]);

    const root = await store.list('', { delimiter: '/' });
    expect(root.objects).toEqual([{ key: 'config', size: config.length }]);
    expect(root.prefixes).toEqual(['data/', 'snapshots/']);
    const shards = await store.list('data/', { delimiter: '/' });
    expect(shards.prefixes).toEqual([...new Set(packKeys.map((key) => key.slice(0, 8)))]);
    const shard = packKeys[0]?.slice(0, 8) as string;
    const inShard = await store.list(shard);
    expect(inShard.objects.map((object) => object.key)).toEqual(
      packKeys.filter((key) => key.startsWith(shard)),
    );
    expect(inShard.objects.every((object) => object.size === 64)).toBe(true);
    expect((await store.stat(packKeys[0] as string)).size).toBe(64);
  });

  it('reads sizes with a HEAD each from a server that lists only v1 names', async () => {
    const path = `/store/${randomUUID().slice(0, 8)}`;
    const writer = await restStore({ path });
    const bodies = [randomBytes(10), randomBytes(20)];
    await Promise.all(bodies.map((body) => writer.put(keyFor('index', body), body)));
    const v1 = await restStore({ endpoint: info().v1Endpoint, path, create: false });
    const listed = await v1.list('index/');
    expect(listed.objects.map(({ key, size }) => ({ key, size })).sort((a, b) => a.size - b.size)).toEqual(
      bodies.map((body) => ({ key: keyFor('index', body), size: body.length })),
    );
    expect((await v1.list('keys/')).objects).toEqual([]);
  });

  it('creates config exclusively: one of 20 concurrent creators wins, the others get AlreadyExists', async () => {
    const store = await restStore();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) =>
        store.put('config', Buffer.from(`config-${index}`), { ifNotExists: true }),
      ),
    );
    const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
    expect(winners).toHaveLength(1);
    for (const result of results)
      if (result.status === 'rejected') expect((result.reason as StorageError).code).toBe('AlreadyExists');
    expect(Buffer.from(await store.get('config')).toString()).toBe(`config-${winners[0]}`);
  });

  it('never overwrites: the same bytes again succeed, other bytes are AlreadyExists', async () => {
    const store = await restStore();
    const body = randomBytes(50);
    await store.put(keyFor('keys', body), body);
    await expect(store.put(keyFor('keys', body), body)).resolves.toEqual({});
    await store.put('config', Buffer.from('first'));
    expect(await failure(store.put('config', Buffer.from('second')))).toMatchObject({
      code: 'AlreadyExists',
    });
    expect(Buffer.from(await store.get('config')).toString()).toBe('first');
    // A verifying server refuses a file whose name is not its content's hash.
    const mismatched = await failure(store.put(`keys/${'0'.repeat(64)}`, body));
    expect(mismatched).toMatchObject({ code: 'InvalidConfig', operation: 'put' });
  });

  it('tells a missing repository from a missing file, and reports refused deletes', async () => {
    const missing = await restStore({ create: false });
    expect(await missing.bucketExists()).toBe(false);
    expect(await failure(missing.get('config'))).toMatchObject({ code: 'NotFound', subject: 'bucket' });
    expect(await failure(missing.list('keys/'))).toMatchObject({ code: 'NotFound', subject: 'bucket' });
    await missing.createBucket();
    expect(await failure(missing.get('config'))).toMatchObject({ code: 'NotFound', subject: 'object' });

    const path = `/store/${randomUUID().slice(0, 8)}`;
    const writer = await restStore({ path });
    const body = randomBytes(16);
    await writer.put(keyFor('snapshots', body), body);
    const appendOnly = await restStore({ endpoint: info().appendOnlyEndpoint, path, create: false });
    const refused = await failure(appendOnly.delete(keyFor('snapshots', body)));
    expect(refused).toMatchObject({ code: 'PermissionDenied', operation: 'delete' });
    expect(refused.message).toContain('append-only');
  });

  it('maps wrong credentials to Unauthenticated and shows the URL without them', async () => {
    const wrong = await restStore({
      create: false,
      secret: credentials({ REST_SERVER_PASSWORD: 'wrong password' }),
    });
    expect(await failure(wrong.bucketExists())).toMatchObject({ code: 'Unauthenticated' });
    const fromUrl = await createStore(
      {
        provider: 'rest',
        url: `${(info().endpoint as string).replace('://', `://${info().username}:${encodeURIComponent(info().password as string)}@`)}/store/x`,
      },
      { credentials: SecretBag.empty() },
    );
    expect(fromUrl.location).toBe(`${info().endpoint}/store/x`);
    expect(await fromUrl.bucketExists()).toBe(false);
  });

  it('passes every connection through the endpoint guard', async () => {
    const previous = process.env.ALLOW_PRIVATE_ENDPOINTS;
    delete process.env.ALLOW_PRIVATE_ENDPOINTS;
    try {
      // `localhost`, not the 127.0.0.1 the other tests keep alive connections to: a fresh connection.
      const store = await restStore({
        create: false,
        endpoint: (info().endpoint as string).replace('127.0.0.1', 'localhost'),
      });
      const refused = await failure(store.bucketExists());
      expect(refused).toMatchObject({ code: 'InvalidConfig' });
      expect(refused.message).toContain('not allowed');
    } finally {
      process.env.ALLOW_PRIVATE_ENDPOINTS = previous;
    }
  });
});
