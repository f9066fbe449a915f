/** Shared by the Swift tests: the real Swift all-in-one's info, credentials in each form, containers. */
import { randomUUID } from 'node:crypto';
import { SecretBag } from '../../lib/credentials/secret.js';
import { createStore } from '../../lib/backends/swift/store.js';
import type { ObjectStore } from '../../lib/backends/object-store.js';
import { serverInfo } from './servers.js';

export function swiftServer() {
  const info = serverInfo('swift');
  return {
    authUrl: info.authUrl as string,
    user: info.user as string,
    key: info.key as string,
    storageUrl: info.storageUrl as string,
    proxyUrl: info.proxyUrl as string,
    tlsAuthUrl: info.tlsAuthUrl as string,
    caFile: info.caFile as string,
  };
}

export function v1Secret(overrides: Record<string, string> = {}): Record<string, string> {
  const swift = swiftServer();
  return { ST_AUTH: swift.authUrl, ST_USER: swift.user, ST_KEY: swift.key, ...overrides };
}

export function bag(values: Record<string, string>, source = 'test'): SecretBag {
  return new SecretBag(Object.entries(values), source);
}

export function uniqueContainer(label: string): string {
  return `bsf-${label}-${randomUUID().slice(0, 8)}`;
}

/** A real tempauth token, straight from Swift's v1 auth (not through the adapter). */
export async function tempauthToken(): Promise<{ token: string; storageUrl: string }> {
  const swift = swiftServer();
  const response = await fetch(swift.authUrl, {
    headers: { 'X-Auth-User': swift.user, 'X-Auth-Key': swift.key },
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  const token = response.headers.get('x-auth-token');
  const storageUrl = response.headers.get('x-storage-url');
  if (!response.ok || !token || !storageUrl) throw new Error(`tempauth answered HTTP ${response.status}`);
  return { token, storageUrl };
}

/** Creates a container directly over Swift's API (fixtures must not depend on the adapter under test). */
export async function createContainer(name: string): Promise<void> {
  const { token, storageUrl } = await tempauthToken();
  const response = await fetch(`${storageUrl}/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': token },
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  if (response.status !== 201 && response.status !== 202)
    throw new Error(`container PUT answered HTTP ${response.status}`);
}

/** Reads an object directly over Swift's API; undefined when it does not exist. */
export async function readObject(container: string, key: string): Promise<string | undefined> {
  const { token, storageUrl } = await tempauthToken();
  const path = key.split('/').map(encodeURIComponent).join('/');
  const response = await fetch(`${storageUrl}/${encodeURIComponent(container)}/${path}`, {
    headers: { 'X-Auth-Token': token },
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`object GET answered HTTP ${response.status}`);
  return text;
}

export function swiftStore(
  container: string,
  secret: Record<string, string>,
  endpoint?: string,
): Promise<ObjectStore> {
  return createStore({ provider: 'swift', container }, { credentials: bag(secret), endpoint });
}

/** Every object name in a container, listed directly over Swift's API; undefined when it does not exist. */
export async function listNames(container: string): Promise<string[] | undefined> {
  const { token, storageUrl } = await tempauthToken();
  const response = await fetch(`${storageUrl}/${encodeURIComponent(container)}?format=json`, {
    headers: { 'X-Auth-Token': token },
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`container GET answered HTTP ${response.status}`);
  return text === '' ? [] : (JSON.parse(text) as { name: string }[]).map((entry) => entry.name);
}
