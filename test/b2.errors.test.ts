/**
 * B2's documented error codes, each injected by the contract fake, through the adapter's one error
 * table; token reuse and re-authorization; the connection bound; deadlines and unreachable endpoints.
 */
import type { ObjectStore } from '../lib/backends/object-store.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { B2Store } from '../lib/backends/b2/store.js';
import { DEFAULT_ATTEMPTS } from '../lib/runtime/retry.js';
import { freePort } from './support/process.js';
import { b2Fake, b2Store, uniqueBucketName } from './support/b2.js';
import { storageFailure } from './support/failure.js';

const fake = b2Fake();
let bucket: string;

beforeAll(async () => {
  bucket = uniqueBucketName('errors');
  await fake.control.createBucket(bucket);
  const writer = b2Store({ bucket, keyId: fake.accountId, key: fake.masterKey });
  await writer.put('existing', Buffer.from('content'));
});

async function freshStore(
  maxConnections?: number,
): Promise<{ store: ObjectStore; keyId: string; key: string }> {
  const key = await fake.control.createKey({ bucketName: bucket });
  return {
    store: b2Store({ bucket, keyId: key.applicationKeyId, key: key.applicationKey, maxConnections }),
    keyId: key.applicationKeyId,
    key: key.applicationKey,
  };
}

type Call = 'list' | 'get' | 'put' | 'authorize';
const run = (store: ObjectStore, call: Call): Promise<unknown> =>
  call === 'get'
    ? store.get('existing')
    : call === 'put'
      ? store.put('written', Buffer.from('x'))
      : store.list('');
const OPERATION: Record<Call, string> = {
  list: 'b2_list_file_names',
  get: 'b2_download_file_by_name',
  put: 'b2_upload_file',
  authorize: 'b2_authorize_account',
};

describe('B2 error table (contract fake of the B2 native API)', () => {
  const table: {
    status: number;
    code: string;
    call: Call;
    expected: string;
    subject?: string;
    hint?: RegExp;
  }[] = [
    { status: 401, code: 'bad_auth_token', call: 'list', expected: 'Unauthenticated' },
    { status: 401, code: 'missing_auth_token', call: 'list', expected: 'Unauthenticated' },
    { status: 401, code: 'unauthorized', call: 'list', expected: 'PermissionDenied', hint: /only bucket/ },
    {
      status: 401,
      code: 'unauthorized',
      call: 'authorize',
      expected: 'Unauthenticated',
      hint: /B2_ACCOUNT_ID/,
    },
    { status: 401, code: 'unsupported', call: 'authorize', expected: 'InvalidConfig' },
    { status: 404, code: 'not_found', call: 'get', expected: 'NotFound', subject: 'object' },
    { status: 400, code: 'bad_bucket_id', call: 'list', expected: 'NotFound', subject: 'bucket' },
    { status: 429, code: 'too_many_requests', call: 'list', expected: 'RateLimited' },
    { status: 503, code: 'service_unavailable', call: 'list', expected: 'Unavailable' },
    { status: 503, code: 'service_unavailable', call: 'authorize', expected: 'Unavailable' },
    { status: 500, code: 'internal_error', call: 'list', expected: 'Unavailable' },
    { status: 408, code: 'request_timeout', call: 'list', expected: 'Timeout' },
    { status: 403, code: 'cap_exceeded', call: 'put', expected: 'QuotaExceeded', hint: /Caps & Alerts/ },
    {
      status: 403,
      code: 'transaction_cap_exceeded',
      call: 'list',
      expected: 'QuotaExceeded',
      hint: /Caps & Alerts/,
    },
    {
      status: 403,
      code: 'download_cap_exceeded',
      call: 'get',
      expected: 'QuotaExceeded',
      hint: /Caps & Alerts/,
    },
    { status: 403, code: 'access_denied', call: 'get', expected: 'PermissionDenied' },
    { status: 400, code: 'bad_request', call: 'list', expected: 'InvalidConfig' },
    { status: 400, code: 'out_of_range', call: 'list', expected: 'InvalidConfig' },
  ];

  it.each(table)(
    '$code ($status) on $call → $expected',
    async ({ status, code, call, expected, subject, hint }) => {
      const { store, keyId, key } = await freshStore();
      // Passing faults (408, 429, 5xx) are retried (lib/backends/retry.ts): they fail every attempt here.
      const passing = status === 408 || status === 429 || status >= 500;
      await fake.control.inject({
        keyId,
        operation: OPERATION[call],
        status,
        code,
        message: `injected ${code} for ${key}`,
        times: passing ? DEFAULT_ATTEMPTS : 1,
      });
      const error = await storageFailure(run(store, call));
      expect(error.retryable).toBe(passing);
      if (passing) expect((await fake.control.stats(keyId)).calls[OPERATION[call]]).toBe(DEFAULT_ATTEMPTS);
      expect(error.code).toBe(expected);
      expect(error.provider).toBe('b2');
      if (subject) expect(error.subject).toBe(subject);
      if (hint) expect(error.hint).toMatch(hint);
      expect(error.message).toContain(code);
      // B2's message text is kept, but scrubbed of the key.
      expect(error.message).not.toContain(key);
      expect(JSON.stringify(error)).not.toContain(key);
    },
  );

  it.each([
    [429, 'too_many_requests', 'list'],
    [503, 'service_unavailable', 'list'],
    [500, 'internal_error', 'get'],
    [503, 'service_unavailable', 'authorize'],
  ] as const)('retries a passing %i %s on %s to success', async (status, code, call) => {
    const { store, keyId } = await freshStore();
    await fake.control.inject({ keyId, operation: OPERATION[call], status, code });
    await (call === 'authorize' ? store.list('') : run(store, call));
    expect((await fake.control.stats(keyId)).calls[OPERATION[call]]).toBe(2);
  });

  it('retries an upload on a fresh upload URL when B2 answers 503, as B2 asks', async () => {
    const { store, keyId } = await freshStore();
    await fake.control.inject({
      keyId,
      operation: 'b2_upload_file',
      status: 503,
      code: 'service_unavailable',
    });
    await store.put('retried', Buffer.from('x'));
    expect((await fake.control.stats(keyId)).calls.b2_get_upload_url).toBe(2);
    await fake.control.inject({
      keyId,
      operation: 'b2_upload_file',
      status: 503,
      code: 'service_unavailable',
      times: DEFAULT_ATTEMPTS,
    });
    expect((await storageFailure(store.put('retried', Buffer.from('y')))).code).toBe('Unavailable');
    // The first attempt takes the pooled URL the first put returned; every retry asks for a fresh one.
    expect((await fake.control.stats(keyId)).calls.b2_get_upload_url).toBe(2 + DEFAULT_ATTEMPTS - 1);
  });

  it('refuses a bucket name another account holds as InvalidConfig, not AlreadyExists', async () => {
    const key = await fake.control.createKey();
    const store = b2Store({
      bucket: uniqueBucketName('taken'),
      keyId: key.applicationKeyId,
      key: key.applicationKey,
    });
    await fake.control.inject({
      keyId: key.applicationKeyId,
      operation: 'b2_create_bucket',
      status: 400,
      code: 'duplicate_bucket_name',
    });
    const error = await storageFailure(store.createBucket());
    expect(error.code).toBe('InvalidConfig');
    expect(error.hint).toMatch(/unique across all accounts/);
  });
});

describe('B2 authorization tokens (contract fake of the B2 native API)', () => {
  it('reuses the token across stores while warm', async () => {
    const key = await fake.control.createKey({ bucketName: bucket });
    for (let index = 0; index < 3; index++) {
      const store = b2Store({ bucket, keyId: key.applicationKeyId, key: key.applicationKey });
      await store.list('');
      await store.close();
    }
    const stats = await fake.control.stats(key.applicationKeyId);
    expect(stats.calls.b2_authorize_account).toBe(1);
    expect(stats.calls.b2_list_file_names).toBe(3);
  });

  it('authorizes concurrent first calls once', async () => {
    const { store, keyId } = await freshStore();
    await Promise.all(Array.from({ length: 8 }, () => store.list('')));
    expect((await fake.control.stats(keyId)).calls.b2_authorize_account).toBe(1);
  });

  it('re-authorizes once on expired_auth_token and carries on', async () => {
    const { store, keyId } = await freshStore();
    await store.list('');
    await fake.control.expireTokens(keyId);
    await Promise.all([store.list(''), store.get('existing')]);
    const stats = await fake.control.stats(keyId);
    expect(stats.calls.b2_authorize_account).toBe(2);
  });

  it('gives up after one re-authorization when the token keeps expiring', async () => {
    const { store, keyId } = await freshStore();
    await store.list('');
    await fake.control.inject({
      keyId,
      operation: 'b2_list_file_names',
      status: 401,
      code: 'expired_auth_token',
      times: 2,
    });
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unauthenticated');
    expect((await fake.control.stats(keyId)).calls.b2_authorize_account).toBe(2);
  });
});

describe('B2 transport (contract fake of the B2 native API)', () => {
  it('bounds requests in flight by maxConnections', async () => {
    for (const [maxConnections, expected] of [
      [2, 2],
      [undefined, 5],
    ] as const) {
      const { store, keyId } = await freshStore(maxConnections);
      await store.list('');
      await fake.control.setLatency(keyId, 25);
      await Promise.all(
        Array.from({ length: 16 }, (_, index) => store.put(`bounded/${index}`, Buffer.from('x'))),
      );
      const stats = await fake.control.stats(keyId);
      expect(stats.maxInFlight).toBe(expected);
    }
  });

  it('maps an aborted call to Timeout', async () => {
    const { store, keyId } = await freshStore();
    await store.list('');
    await fake.control.setLatency(keyId, 2000);
    const controller = new AbortController();
    const pending = store.list('', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await storageFailure(pending)).code).toBe('Timeout');
  });

  it('maps a closed port to Unreachable', async () => {
    const port = await freePort();
    const store = new B2Store({
      bucket,
      keyId: fake.accountId,
      key: fake.masterKey,
      endpoint: `http://127.0.0.1:${port}`,
    });
    const error = await storageFailure(store.bucketExists());
    expect(error.code).toBe('Unreachable');
  });
});
