/** The `storage` part of every response: which storage this status is about, without secrets. */
import { backendPrefix, type StorageFlavor, type StorageTarget } from '../config/backend.js';

export interface StorageIdentity {
  provider: string;
  flavor: StorageFlavor;
  kind: string;
  name?: string;
  namespace?: string;
  bucket?: string;
  container?: string;
  path?: string;
  prefix: string;
  endpoint?: string;
}

/** Drops userinfo, query and fragment, so an endpoint can be shown. */
function displayEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '[invalid endpoint]';
  }
}

export function storageIdentity(target: StorageTarget, endpointOverride?: string): StorageIdentity {
  const { backend } = target;
  const identity: StorageIdentity = {
    provider: backend.provider,
    flavor: target.flavor,
    kind: target.kind,
    prefix: backendPrefix(backend),
  };
  if (target.name) identity.name = target.name;
  if (target.namespace) identity.namespace = target.namespace;
  switch (backend.provider) {
    case 'local':
      identity.path = backend.subPath ? `${backend.mountPath.replace(/\/+$/, '')}/${backend.subPath}` : backend.mountPath;
      break;
    case 's3':
    case 'gcs':
    case 'b2':
      identity.bucket = backend.bucket;
      break;
    case 'azure':
    case 'swift':
      identity.container = backend.container;
      break;
    case 'rest':
      identity.endpoint = displayEndpoint(backend.url);
      break;
  }
  const endpoint = endpointOverride ?? (backend.provider === 's3' ? backend.endpoint : undefined);
  if (endpoint) identity.endpoint = displayEndpoint(endpoint);
  return identity;
}
