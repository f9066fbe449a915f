/**
 * Application keys restricted to one bucket and a name prefix, as B2 hands them out: the adapter must use
 * what the authorize answer allows and never make a call the key cannot make (an unfiltered
 * b2_list_buckets: restic#1907, rclone#2923).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { b2Fake, b2Store, uniqueBucketName } from './support/b2.js';
import { storageFailure } from './support/failure.js';

const fake = b2Fake();
const master = { keyId: fake.accountId, key: fake.masterKey };

describe('B2 application keys restricted to a bucket and prefix (contract fake of the B2 native API)', () => {
  let bucket: string;
  let other: string;

  beforeAll(async () => {
    bucket = uniqueBucketName('scoped');
    other = uniqueBucketName('scoped-other');
    await fake.control.createBucket(bucket);
    await fake.control.createBucket(other);
  });

  it('works with a key restricted to the right bucket, without ever listing all buckets', async () => {
    const key = await fake.control.createKey({ bucketName: bucket });
    const store = b2Store({ bucket, prefix: 'team-a', keyId: key.applicationKeyId, key: key.applicationKey });
    expect(await store.bucketExists()).toBe(true);
    await store.put('team-a/hello', Buffer.from('hi'), { ifNotExists: true });
    expect(Buffer.from(await store.get('team-a/hello')).toString()).toBe('hi');
    expect((await store.list('team-a/')).objects.map((o) => o.key)).toEqual(['team-a/hello']);
    await store.delete('team-a/hello');
    const stats = await fake.control.stats(key.applicationKeyId);
    expect(stats.unfilteredBucketListings).toBe(0);
    // The bucket id came from the authorize answer: no bucket listing at all.
    expect(stats.calls.b2_list_buckets ?? 0).toBe(0);
  });

  it('blames the key, not the bucket, when the key is restricted to a bucket deleted since', async () => {
    const gone = uniqueBucketName('scoped-gone');
    await fake.control.createBucket(gone);
    const key = await fake.control.createKey({ bucketName: gone });
    await fake.control.deleteBucket(gone);
    // Another bucket, which exists: B2 must not be said to lack it.
    const store = b2Store({ bucket: other, keyId: key.applicationKeyId, key: key.applicationKey });
    const error = await storageFailure(store.bucketExists());
    expect(error.code).toBe('PermissionDenied');
    expect(error.message).toMatch(/restricted to a bucket that has since been deleted/);
    expect(error.message).not.toMatch(/does not exist/);
    expect(error.hint).toMatch(/deleted bucket/);
    expect(error.hint).toContain(`use a key for bucket "${other}"`);
    // The bucket the key was made for is gone too: still the key's problem, not a missing bucket.
    const own = b2Store({ bucket: gone, keyId: key.applicationKeyId, key: key.applicationKey });
    expect((await storageFailure(own.list(''))).code).toBe('PermissionDenied');
  });

  it('lists buckets only with a bucketName filter when the key is unrestricted', async () => {
    const key = await fake.control.createKey();
    const store = b2Store({ bucket, keyId: key.applicationKeyId, key: key.applicationKey });
    expect(await store.bucketExists()).toBe(true);
    await store.stat('absent').catch(() => undefined);
    const stats = await fake.control.stats(key.applicationKeyId);
    expect(stats.calls.b2_list_buckets).toBe(1);
    expect(stats.unfilteredBucketListings).toBe(0);
  });

  it('refuses a key restricted to another bucket with a hint naming the bucket and prefix it allows', async () => {
    const key = await fake.control.createKey({ bucketName: other, namePrefix: 'elsewhere/' });
    const store = b2Store({ bucket, prefix: 'team-a', keyId: key.applicationKeyId, key: key.applicationKey });
    for (const call of [
      store.bucketExists(),
      store.list('team-a/'),
      store.put('team-a/x', Buffer.from('x')),
      store.get('team-a/x'),
    ]) {
      const error = await storageFailure(call);
      expect(error.code).toBe('PermissionDenied');
      expect(error.message).toContain(`bucket "${other}"`);
      expect(error.hint).toContain(`only bucket "${other}"`);
      expect(error.hint).toContain('only names starting with "elsewhere/"');
      expect(error.hint).not.toContain(key.applicationKey);
    }
    expect((await fake.control.stats(key.applicationKeyId)).unfilteredBucketListings).toBe(0);
  });

  it('refuses a key restricted to another prefix of the right bucket', async () => {
    const key = await fake.control.createKey({ bucketName: bucket, namePrefix: 'team-b/' });
    const store = b2Store({ bucket, prefix: 'team-a', keyId: key.applicationKeyId, key: key.applicationKey });
    const error = await storageFailure(store.list('team-a/'));
    expect(error.code).toBe('PermissionDenied');
    expect(error.message).toContain('"team-b/"');
    expect(error.hint).toContain(`only bucket "${bucket}"`);
    expect(error.hint).toContain('only names starting with "team-b/"');
  });

  it('accepts a key whose name prefix covers the storage prefix', async () => {
    const key = await fake.control.createKey({ bucketName: bucket, namePrefix: 'team-c/' });
    const store = b2Store({
      bucket,
      prefix: 'team-c/cluster-1',
      keyId: key.applicationKeyId,
      key: key.applicationKey,
    });
    await store.put('team-c/cluster-1/data', Buffer.from('ok'));
    expect((await store.stat('team-c/cluster-1/data')).size).toBe(2);
    await store.delete('team-c/cluster-1/data');
    await expect(store.stat('team-c/cluster-1/data')).rejects.toMatchObject({
      code: 'NotFound',
      subject: 'object',
    });
  });

  it('reports PermissionDenied naming the capabilities when a read-only key writes', async () => {
    const key = await fake.control.createKey({
      bucketName: bucket,
      capabilities: ['listBuckets', 'listFiles', 'readFiles'],
    });
    const store = b2Store({ bucket, keyId: key.applicationKeyId, key: key.applicationKey });
    expect((await store.list('')).nextPageToken).toBeUndefined();
    const error = await storageFailure(store.put('read-only-attempt', Buffer.from('x')));
    expect(error.code).toBe('PermissionDenied');
    expect(error.hint).toContain('capabilities listBuckets, listFiles, readFiles');
  });

  it('reports a wrong key as Unauthenticated without echoing it', async () => {
    const store = b2Store({ bucket, keyId: master.keyId, key: 'K000wrongwrongwrongwrongwrongwr' });
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unauthenticated');
    expect(error.message).not.toContain('K000wrong');
  });
});
