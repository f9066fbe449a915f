/**
 * Keystone v2, v3 and application credentials through a contract fake of Keystone's token API
 * (test/fakes/keystone.ts). The fake's catalog points at the real Swift all-in-one and every token it
 * hands out is a real tempauth token, so each data call below is served by the real Swift.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearSwiftSessions } from '../lib/backends/swift/auth.js';
import type { SwiftStore } from '../lib/backends/swift/store.js';
import { KEYSTONE_IDENTITY, startKeystoneFake, type KeystoneFake } from './fakes/keystone.js';
import { createContainer, readObject, swiftServer, swiftStore, uniqueContainer } from './support/swift.js';
import { storageFailure } from './support/failure.js';

const { user, project, domain, applicationCredential, regions } = KEYSTONE_IDENTITY;

let keystone: KeystoneFake;
const container = uniqueContainer('keystone');

function v3Secret(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    OS_AUTH_URL: `${keystone.url}/v3`,
    OS_USERNAME: user.name,
    OS_PASSWORD: user.password,
    OS_USER_DOMAIN_NAME: domain.name,
    OS_PROJECT_NAME: project.name,
    OS_PROJECT_DOMAIN_NAME: domain.name,
    OS_REGION_NAME: regions.real,
    ...overrides,
  };
}

function v2Secret(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    OS_AUTH_URL: `${keystone.url}/v2.0`,
    OS_USERNAME: user.name,
    OS_PASSWORD: user.password,
    OS_TENANT_NAME: project.name,
    OS_REGION_NAME: regions.real,
    ...overrides,
  };
}

/** Writes through the adapter, reads back directly from Swift: the data path is the real one. */
async function roundTrip(secret: Record<string, string>, mode: string): Promise<void> {
  const store = (await swiftStore(container, secret)) as SwiftStore;
  expect(store.authMode).toBe(mode);
  const key = `${mode}/${Math.random().toString(16).slice(2)}`;
  await store.put(key, Buffer.from(mode));
  expect(await readObject(container, key)).toBe(mode);
  expect((await store.list(`${mode}/`)).objects.map((object) => object.key)).toContain(key);
}

describe('swift with Keystone (contract fake of the token API, real Swift data path)', () => {
  beforeAll(async () => {
    const swift = swiftServer();
    keystone = await startKeystoneFake({
      swiftAuthUrl: swift.authUrl,
      swiftUser: swift.user,
      swiftKey: swift.key,
    });
    await createContainer(container);
  });
  afterAll(async () => {
    await keystone?.close();
  });
  beforeEach(() => {
    clearSwiftSessions();
  });

  it('authenticates with Keystone v3 by user, project and domain names', async () => {
    await roundTrip(v3Secret(), 'keystone-v3');
  });

  it('authenticates with Keystone v3 by user and project IDs, from an unversioned auth URL', async () => {
    await roundTrip(
      {
        OS_AUTH_URL: keystone.url,
        OS_USER_ID: user.id,
        OS_PASSWORD: user.password,
        OS_PROJECT_ID: project.id,
      },
      'keystone-v3',
    );
  });

  it('authenticates with Keystone v2 by tenant name and by tenant ID', async () => {
    await roundTrip(v2Secret(), 'keystone-v2');
    clearSwiftSessions();
    const { OS_TENANT_NAME: _name, ...byId } = v2Secret({ OS_TENANT_ID: project.id });
    await roundTrip(byId, 'keystone-v2');
  });

  it('authenticates with an application credential by ID, and by name with its owner', async () => {
    await roundTrip(
      {
        OS_AUTH_URL: `${keystone.url}/v3`,
        OS_APPLICATION_CREDENTIAL_ID: applicationCredential.id,
        OS_APPLICATION_CREDENTIAL_SECRET: applicationCredential.secret,
      },
      'application-credential',
    );
    clearSwiftSessions();
    await roundTrip(
      {
        OS_AUTH_URL: `${keystone.url}/v3`,
        OS_APPLICATION_CREDENTIAL_NAME: applicationCredential.name,
        OS_APPLICATION_CREDENTIAL_SECRET: applicationCredential.secret,
        OS_USERNAME: user.name,
        OS_USER_DOMAIN_NAME: domain.name,
        OS_REGION_NAME: regions.real,
      },
      'application-credential',
    );
  });

  it('uses the internal interface when OS_INTERFACE asks for it, and names the interfaces that exist', async () => {
    await roundTrip(v3Secret({ OS_INTERFACE: 'internal' }), 'keystone-v3');
    const store = await swiftStore(container, v3Secret({ OS_INTERFACE: 'admin' }));
    const error = await storageFailure(store.bucketExists());
    expect(error.code).toBe('InvalidConfig');
    expect(error.message).toContain(
      'no admin object-store endpoint in region "RegionOne"; interfaces: internal, public',
    );
  });

  it('reports a region without an object-store endpoint as InvalidConfig listing the regions that exist', async () => {
    for (const secret of [
      v3Secret({ OS_REGION_NAME: 'RegionNine' }),
      v2Secret({ OS_REGION_NAME: 'RegionNine' }),
    ]) {
      const store = await swiftStore(container, secret);
      const error = await storageFailure(store.list(''));
      expect(error.code).toBe('InvalidConfig');
      expect(error.message).toBe(
        'the Keystone catalog has no object-store endpoint in region "RegionNine"; regions with one: RegionOne, RegionTwo',
      );
      expect(error.hint).toContain('OS_REGION_NAME');
    }
  });

  it('goes to the region the secret names (RegionTwo is on a closed port)', async () => {
    const store = await swiftStore(container, v3Secret({ OS_REGION_NAME: regions.unreachable }));
    expect((await storageFailure(store.bucketExists())).code).toBe('Unreachable');
  });

  it('reports a wrong password or secret as Unauthenticated without echoing it', async () => {
    const cases = [
      v3Secret({ OS_PASSWORD: 'wrong-password-v3' }),
      v2Secret({ OS_PASSWORD: 'wrong-password-v2' }),
      {
        OS_AUTH_URL: `${keystone.url}/v3`,
        OS_APPLICATION_CREDENTIAL_ID: applicationCredential.id,
        OS_APPLICATION_CREDENTIAL_SECRET: 'wrong-application-secret',
      },
    ];
    for (const secret of cases) {
      const store = await swiftStore(container, secret);
      const error = await storageFailure(store.bucketExists());
      expect(error.code).toBe('Unauthenticated');
      expect(error.operation).toBe('authenticate');
      expect(JSON.stringify(error)).not.toMatch(/wrong-(password|application)/);
    }
    const unknownProject = await swiftStore(container, v3Secret({ OS_PROJECT_NAME: 'not-a-project' }));
    expect((await storageFailure(unknownProject.bucketExists())).code).toBe('Unauthenticated');
  });

  it('reports an auth URL that is not Keystone as InvalidConfig', async () => {
    const store = await swiftStore(container, v3Secret({ OS_AUTH_URL: `${keystone.url}/identity/v3` }));
    const error = await storageFailure(store.bucketExists());
    expect(error.code).toBe('InvalidConfig');
    expect(error.hint).toContain('OS_AUTH_URL');
  });

  it('logs in once for concurrent calls and for later stores with the same identity (warm function)', async () => {
    const before = keystone.issued;
    const first = await swiftStore(container, v3Secret());
    await Promise.all([
      first.bucketExists(),
      first.list(''),
      first.stat('keystone-v3/nothing').catch(() => undefined),
    ]);
    const second = await swiftStore(container, v3Secret());
    await second.bucketExists();
    expect(keystone.issued - before).toBe(1);
    // A different identity is a different session.
    await (await swiftStore(container, v2Secret())).bucketExists();
    expect(keystone.issued - before).toBe(2);
  });

  it('renews a token Swift refuses, once, and the call succeeds', async () => {
    keystone.revokeNext();
    const before = keystone.issued;
    const store = await swiftStore(container, v3Secret());
    await store.put('renewed/object', Buffer.from('after renewal'));
    expect(keystone.issued - before).toBe(2);
    expect(await readObject(container, 'renewed/object')).toBe('after renewal');
  });
});
