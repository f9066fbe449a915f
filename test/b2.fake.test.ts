/**
 * The contract fake itself, driven by the real backblaze-b2 client: the documented behaviours the
 * adapter relies on (restricted bucket listing, SHA-1 verification, version order and pagination, hide
 * markers, file_not_present), so the adapter's tests rest on the protocol and not on the fake's whims.
 * Also the adapter's create-if-absent over versions, with every creator racing past the existence check.
 */
import { createHash } from 'node:crypto';
import B2 from 'backblaze-b2';
import { beforeAll, describe, expect, it } from 'vitest';
import { b2FailureOf } from '../lib/backends/b2/errors.js';
import { isStorageError } from '../lib/backends/errors.js';
import { b2Fake, b2Store, uniqueBucketName } from './support/b2.js';

const fake = b2Fake();
let bucket: string;
let bucketId: string;

async function client(keyId: string, key: string): Promise<B2> {
  const b2 = new B2({ applicationKeyId: keyId, applicationKey: key, retry: { retries: 0 } });
  await b2.authorize({ axiosOverride: { url: `${fake.endpoint}/b2api/v2/b2_authorize_account` } });
  return b2;
}

async function b2Error(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  // Downloads deliver the error body as bytes; b2FailureOf reads it either way.
  const failure = b2FailureOf(error);
  expect(failure, 'expected B2 to answer with an error').toBeDefined();
  expect(failure?.message).not.toBe('');
  return { status: failure?.status as number, code: failure?.code as string };
}

async function upload(
  b2: B2,
  fileName: string,
  body: string,
  hash?: string,
): Promise<{ fileId: string; uploadTimestamp: number }> {
  const target = (await b2.getUploadUrl({ bucketId })).data as {
    uploadUrl: string;
    authorizationToken: string;
  };
  const response = await b2.uploadFile({
    uploadUrl: target.uploadUrl,
    uploadAuthToken: target.authorizationToken,
    fileName,
    data: Buffer.from(body),
    hash,
  });
  return response.data as { fileId: string; uploadTimestamp: number };
}

beforeAll(async () => {
  bucket = uniqueBucketName('fake-contract');
  bucketId = (await fake.control.createBucket(bucket)).bucketId;
});

describe('B2 native API contract fake, driven by backblaze-b2', () => {
  it('answers authorize with the key restrictions and refuses unfiltered bucket listings for a restricted key', async () => {
    const key = await fake.control.createKey({ bucketName: bucket, namePrefix: 'p/' });
    const b2 = await client(key.applicationKeyId, key.applicationKey);
    expect(b2.apiUrl).toBe(fake.endpoint);
    expect(await b2Error(b2.getBucket({ bucketName: uniqueBucketName('not-mine') }))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    expect(
      await b2Error(
        new B2({ applicationKeyId: 'x', applicationKey: 'y' }).authorize({
          axiosOverride: { url: `${fake.endpoint}/b2api/v2/b2_authorize_account` },
        }),
      ),
    ).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    const filtered = (await b2.getBucket({ bucketName: bucket })).data as { buckets: { bucketId: string }[] };
    expect(filtered.buckets.map((b) => b.bucketId)).toEqual([bucketId]);
    const unfiltered = b2.getBucket({}) as Promise<unknown>;
    expect(await b2Error(unfiltered)).toEqual({ status: 401, code: 'unauthorized' });
    expect(await b2Error(b2.listFileNames({ bucketId, prefix: 'q/' }))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
  });

  it('verifies X-Bz-Content-Sha1 and stores nothing on a mismatch', async () => {
    const b2 = await client(fake.accountId, fake.masterKey);
    const wrong = createHash('sha1').update('something else').digest('hex');
    expect(await b2Error(upload(b2, 'sha/checked', 'content', wrong))).toEqual({
      status: 400,
      code: 'bad_request',
    });
    expect(await fake.control.versionsOf(bucket, 'sha/checked')).toEqual([]);
  });

  it('lists versions by name, newest first, across pages with nextFileName and nextFileId', async () => {
    const b2 = await client(fake.accountId, fake.masterKey);
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push((await upload(b2, 'versions/a', `v${index}`)).fileId);
    await upload(b2, 'versions/b', 'b');
    const seen: { fileName: string; fileId: string }[] = [];
    let start: { startFileName?: string; startFileId?: string } = { startFileName: 'versions/' };
    for (;;) {
      const page = (await b2.listFileVersions({ bucketId, ...start, maxFileCount: 2 })).data as {
        files: { fileName: string; fileId: string }[];
        nextFileName: string | null;
        nextFileId: string | null;
      };
      seen.push(
        ...page.files
          .filter((f) => f.fileName.startsWith('versions/'))
          .map(({ fileName, fileId }) => ({ fileName, fileId })),
      );
      if (!page.nextFileName || !page.nextFileName.startsWith('versions/')) break;
      start = { startFileName: page.nextFileName, startFileId: page.nextFileId ?? undefined };
    }
    expect(seen.map((f) => f.fileName)).toEqual([
      'versions/a',
      'versions/a',
      'versions/a',
      'versions/a',
      'versions/a',
      'versions/b',
    ]);
    expect(seen.slice(0, 5).map((f) => f.fileId)).toEqual([...ids].reverse());
    expect(await b2Error(b2.listFileNames({ bucketId, maxFileCount: 10_001 }))).toEqual({
      status: 400,
      code: 'out_of_range',
    });
  });

  it('folds names into folders under a delimiter and serves file info', async () => {
    const b2 = await client(fake.accountId, fake.masterKey);
    const { fileId } = await upload(b2, 'folders/x/1', 'one');
    await upload(b2, 'folders/x/2', 'two');
    await upload(b2, 'folders/y', 'y');
    const listed = (await b2.listFileNames({ bucketId, prefix: 'folders/', delimiter: '/' })).data as {
      files: { fileName: string; action: string }[];
    };
    expect(listed.files.map((f) => [f.fileName, f.action])).toEqual([
      ['folders/x/', 'folder'],
      ['folders/y', 'upload'],
    ]);
    const info = (await b2.getFileInfo({ fileId })).data as {
      fileName: string;
      contentLength: number;
      contentSha1: string;
    };
    expect(info).toMatchObject({
      fileName: 'folders/x/1',
      contentLength: 3,
      contentSha1: createHash('sha1').update('one').digest('hex'),
    });
    expect(await b2Error(b2.deleteFileVersion({ fileId, fileName: 'folders/x/other' }))).toEqual({
      status: 400,
      code: 'file_not_present',
    });
  });

  it('hides a name: downloads answer 404, and create-if-absent treats the name as free', async () => {
    const b2 = await client(fake.accountId, fake.masterKey);
    await upload(b2, 'hidden/name', 'old');
    await b2.hideFile({ bucketId, fileName: 'hidden/name' });
    expect(
      await b2Error(
        b2.downloadFileByName({ bucketName: bucket, fileName: 'hidden/name', responseType: 'arraybuffer' }),
      ),
    ).toEqual({
      status: 404,
      code: 'not_found',
    });
    const store = b2Store({ bucket, keyId: fake.accountId, key: fake.masterKey });
    await store.put('hidden/name', Buffer.from('new'), { ifNotExists: true });
    expect(Buffer.from(await store.get('hidden/name')).toString()).toBe('new');
    // delete removes every version, the hide marker and the old upload included.
    await store.delete('hidden/name');
    expect(await fake.control.versionsOf(bucket, 'hidden/name')).toEqual([]);
  });
});

describe('B2 create-if-absent over versions (contract fake of the B2 native API)', () => {
  it('keeps one winner among 20 creators racing through the existence check and the upload', async () => {
    const key = await fake.control.createKey({ bucketName: bucket });
    const store = b2Store({
      bucket,
      keyId: key.applicationKeyId,
      key: key.applicationKey,
      maxConnections: 64,
    });
    await store.list('');
    // Slow answers make every creator's existence check return before anyone's upload lands.
    await fake.control.setLatency(key.applicationKeyId, 30);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) =>
        store.put('race/marker', Buffer.from(`creator-${index}`), { ifNotExists: true }),
      ),
    );
    const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected')
        expect(isStorageError(result.reason) && result.reason.code).toBe('AlreadyExists');
    }
    // How many creators got as far as uploading depends on the machine's load; each that lost removed
    // its own version, so the uploads less the deletes are the one winner.
    const stats = await fake.control.stats(key.applicationKeyId);
    const uploads = stats.calls.b2_upload_file ?? 0;
    expect(uploads).toBeGreaterThanOrEqual(1);
    expect(stats.calls.b2_delete_file_version ?? 0).toBe(uploads - 1);
    expect(await fake.control.versionsOf(bucket, 'race/marker')).toHaveLength(1);
    expect(Buffer.from(await store.get('race/marker')).toString()).toBe(`creator-${winners[0]}`);
  });
});
