/**
 * Swift authentication: the mode the secret's keys choose (and what is missing when they are
 * inconsistent), catalog endpoint selection, and v1 / token authentication against the real Swift
 * all-in-one: wrong key, bogus token, missing container, private CA over TLS, options.endpoint.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitUntil } from './support/process.js';
import { isStorageError, type StorageError } from '../lib/backends/errors.js';
import { pickObjectStoreEndpoint, planSwiftAuth } from '../lib/backends/swift/auth.js';
import type { SwiftStore } from '../lib/backends/swift/store.js';
import {
  bag,
  createContainer,
  readObject,
  swiftServer,
  swiftStore,
  tempauthToken,
  uniqueContainer,
  v1Secret,
} from './support/swift.js';
import { storageFailure } from './support/failure.js';

function planError(values: Record<string, string>, endpoint?: string): StorageError {
  try {
    planSwiftAuth(bag(values), endpoint);
  } catch (error) {
    expect(isStorageError(error, 'InvalidConfig'), String(error)).toBe(true);
    return error as StorageError;
  }
  throw new Error('expected InvalidConfig');
}

const KEYSTONE = 'https://keystone.example:5000';

describe('swift auth mode from the secret keys', () => {
  it.each([
    [{ ST_AUTH: 'http://swift.example/auth/v1.0', ST_USER: 'a:b', ST_KEY: 'k' }, 'v1'],
    [{ OS_STORAGE_URL: 'http://swift.example/v1/AUTH_a', OS_AUTH_TOKEN: 't' }, 'token'],
    [
      {
        OS_AUTH_URL: `${KEYSTONE}/v2.0`,
        OS_USERNAME: 'u',
        OS_PASSWORD: 'p',
        OS_TENANT_NAME: 't',
        OS_REGION_NAME: 'r',
      },
      'keystone-v2',
    ],
    [
      { OS_AUTH_URL: `${KEYSTONE}/v2.0/`, OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_TENANT_ID: 't' },
      'keystone-v2',
    ],
    [
      {
        OS_AUTH_URL: `${KEYSTONE}/v3`,
        OS_USERNAME: 'u',
        OS_PASSWORD: 'p',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_NAME: 'p',
        OS_PROJECT_DOMAIN_NAME: 'Default',
      },
      'keystone-v3',
    ],
    // No version in the URL: v3-only keys decide.
    [{ OS_AUTH_URL: KEYSTONE, OS_USER_ID: 'u1', OS_PASSWORD: 'p', OS_PROJECT_ID: 'p1' }, 'keystone-v3'],
    [
      {
        OS_AUTH_URL: `${KEYSTONE}/v3`,
        OS_APPLICATION_CREDENTIAL_ID: 'id',
        OS_APPLICATION_CREDENTIAL_SECRET: 's',
      },
      'application-credential',
    ],
    [
      {
        OS_AUTH_URL: `${KEYSTONE}/v3`,
        OS_APPLICATION_CREDENTIAL_NAME: 'n',
        OS_APPLICATION_CREDENTIAL_SECRET: 's',
        OS_USERNAME: 'u',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_REGION_NAME: 'RegionOne',
      },
      'application-credential',
    ],
    // A ready token wins over a complete password set; RESTIC_PASSWORD and CA_CERT_DATA are not auth keys.
    [
      {
        OS_STORAGE_URL: 'http://swift.example/v1/AUTH_a',
        OS_AUTH_TOKEN: 't',
        ST_AUTH: 'http://swift.example/auth/v1.0',
        ST_USER: 'a:b',
        ST_KEY: 'k',
        RESTIC_PASSWORD: 'r',
      },
      'token',
    ],
  ])('%o → %s', (values, mode) => {
    expect(planSwiftAuth(bag(values)).mode).toBe(mode);
  });

  it('takes options.endpoint as the storage URL of a bare OS_AUTH_TOKEN', () => {
    expect(planSwiftAuth(bag({ OS_AUTH_TOKEN: 't' }), 'http://swift.example/v1/AUTH_a').mode).toBe('token');
  });

  it('names the missing keys for each mode that was started', () => {
    expect(planError({ ST_USER: 'a:b' }).message).toBe(
      'the Swift credentials are incomplete: Swift v1 auth (ST_AUTH) is missing ST_AUTH, ST_KEY',
    );
    expect(planError({ OS_AUTH_TOKEN: 'secret-token-value' }).message).toContain(
      'token (OS_AUTH_TOKEN + OS_STORAGE_URL) is missing OS_STORAGE_URL',
    );
    const v3 = planError({
      OS_AUTH_URL: `${KEYSTONE}/v3`,
      OS_USERNAME: 'u',
      OS_PASSWORD: 'hunter2-password',
      OS_PROJECT_NAME: 'p',
    });
    expect(v3.message).toBe(
      'the Swift credentials are incomplete: Keystone v3 password is missing OS_USER_DOMAIN_NAME or OS_USER_DOMAIN_ID, OS_PROJECT_DOMAIN_NAME or OS_PROJECT_DOMAIN_ID',
    );
    expect(v3.message).not.toContain('hunter2');
    expect(planError({ OS_AUTH_URL: `${KEYSTONE}/v2.0`, OS_USERNAME: 'u', OS_PASSWORD: 'p' }).message).toBe(
      'the Swift credentials are incomplete: Keystone v2 password is missing OS_TENANT_ID or OS_TENANT_NAME',
    );
    expect(
      planError({ OS_APPLICATION_CREDENTIAL_NAME: 'n', OS_APPLICATION_CREDENTIAL_SECRET: 's' }).message,
    ).toBe(
      'the Swift credentials are incomplete: Keystone v3 application credential is missing OS_AUTH_URL, OS_USERNAME (with OS_USER_DOMAIN_NAME) or OS_USER_ID',
    );
    // Two modes half-given: both are reported.
    const both = planError({
      ST_AUTH: 'http://swift.example/auth/v1.0',
      OS_AUTH_URL: `${KEYSTONE}/v3`,
      OS_PASSWORD: 'p',
    });
    expect(both.message).toContain(
      'Keystone v3 password is missing OS_USERNAME (with OS_USER_DOMAIN_NAME) or OS_USER_ID',
    );
    expect(both.message).toContain('Swift v1 auth (ST_AUTH) is missing ST_USER, ST_KEY');
  });

  it('cannot tell the Keystone version without a versioned URL or version-specific keys', () => {
    expect(planError({ OS_AUTH_URL: KEYSTONE, OS_USERNAME: 'u', OS_PASSWORD: 'p' }).message).toContain(
      'a version in OS_AUTH_URL (…/v3 or …/v2.0)',
    );
  });

  it('says when the secret holds no Swift keys at all', () => {
    const error = planError({ RESTIC_PASSWORD: 'r' });
    expect(error.message).toBe('the secret (test) holds no Swift credentials');
    expect(error.hint).toContain('ST_AUTH/ST_USER/ST_KEY');
  });

  it('treats empty values as absent', () => {
    expect(
      planError({ ST_AUTH: 'http://swift.example/auth/v1.0', ST_USER: 'a:b', ST_KEY: '' }).message,
    ).toContain('missing ST_KEY');
  });
});

describe('swift catalog endpoint selection', () => {
  const catalog = [
    {
      type: 'identity',
      endpoints: [{ region: 'RegionOne', interface: 'public', url: 'https://id.example' }],
    },
    {
      type: 'object-store',
      endpoints: [
        { region: 'RegionOne', interface: 'public', url: 'https://one.example/v1/AUTH_p' },
        { region: 'RegionOne', interface: 'internal', url: 'http://one.internal/v1/AUTH_p' },
        { region: 'RegionTwo', interface: 'public', url: 'https://two.example/v1/AUTH_p' },
      ],
    },
  ];

  it('picks by region and interface', () => {
    expect(pickObjectStoreEndpoint(catalog, 'RegionTwo', 'public')).toBe('https://two.example/v1/AUTH_p');
    expect(pickObjectStoreEndpoint(catalog, 'RegionOne', 'internal')).toBe('http://one.internal/v1/AUTH_p');
    expect(pickObjectStoreEndpoint(catalog, undefined, 'public')).toBe('https://one.example/v1/AUTH_p');
  });

  it('lists the regions that exist when the region has no object-store endpoint', () => {
    expect(() => pickObjectStoreEndpoint(catalog, 'RegionThree', 'public')).toThrow(
      'the Keystone catalog has no object-store endpoint in region "RegionThree"; regions with one: RegionOne, RegionTwo',
    );
  });

  it('lists the interfaces when the interface is missing, and the services when Swift is', () => {
    expect(() => pickObjectStoreEndpoint(catalog, 'RegionTwo', 'internal')).toThrow('interfaces: public');
    expect(() => pickObjectStoreEndpoint(catalog.slice(0, 1), 'RegionOne', 'public')).toThrow(
      'the Keystone catalog has no object-store (Swift) endpoint (services: identity)',
    );
  });
});

describe('swift v1 and token auth against the real Swift all-in-one', () => {
  it('authenticates with v1 and round-trips keys that need encoding', async () => {
    const container = uniqueContainer('v1');
    await createContainer(container);
    const store = (await swiftStore(container, v1Secret())) as SwiftStore;
    expect(store.authMode).toBe('v1');
    const keys = ['dir with space/ü näme.txt', 'percent%20literal', 'plus+and&amp?query#hash'];
    for (const key of keys) await store.put(key, Buffer.from(key));
    for (const key of keys) expect(await readObject(container, key)).toBe(key);
    const listed = await store.list('');
    expect(listed.objects.map((object) => object.key).sort()).toEqual([...keys].sort());
    await store.deleteMany(keys);
    expect(store.capabilities.batchDelete).toBe(true);
    for (const key of keys) expect(await readObject(container, key)).toBeUndefined();
  });

  it('returns the MD5 of what Swift stored as contentMd5', async () => {
    const container = uniqueContainer('md5');
    await createContainer(container);
    const store = await swiftStore(container, v1Secret());
    const result = await store.put('object', Buffer.from('hello swift'));
    expect(result.contentMd5).toBe(createHash('md5').update('hello swift').digest('base64'));
    expect((await store.stat('object')).contentMd5).toBe(result.contentMd5);
  });

  it('reports a wrong key as Unauthenticated, without the key', async () => {
    const store = await swiftStore(uniqueContainer('wrong'), v1Secret({ ST_KEY: 'not-the-testing-key' }));
    const error = await storageFailure(store.bucketExists());
    expect(error.code).toBe('Unauthenticated');
    expect(error.operation).toBe('authenticate');
    expect(error.hint).toContain('ST_USER and ST_KEY');
    expect(JSON.stringify(error)).not.toContain('not-the-testing-key');
  });

  it('reports an auth URL that is not Swift v1 auth as InvalidConfig', async () => {
    const swift = swiftServer();
    const store = await swiftStore(
      uniqueContainer('badurl'),
      v1Secret({ ST_AUTH: `${swift.proxyUrl}/nowhere/v1.0` }),
    );
    const error = await storageFailure(store.list(''));
    expect(error.code).toBe('InvalidConfig');
  });

  it('reports a closed port as Unreachable', async () => {
    const store = await swiftStore(
      uniqueContainer('closed'),
      v1Secret({ ST_AUTH: 'http://127.0.0.1:9/auth/v1.0' }),
    );
    const error = await storageFailure(store.bucketExists());
    expect(error.code).toBe('Unreachable');
  });

  it("gives up at the caller's deadline when the server never answers (Timeout)", async () => {
    // Reads and never answers; reading lets it see the client close its socket after the abort.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const store = await swiftStore(
        uniqueContainer('silent'),
        v1Secret({ ST_AUTH: `http://127.0.0.1:${port}/auth/v1.0` }),
      );
      const error = await storageFailure(store.bucketExists({ signal: AbortSignal.timeout(300) }));
      expect(error.code).toBe('Timeout');
      expect(error.retryable).toBe(true);
      // The aborted request leaves no connection open.
      await waitUntil(
        async () => sockets.length > 0 && sockets.every((socket) => socket.destroyed),
        10_000,
        'the aborted connection to close',
      );
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('uses a ready token (token mode), and cannot renew a bogus one', async () => {
    const container = uniqueContainer('token');
    await createContainer(container);
    const { token, storageUrl } = await tempauthToken();
    const store = (await swiftStore(container, {
      OS_STORAGE_URL: storageUrl,
      OS_AUTH_TOKEN: token,
    })) as SwiftStore;
    expect(store.authMode).toBe('token');
    await store.put('by-token', Buffer.from('ok'));
    expect(await readObject(container, 'by-token')).toBe('ok');

    const bogus = await swiftStore(container, {
      OS_STORAGE_URL: storageUrl,
      OS_AUTH_TOKEN: 'AUTH_tkbogus0000',
    });
    const error = await storageFailure(bogus.get('by-token'));
    expect(error.code).toBe('Unauthenticated');
    expect(error.hint).toContain('OS_AUTH_TOKEN');
  });

  it('takes options.endpoint as the storage URL', async () => {
    const container = uniqueContainer('endpoint');
    await createContainer(container);
    const { token, storageUrl } = await tempauthToken();
    const store = await swiftStore(container, { OS_AUTH_TOKEN: token }, storageUrl);
    await store.put('via-endpoint', Buffer.from('ok'));
    expect(await readObject(container, 'via-endpoint')).toBe('ok');
    // v1 auth answers with its own storage URL; options.endpoint replaces it.
    const elsewhere = await swiftStore(container, v1Secret(), 'http://127.0.0.1:9/v1/AUTH_test');
    expect((await storageFailure(elsewhere.stat('via-endpoint'))).code).toBe('Unreachable');
  });

  it('maps a missing container to NotFound with subject bucket on every data call', async () => {
    const store = await swiftStore(uniqueContainer('absent'), v1Secret());
    expect(await store.bucketExists()).toBe(false);
    const calls = [
      () => store.list('x/'),
      () => store.put('x/y', Buffer.from('z')),
      () => store.get('x/y'),
      () => store.stat('x/y'),
    ];
    for (const call of calls) {
      const error = await storageFailure(call());
      expect(error.code).toBe('NotFound');
      expect(error.subject).toBe('bucket');
    }
    expect((await storageFailure(store.put('x/y', Buffer.from('z'), { ifNotExists: true }))).subject).toBe(
      'bucket',
    );
  });

  it('judges a 404 by a listing running beside it: the container’s when missing, the object’s when not', async () => {
    const absent = await swiftStore(uniqueContainer('absent'), v1Secret());
    const [listed, read] = await Promise.all([
      storageFailure(absent.list('')),
      storageFailure(absent.get('x/y')),
    ]);
    expect([listed.subject, read.subject]).toEqual(['bucket', 'bucket']);

    const container = uniqueContainer('present');
    await createContainer(container);
    const present = await swiftStore(container, v1Secret());
    const [page, missing] = await Promise.all([present.list(''), storageFailure(present.get('x/y'))]);
    expect(page.objects).toEqual([]);
    expect([missing.code, missing.subject]).toEqual(['NotFound', 'object']);
  });

  it('trusts a private CA from CA_CERT_DATA over TLS, and fails with TlsError without it', async () => {
    const swift = swiftServer();
    const ca = await readFile(swift.caFile, 'utf8');
    const container = uniqueContainer('tls');
    await createContainer(container);
    const store = await swiftStore(container, v1Secret({ ST_AUTH: swift.tlsAuthUrl, CA_CERT_DATA: ca }));
    await store.put('over-tls', Buffer.from('secure'));
    expect(Buffer.from(await store.get('over-tls')).toString()).toBe('secure');

    const untrusted = await swiftStore(container, v1Secret({ ST_AUTH: swift.tlsAuthUrl }));
    const error = await storageFailure(untrusted.bucketExists());
    expect(error.code).toBe('TlsError');
  });

  it('refuses keys reserved for create-if-absent claims', async () => {
    const store = await swiftStore(uniqueContainer('claims'), v1Secret());
    for (const key of ['a/.backupstorage-claims-x/1', 'a/x.backupstorage-claim-1'])
      expect((await storageFailure(store.put(key, Buffer.from('')))).code).toBe('InvalidConfig');
  });
});
