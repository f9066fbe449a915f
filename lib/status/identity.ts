/** The `storage` part of every response: which storage this status is about, without secrets. */
import {
  backendEndpoint,
  backendPlace,
  backendPrefix,
  displayUrl,
  type StorageFlavor,
  type StorageTarget,
} from '../config/backend.js';

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
  const place = backendPlace(backend);
  identity[place.field] = place.value;
  const endpoint = backendEndpoint(backend, endpointOverride);
  if (endpoint) identity.endpoint = displayUrl(endpoint);
  return identity;
}
