/**
 * Stash's `rest {url}` backend: a restic REST server (rest-server, `rclone serve restic`). The store is
 * in store.ts, the key mapping in paths.ts, the error table in errors.ts; docs/rest.md.
 *
 * - Credentials: REST_SERVER_USERNAME / REST_SERVER_PASSWORD (the keys Stash documents), else the
 *   user:password of the URL; sent as HTTP basic auth, never part of a URL the store keeps or shows.
 * - CA_CERT_DATA: a PEM CA to trust for an https URL.
 * - `options.endpoint` replaces the URL's scheme, host and port; the repository path stays the URL's.
 */
import type { RestBackend } from '../../config/backend.js';
import { StorageError } from '../errors.js';
import type { HttpClientOptions } from '../../net/http-client.js';
import type { ObjectStore } from '../object-store.js';
import type { StoreContext } from '../object-store.js';
import { REST_PROVIDER } from './errors.js';
import { RestStore, type RestConnection } from './store.js';

export { RestStore } from './store.js';

function invalidUrl(message: string): StorageError {
  return new StorageError({
    code: 'InvalidConfig',
    provider: REST_PROVIDER,
    operation: 'connect',
    message,
    hint: 'spec.backend.rest.url is the repository URL, e.g. https://rest-server.example:8000/stash/demo',
  });
}

/** The repository URL without credentials (path ending with `/`) and the basic-auth header. */
export function restConnection(
  backend: Pick<RestBackend, 'url'>,
  context: Pick<StoreContext, 'credentials' | 'endpoint'>,
): RestConnection {
  let url: URL;
  try {
    url = new URL(backend.url);
  } catch {
    throw invalidUrl('the REST server URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidUrl(`the REST server URL must be http:// or https://, not ${url.protocol}//`);
  const urlUser = decodeURIComponent(url.username);
  const urlPassword = decodeURIComponent(url.password);
  const username = context.credentials.reveal('REST_SERVER_USERNAME') ?? (urlUser || undefined);
  const password = context.credentials.reveal('REST_SERVER_PASSWORD') ?? (urlPassword || undefined);
  const base = new URL(url.href);
  base.username = '';
  base.password = '';
  base.search = '';
  base.hash = '';
  if (context.endpoint) {
    let endpoint: URL;
    try {
      endpoint = new URL(context.endpoint.includes('://') ? context.endpoint : `https://${context.endpoint}`);
    } catch {
      throw invalidUrl('options.endpoint is not a valid URL');
    }
    base.protocol = endpoint.protocol;
    base.host = endpoint.host;
  }
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
  const http: HttpClientOptions = {};
  const ca = context.credentials.reveal('CA_CERT_DATA');
  if (ca && ca.trim() !== '') http.ca = ca;
  return {
    base,
    http,
    ...(username !== undefined || password !== undefined
      ? { authorization: `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}` }
      : {}),
  };
}

export async function createStore(backend: RestBackend, context: StoreContext): Promise<ObjectStore> {
  return new RestStore(restConnection(backend, context));
}
