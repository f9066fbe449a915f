/**
 * What a warm B2 function does not repeat (bench/RESULTS.md, issue #12): the token, the bucket id and
 * upload URLs are kept across stores (one store per invocation), the write probe is verified by the
 * SHA-1 B2 answers with, and a name the store uploaded is deleted by file id. Requests are counted by the
 * contract fake per application key, so every test uses a key of its own.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../lib/backends/object-store.js';
import { isStorageError } from '../lib/backends/errors.js';
import { writeProbe } from '../lib/operations/probes.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { b2Fake, b2Store, uniqueBucketName } from './support/b2.js';

const fake = b2Fake();
let bucket: string;

beforeAll(async () => {
  bucket = uniqueBucketName('roundtrips');
  await fake.control.createBucket(bucket);
});

/** An unrestricted key (its bucket id needs a lookup), and a way to open one store per "invocation". */
async function unrestrictedKey(): Promise<{ keyId: string; open: (maxConnections?: number) => ObjectStore }> {
  const key = await fake.control.createKey();
  return {
    keyId: key.applicationKeyId,
    open: (maxConnections) =>
      b2Store({ bucket, keyId: key.applicationKeyId, key: key.applicationKey, maxConnections }),
  };
}

async function calls(keyId: string): Promise<Record<string, number>> {
  return (await fake.control.stats(keyId)).calls;
}

describe('B2 round trips kept warm across invocations (contract fake of the B2 native API)', () => {
  it('authorizes, looks the bucket up and gets an upload URL once for three check-like invocations', async () => {
    const { keyId, open } = await unrestrictedKey();
    for (let invocation = 0; invocation < 3; invocation++) {
      const store = open();
      const key = `warm/probe-${invocation}`;
      await store.list('warm/', { limit: 1 });
      await store.put(key, Buffer.from(`probe ${invocation}`));
      await store.delete(key);
      await store.close();
    }
    expect(await calls(keyId)).toEqual({
      b2_authorize_account: 1,
      b2_list_buckets: 1,
      b2_get_upload_url: 1,
      b2_list_file_names: 3,
      b2_upload_file: 3,
      b2_delete_file_version: 3,
    });
    expect(await fake.control.versionsOf(bucket, 'warm/probe-2')).toEqual([]);
  });

  it('verifies the write probe by the SHA-1 B2 answers with, without downloading it', async () => {
    const { keyId, open } = await unrestrictedKey();
    const store = open();
    expect(store.capabilities.putReturnsChecksum).toBe(true);
    const body = Buffer.from('checksummed');
    const result = await store.put('sha1/object', body);
    expect(result.contentSha1).toBe(createHash('sha1').update(body).digest('hex'));
    const probe = await writeProbe(store, 'sha1', Deadline.in(10_000), Deadline.in(10_000));
    expect(probe).toMatchObject({ ok: true, value: { verifiedBy: 'checksum' } });
    expect((await calls(keyId)).b2_download_file_by_name ?? 0).toBe(0);
    await store.delete('sha1/object');
  });

  it('gives concurrent uploads distinct upload URLs and reuses every one of them afterwards', async () => {
    const { keyId, open } = await unrestrictedKey();
    const first = open(8);
    await first.list('');
    // Slow answers keep all six uploads in flight together.
    await fake.control.setLatency(keyId, 30);
    const six = (round: number): Promise<unknown> =>
      Promise.all(Array.from({ length: 6 }, (_, i) => first.put(`pool/${round}-${i}`, Buffer.from('x'))));
    await six(0);
    expect((await calls(keyId)).b2_get_upload_url).toBe(6);
    await first.close();
    const second = open(8);
    await Promise.all(Array.from({ length: 6 }, (_, i) => second.put(`pool/1-${i}`, Buffer.from('y'))));
    const after = await calls(keyId);
    expect(after.b2_get_upload_url).toBe(6);
    expect(after.b2_upload_file).toBe(12);
  });

  it('replaces a pooled upload URL B2 refuses, once, and keeps the new one', async () => {
    const { keyId, open } = await unrestrictedKey();
    const store = open();
    await store.put('refused/a', Buffer.from('a'));
    await fake.control.inject({ keyId, operation: 'b2_upload_file', status: 401, code: 'bad_auth_token' });
    await store.put('refused/b', Buffer.from('b'));
    await store.put('refused/c', Buffer.from('c'));
    const counted = await calls(keyId);
    expect(counted.b2_get_upload_url).toBe(2);
    expect(counted.b2_upload_file).toBe(4);
    expect(Buffer.from(await store.get('refused/b')).toString()).toBe('b');
  });

  it('looks the bucket up again after B2 no longer knows the cached id', async () => {
    const { keyId, open } = await unrestrictedKey();
    await open().list('');
    await fake.control.inject({ keyId, operation: 'b2_list_file_names', status: 400, code: 'bad_bucket_id' });
    await expect(open().list('')).rejects.toMatchObject({ code: 'NotFound', subject: 'bucket' });
    expect((await calls(keyId)).b2_list_buckets).toBe(1);
    await open().list('');
    expect((await calls(keyId)).b2_list_buckets).toBe(2);
  });

  it('fetches the upload URL beside the existence check of a create-if-absent, and pools it when the name exists', async () => {
    const { keyId, open } = await unrestrictedKey();
    const store = open();
    await store.list('');
    await fake.control.setLatency(keyId, 30);
    await store.put('exclusive/marker', Buffer.from('first'), { ifNotExists: true });
    // The existence check and b2_get_upload_url were in flight together.
    expect((await fake.control.stats(keyId)).maxInFlight).toBe(2);
    const error: unknown = await store
      .put('exclusive/marker', Buffer.from('second'), { ifNotExists: true })
      .catch((reason: unknown) => reason);
    expect(isStorageError(error) && error.code).toBe('AlreadyExists');
    await store.put('exclusive/other', Buffer.from('third'));
    expect((await calls(keyId)).b2_get_upload_url).toBe(1);
    expect(await fake.control.versionsOf(bucket, 'exclusive/marker')).toHaveLength(1);
  });
});

describe('B2 delete by the file ids this store uploaded (contract fake of the B2 native API)', () => {
  it('deletes its own uploads by id, without listing the name', async () => {
    const { keyId, open } = await unrestrictedKey();
    const store = open();
    await store.put('own/probe', Buffer.from('mine'));
    await store.put('own/probe', Buffer.from('mine again'));
    await fake.control.setLatency(keyId, 30);
    await store.delete('own/probe');
    const stats = await fake.control.stats(keyId);
    // Both versions deleted by id, side by side: one round trip.
    expect(stats.maxInFlight).toBe(2);
    expect(stats.calls.b2_list_file_versions ?? 0).toBe(0);
    expect(stats.calls.b2_delete_file_version).toBe(2);
    expect(await fake.control.versionsOf(bucket, 'own/probe')).toEqual([]);
    // Forgotten once deleted: deleting again lists the name, finds nothing and succeeds.
    await store.delete('own/probe');
    const again = await calls(keyId);
    expect(again.b2_list_file_versions).toBe(1);
    expect(again.b2_delete_file_version).toBe(2);
  });

  it('deletes a name it created with ifNotExists by the ids its version listing saw', async () => {
    const { keyId, open } = await unrestrictedKey();
    const store = open();
    await store.put('created/marker', Buffer.from('mine'), { ifNotExists: true });
    await store.delete('created/marker');
    const counted = await calls(keyId);
    // The one listing is create-if-absent's own, after the upload.
    expect(counted.b2_list_file_versions).toBe(1);
    expect(counted.b2_delete_file_version).toBe(1);
    expect(await fake.control.versionsOf(bucket, 'created/marker')).toEqual([]);
    await expect(store.stat('created/marker')).rejects.toMatchObject({ code: 'NotFound', subject: 'object' });
  });

  it('removes every version of a name it did not upload, and stays idempotent', async () => {
    const other = (await unrestrictedKey()).open();
    await other.put('foreign/name', Buffer.from('v1'));
    await other.put('foreign/name', Buffer.from('v2'));
    const { keyId, open } = await unrestrictedKey();
    const store = open();
    await store.delete('foreign/name');
    expect(await fake.control.versionsOf(bucket, 'foreign/name')).toEqual([]);
    await store.delete('foreign/name');
    const counted = await calls(keyId);
    expect(counted.b2_list_file_versions).toBe(2);
    expect(counted.b2_delete_file_version).toBe(2);
  });

  it('treats a version of its own that someone else removed meanwhile as deleted', async () => {
    const other = (await unrestrictedKey()).open();
    const { open } = await unrestrictedKey();
    const store = open();
    await store.put('raced/name', Buffer.from('mine'));
    await other.delete('raced/name');
    await store.delete('raced/name');
    expect(await fake.control.versionsOf(bucket, 'raced/name')).toEqual([]);
  });
});
