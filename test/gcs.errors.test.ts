/**
 * Each GCS failure class, produced by the contract fake of the GCS JSON API and read through the real
 * @google-cloud/storage client, lands on its portable code; service-account keys are checked before use.
 */
import type { ObjectStore } from '../lib/backends/object-store.js';
import { withConnectionLimit } from '../lib/backends/connection-limit.js';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../lib/backends/errors.js';
import { clientSettings, parseServiceAccountKey } from '../lib/backends/gcs/auth.js';
import { createStore, GcsStore } from '../lib/backends/gcs/store.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { fakeGcsControl } from './fakes/gcs.js';
import { serverInfo } from './support/servers.js';
import { storageFailure } from './support/failure.js';
import { startFaultProxy } from './support/fault-proxy.js';

const fake = serverInfo('gcs-fake');
const endpoint = fake.endpoint as string;
const control = fakeGcsControl(endpoint);
const project = new SecretBag([['GOOGLE_PROJECT_ID', fake.projectId as string]], 'test');

async function freshBucket(label: string): Promise<string> {
  const name = `bsf-${label}-${randomUUID().slice(0, 8)}`;
  await control.createBucket(name, fake.projectId);
  return name;
}

function store(bucket: string, credentials = project, maxConnections?: number): ObjectStore {
  const gcs = new GcsStore(bucket, clientSettings(credentials, endpoint));
  // Limited as the registry opens it (lib/backends/registry.ts).
  return withConnectionLimit(gcs, maxConnections ?? gcs.capabilities.connections);
}

function serviceAccountKey(overrides: Record<string, unknown> = {}): {
  json: string;
  publicKeyPem: string;
  email: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `bsf-${randomUUID().slice(0, 6)}@bsf-fake-project.iam.gserviceaccount.com`;
  const key = {
    type: 'service_account',
    project_id: fake.projectId,
    private_key_id: randomUUID(),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: email,
    client_id: '1234567890',
    // A universe of its own: the SDK then signs its own JWTs instead of asking Google's token endpoint.
    universe_domain: 'fake.test',
    ...overrides,
  };
  return {
    json: JSON.stringify(key),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    email,
  };
}

describe('GCS error table (contract fake of the GCS JSON API)', () => {
  it('maps 401 to Unauthenticated', async () => {
    const bucket = await freshBucket('e401');
    await control.setFault(bucket, { status: 401 });
    const error = await storageFailure(store(bucket).stat('any/key'));
    expect(error.code).toBe('Unauthenticated');
    expect(error.retryable).toBe(false);
    expect(error.hint).toMatch(/GOOGLE_SERVICE_ACCOUNT_JSON_KEY/);
  });

  it('maps 403 to PermissionDenied, with the GCS message and a role hint', async () => {
    const bucket = await freshBucket('e403');
    await control.setFault(bucket, { status: 403 });
    const error = await storageFailure(store(bucket).list('prefix/'));
    expect(error.code).toBe('PermissionDenied');
    expect(error.message).toMatch(/storage\.objects\.list/);
    expect(error.hint).toMatch(/roles\/storage\.objectAdmin/);
  });

  it('keeps a 403 for a missing object PermissionDenied and says it may be a missing object', async () => {
    const bucket = await freshBucket('hidden');
    await control.hideMissingObjects(bucket);
    const gcs = store(bucket);
    const error = await storageFailure(gcs.stat('not/there'));
    expect(error.code).toBe('PermissionDenied');
    expect(error.subject).toBe('object');
    expect(error.hint).toMatch(/may be a missing object/);
    // An object that exists is still readable: the 403 is about the missing one only.
    await gcs.put('there', Buffer.from('x'));
    expect((await gcs.stat('there')).size).toBe(1);
  });

  it('maps 429 to RateLimited after the bounded retries of an idempotent read', async () => {
    const bucket = await freshBucket('e429');
    await control.setFault(bucket, { status: 429 });
    const error = await storageFailure(store(bucket).stat('any/key'));
    expect(error.code).toBe('RateLimited');
    expect(error.retryable).toBe(true);
    expect((await control.stats(bucket)).requests['GET object']).toBe(3);
  });

  it('maps 503 to a retryable Unavailable after retrying the upload a bounded number of times', async () => {
    const bucket = await freshBucket('e503');
    await control.setFault(bucket, { status: 503 });
    const error = await storageFailure(store(bucket).put('k', Buffer.from('v'), { ifNotExists: true }));
    expect(error.code).toBe('Unavailable');
    expect(error.retryable).toBe(true);
    expect((await control.stats(bucket)).requests['POST upload']).toBe(3);
  });

  it('retries an upload (plain and conditional) through one transient 503', async () => {
    const bucket = await freshBucket('flakyput');
    const gcs = store(bucket);
    await control.setFault(bucket, { status: 503, times: 1 });
    await gcs.put('plain', Buffer.from('one'));
    await control.setFault(bucket, { status: 503, times: 1 });
    await gcs.put('conditional', Buffer.from('two'), { ifNotExists: true });
    expect((await control.stats(bucket)).requests['POST upload']).toBe(4);
    expect(Buffer.from(await gcs.get('plain')).toString()).toBe('one');
    expect(Buffer.from(await gcs.get('conditional')).toString()).toBe('two');
  });

  it('a conditional upload stored but whose answer was lost is retried and reported as ours', async () => {
    const bucket = await freshBucket('lost');
    const proxy = await startFaultProxy(endpoint);
    try {
      let uploads = 0;
      proxy.setRequestFaults((request) =>
        request.method === 'POST' && request.path.startsWith('/upload/') && ++uploads === 1
          ? { kind: 'drop-answer' }
          : undefined,
      );
      const gcs = new GcsStore(bucket, clientSettings(project, proxy.url));
      const written = await gcs.put('marker', Buffer.from('ours'), { ifNotExists: true });
      expect(written.contentMd5).toBe(createHash('md5').update('ours').digest('base64'));
      expect(uploads).toBe(2);
      // Someone else's object under the name is still a conflict.
      await storageFailure(gcs.put('marker', Buffer.from('theirs'), { ifNotExists: true }));
    } finally {
      await proxy.close();
    }
  });

  it('retries a read through one transient 503, also after parallel deletes', async () => {
    const bucket = await freshBucket('flaky');
    const gcs = store(bucket);
    const extra = Array.from({ length: 8 }, (_, index) => `extra/${index}`);
    await Promise.all(['k', ...extra].map((key) => gcs.put(key, Buffer.from('value'))));
    await gcs.deleteMany(extra);
    await control.setFault(bucket, { status: 503, times: 1 });
    expect(Buffer.from(await gcs.get('k')).toString()).toBe('value');
    expect((await control.stats(bucket)).requests['GET media']).toBe(2);
  });

  it('retries a delete through one transient 503', async () => {
    const bucket = await freshBucket('flakydel');
    const gcs = store(bucket);
    await gcs.put('k', Buffer.from('value'));
    await control.setFault(bucket, { status: 503, times: 1 });
    await gcs.delete('k');
    expect((await control.stats(bucket)).requests['DELETE object']).toBe(2);
    expect((await gcs.list('')).objects).toEqual([]);
  });

  it('maps 412 on a conditional create to PreconditionFailed', async () => {
    const bucket = await freshBucket('e412');
    const gcs = store(bucket);
    await gcs.put('marker', Buffer.from('first'), { ifNotExists: true });
    const error = await storageFailure(gcs.put('marker', Buffer.from('second'), { ifNotExists: true }));
    expect(error.code).toBe('PreconditionFailed');
  });

  it('reports the md5 GCS computed on put', async () => {
    const bucket = await freshBucket('md5');
    const result = await store(bucket).put('k', Buffer.from('hello'));
    expect(result.contentMd5).toBe('XUFAKrxLKna5cZ2REBfFkg==');
  });

  it('settles a stalled call at its deadline as Timeout', async () => {
    const bucket = await freshBucket('stall');
    await control.setFault(bucket, { delayMs: 3000, times: 1 });
    const error = await storageFailure(store(bucket).stat('k', { signal: AbortSignal.timeout(100) }));
    expect(error.code).toBe('Timeout');
  });

  it('keeps at most maxConnections requests in flight', async () => {
    const bucket = await freshBucket('limit');
    await control.setFault(bucket, { delayMs: 40, times: 12 });
    const gcs = store(bucket, project, 3);
    await Promise.allSettled(Array.from({ length: 12 }, (_, index) => gcs.stat(`k${index}`)));
    expect((await control.stats(bucket)).maxInFlight).toBe(3);
  });

  it('treats a bucket check answered 403 by listing, for object-only roles', async () => {
    const bucket = await freshBucket('objonly');
    const gcs = store(bucket);
    // Hidden objects answer 403 on reads; the bucket GET itself is made to fail once.
    await control.setFault(bucket, { status: 403, times: 1 });
    expect(await gcs.bucketExists()).toBe(true);
  });

  it('refuses anonymous bucket creation without a project', async () => {
    const error = await storageFailure(
      new GcsStore('x', clientSettings(SecretBag.empty(), endpoint)).createBucket(),
    );
    expect(error.code).toBe('InvalidConfig');
    expect(error.hint).toMatch(/GOOGLE_PROJECT_ID/);
  });
});

describe('GCS service-account keys (contract fake of the GCS JSON API)', () => {
  let trusted: ReturnType<typeof serviceAccountKey>;
  beforeAll(async () => {
    trusted = serviceAccountKey();
    await control.trustKey(trusted.email, trusted.publicKeyPem);
  });

  it('signs requests with the key from the secret, which the fake verifies', async () => {
    const credentials = new SecretBag([['GOOGLE_SERVICE_ACCOUNT_JSON_KEY', trusted.json]], 'test');
    const settings = clientSettings(credentials, endpoint);
    expect(settings.mode).toBe('service-account');
    expect(settings.projectId).toBe(fake.projectId);
    const gcs = new GcsStore(fake.bucket as string, settings);
    const key = `signed/${randomUUID()}`;
    await gcs.put(key, Buffer.from('signed'));
    expect(Buffer.from(await gcs.get(key)).toString()).toBe('signed');
    await gcs.delete(key);
  });

  it('maps a key GCS does not know to Unauthenticated', async () => {
    const stranger = serviceAccountKey();
    const credentials = new SecretBag([['GOOGLE_SERVICE_ACCOUNT_JSON_KEY', stranger.json]], 'test');
    const error = await storageFailure(
      new GcsStore(fake.bucket as string, clientSettings(credentials, endpoint)).list(''),
    );
    expect(error.code).toBe('Unauthenticated');
    expect(JSON.stringify(error)).not.toContain('PRIVATE KEY');
  });

  const pem = (): string => JSON.parse(serviceAccountKey().json).private_key as string;
  const malformed: [string, string, RegExp][] = [
    ['not JSON', `{"private_key": "${'SECRETMATERIAL'.repeat(4)}`, /is not JSON/],
    [
      'base64 of the key',
      Buffer.from('{"type":"service_account","private_key":"SECRETMATERIAL"}').toString('base64'),
      /is not JSON/,
    ],
    ['JSON but not an object', '["SECRETMATERIAL"]', /not an object/],
    [
      'missing fields',
      JSON.stringify({ type: 'service_account', private_key_id: 'SECRETMATERIAL' }),
      /missing client_email and private_key/,
    ],
    [
      'missing private_key',
      JSON.stringify({ client_email: 'a@b', private_key_id: 'SECRETMATERIAL' }),
      /missing private_key/,
    ],
    [
      'a PEM that is no key',
      JSON.stringify({
        client_email: 'a@b',
        private_key: '-----BEGIN PRIVATE KEY-----\nSECRETMATERIAL\n-----END PRIVATE KEY-----\n',
      }),
      /not a PEM private key/,
    ],
    [
      'another credential type',
      JSON.stringify({
        type: 'authorized_user',
        refresh_token: 'SECRETMATERIAL',
        client_email: 'a@b',
        private_key: pem(),
      }),
      /"authorized_user" credential/,
    ],
  ];
  for (const [label, raw, reason] of malformed) {
    it(`refuses a malformed key (${label}) as InvalidConfig without echoing it`, async () => {
      const credentials = new SecretBag([['GOOGLE_SERVICE_ACCOUNT_JSON_KEY', raw]], 'test');
      const error = await storageFailure(
        createStore({ provider: 'gcs', bucket: 'b' }, { credentials, endpoint }),
      );
      expect(error.code).toBe('InvalidConfig');
      expect(error.message).toMatch(reason);
      const shown = JSON.stringify(error) + String(error.stack);
      expect(shown).not.toContain('SECRETMATERIAL');
      expect(shown).not.toContain(raw.slice(0, 30));
      expect(() => parseServiceAccountKey(raw)).toThrow(StorageError);
    });
  }

  it('refuses to send a key’s tokens to a plain-http endpoint that is not loopback', async () => {
    const credentials = new SecretBag([['GOOGLE_SERVICE_ACCOUNT_JSON_KEY', trusted.json]], 'test');
    const error = await storageFailure(
      createStore({ provider: 'gcs', bucket: 'b' }, { credentials, endpoint: 'http://storage.example.com' }),
    );
    expect(error.code).toBe('InvalidConfig');
    expect(error.message).toMatch(/cleartext/);
  });

  it('uses Application Default Credentials without a key, and no auth for a plain-http emulator', () => {
    expect(clientSettings(SecretBag.empty(), undefined).mode).toBe('application-default');
    expect(clientSettings(SecretBag.empty(), 'https://storage.example.com').mode).toBe('application-default');
    expect(clientSettings(SecretBag.empty(), endpoint).mode).toBe('anonymous');
  });
});
