/**
 * Every error class of the S3 adapter produced for real against s3rver and Swift's s3api: wrong keys,
 * a missing bucket, a closed port, a wrong CA, a wrong region, a deadline. Plus TLS with CA_CERT_DATA
 * and insecureTLS, credential-less mode (the AWS default chain), and region discovery.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../lib/backends/object-store.js';
import { S3Store } from '../lib/backends/s3/store.js';
import { resolveS3Endpoint } from '../lib/backends/s3/endpoint.js';
import { freePort } from './support/process.js';
import { serverInfo } from './support/servers.js';
import {
  ensureBucket,
  freshBucket,
  keysOf,
  openS3,
  s3apiTarget,
  type S3Target,
} from './support/s3-stores.js';
import { makeTestCa } from './support/tls.js';
import { storageFailure } from './support/failure.js';

const s3rver = serverInfo('s3rver') as unknown as S3Target;
const s3api = s3apiTarget(serverInfo('swift'), freshBucket('s3api-errors'));

const opened: ObjectStore[] = [];
async function track(store: Promise<ObjectStore>): Promise<ObjectStore> {
  const resolved = await store;
  opened.push(resolved);
  return resolved;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

beforeAll(() => ensureBucket(s3api));

describe.each([
  ['s3rver', () => s3rver],
  ['s3api', () => s3api],
])('S3 error classes on %s', (_name, target) => {
  it('an unknown access key is Unauthenticated', async () => {
    const store = await track(
      openS3(target(), {}, { AWS_ACCESS_KEY_ID: 'NO-SUCH-KEY', AWS_SECRET_ACCESS_KEY: 'whatever' }),
    );
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unauthenticated');
    // s3api's tempauth cannot tell an unknown key from a wrong secret: both are SignatureDoesNotMatch.
    expect(error.message).toMatch(/InvalidAccessKeyId|SignatureDoesNotMatch/);
    expect(error.hint).toContain('AWS_SECRET_ACCESS_KEY');
    expect(JSON.stringify(error)).not.toContain('whatever');
  });

  it('a missing bucket is NotFound with subject bucket and a hint, for lists, reads and writes', async () => {
    const store = await track(openS3(target(), { bucket: freshBucket('absent') }));
    expect(await store.bucketExists()).toBe(false);
    for (const call of [
      () => store.list(''),
      () => store.get('k'),
      () => store.stat('k'),
      () => store.put('k', Buffer.from('x')),
    ]) {
      const error = await storageFailure(call());
      expect(error.code).toBe('NotFound');
      expect(error.subject).toBe('bucket');
      expect(error.hint).toContain('options.createBucket');
    }
  });

  it('a missing key is NotFound with subject object, and deleting it succeeds', async () => {
    const store = await track(openS3(target()));
    const error = await storageFailure(store.get('never/written'));
    expect([error.code, error.subject]).toEqual(['NotFound', 'object']);
    await expect(store.delete('never/written')).resolves.toBeUndefined();
    await expect(store.deleteMany(['never/a', 'never/b'])).resolves.toBeUndefined();
  });

  it('a PUT reports the MD5 of what it stored, so the write probe needs no read-back', async () => {
    const store = await track(openS3(target()));
    const body = Buffer.from('checksum me');
    const result = await store.put(`md5/${Date.now()}`, body);
    const { createHash } = await import('node:crypto');
    expect(result.contentMd5).toBe(createHash('md5').update(body).digest('base64'));
    expect(store.capabilities.putReturnsChecksum).toBe(true);
  });

  it('an ifNotExists create reports that the server does not enforce conditional writes', async () => {
    const store = await track(openS3(target()));
    await store.put(`conditional/${Date.now()}`, Buffer.from('one'), { ifNotExists: true });
    expect(store.capabilities.conditionalWrites).toBe(false);
  });

  it('a deadline that passes is Timeout', async () => {
    const store = await track(openS3(target()));
    const error = await storageFailure(store.list('', { signal: AbortSignal.abort() }));
    expect(error.code).toBe('Timeout');
  });
});

describe('S3 errors that need a signature-checking server (s3api)', () => {
  it('a wrong secret key is Unauthenticated (SignatureDoesNotMatch)', async () => {
    const store = await track(
      openS3(s3api, {}, { AWS_ACCESS_KEY_ID: s3api.accessKeyId, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
    );
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unauthenticated');
    expect(error.message).toContain('SignatureDoesNotMatch');
  });

  it('stores share clients, never across credentials: a wrong secret fails beside a right one', async () => {
    const right = await track(openS3(s3api));
    const wrong = await track(
      openS3(s3api, {}, { ...keysOf(s3api), AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
    );
    await expect(right.list('', { limit: 1 })).resolves.toBeDefined();
    expect((await storageFailure(wrong.list('', { limit: 1 }))).code).toBe('Unauthenticated');
    await expect(right.list('', { limit: 1 })).resolves.toBeDefined();
  });

  it('a pinned wrong region is InvalidConfig whose hint names the bucket’s region', async () => {
    const store = await track(openS3(s3api, { region: 'nl-ams' }));
    for (const call of [store.list(''), store.bucketExists(), store.stat('some/key')]) {
      const error = await storageFailure(call);
      expect(error.code).toBe('InvalidConfig');
      expect(error.message).toContain('us-east-1');
      expect(error.hint).toContain('region: us-east-1');
    }
  });

  it('without a configured region, a wrong first guess is corrected from the server’s answer', async () => {
    const store = new S3Store({
      bucket: s3api.bucket,
      endpoint: resolveS3Endpoint(s3api.endpoint),
      region: 'eu-west-3',
      regionPinned: false,
      credentials: { accessKeyId: s3api.accessKeyId, secretAccessKey: s3api.secretAccessKey },
    });
    opened.push(store);
    // The list succeeds in the bucket's own region, whole (one page).
    expect((await store.list('')).nextPageToken).toBeUndefined();
    expect(store.region).toBe('us-east-1');
    expect(await store.bucketExists()).toBe(true);
  });
});

describe('S3 network and TLS failures', () => {
  it('a closed port is Unreachable and retryable', async () => {
    const port = await freePort();
    const store = await track(openS3({ ...s3rver, endpoint: `http://127.0.0.1:${port}` }));
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unreachable');
    expect(error.retryable).toBe(true);
  });

  it('a host that does not resolve is Unreachable', async () => {
    const store = await track(openS3({ ...s3rver, endpoint: 'https://no-such-host.invalid' }));
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unreachable');
    expect(error.message).toContain('resolve');
  });

  describe.each([
    [
      's3rver',
      () => ({ endpoint: s3rver.tlsEndpoint as string, caPath: s3rver.caPath as string, target: s3rver }),
    ],
    [
      's3api',
      () => ({ endpoint: s3api.tlsEndpoint as string, caPath: s3api.caPath as string, target: s3api }),
    ],
  ])('over TLS on %s', (_name, tls) => {
    it('CA_CERT_DATA makes a private CA trusted', async () => {
      const { endpoint, caPath, target } = tls();
      const caPem = await readFile(caPath, 'utf8');
      const store = await track(
        openS3({ ...target, endpoint }, {}, { ...keysOf(target), CA_CERT_DATA: caPem }),
      );
      await expect(store.list('', { limit: 1 })).resolves.toBeDefined();
      await store.put('tls/probe', Buffer.from('over tls'));
      expect(Buffer.from(await store.get('tls/probe')).toString()).toBe('over tls');
    });

    it('insecureTLS skips verification', async () => {
      const { endpoint, target } = tls();
      const store = await track(openS3({ ...target, endpoint }, { insecureTLS: true }));
      await expect(store.list('', { limit: 1 })).resolves.toBeDefined();
    });

    it('an untrusted certificate is TlsError with a hint about CA_CERT_DATA and insecureTLS', async () => {
      const { endpoint, target } = tls();
      const store = await track(openS3({ ...target, endpoint }));
      const error = await storageFailure(store.list(''));
      expect(error.code).toBe('TlsError');
      expect(error.hint).toContain('CA_CERT_DATA');
      expect(error.hint).toContain('insecureTLS');
    });

    it('the wrong CA in CA_CERT_DATA is TlsError', async () => {
      const { endpoint, target } = tls();
      const other = await makeTestCa();
      const store = await track(
        openS3({ ...target, endpoint }, {}, { ...keysOf(target), CA_CERT_DATA: other.caPem }),
      );
      const error = await storageFailure(store.list(''));
      expect(error.code).toBe('TlsError');
    });
  });
});

describe('S3 credential-less mode (the AWS default credential chain)', () => {
  const saved = { ...process.env };
  // The function's own credentials go to a custom endpoint only when ENDPOINT_ALLOWED_HOSTS names it
  // (test/attack.endpoints.test.ts has the refusals).
  beforeEach(() => {
    process.env.ENDPOINT_ALLOWED_HOSTS = new URL(s3api.endpoint).host;
  });
  afterEach(() => {
    for (const key of [
      'ENDPOINT_ALLOWED_HOSTS',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_EC2_METADATA_DISABLED',
      'AWS_SHARED_CREDENTIALS_FILE',
      'AWS_CONFIG_FILE',
      'AWS_PROFILE',
    ]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it('without a secret, the chain’s credentials (here: the environment) are used', async () => {
    process.env.AWS_ACCESS_KEY_ID = s3api.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3api.secretAccessKey;
    const store = await track(openS3(s3api, {}, {}));
    await expect(store.list('', { limit: 1 })).resolves.toBeDefined();
  });

  it('without a secret and without any credentials in the chain, it is Unauthenticated', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    const store = await track(openS3(s3api, {}, {}));
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('Unauthenticated');
    expect(error.hint).toContain('IAM role');
  });

  it('half a key pair is InvalidConfig, before any request', async () => {
    const error = await storageFailure(openS3(s3rver, {}, { AWS_ACCESS_KEY_ID: 'S3RVER' }));
    expect(error.code).toBe('InvalidConfig');
    expect(error.message).toContain('AWS_SECRET_ACCESS_KEY');
  });
});
