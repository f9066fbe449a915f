/**
 * An ObjectStore whose calls share one concurrency limit, so a walk's listings and the reads or deletes
 * it does per page together stay within the storage's `maxConnections`.
 */
import type { ObjectStore } from '../backends/object-store.js';
import { ConcurrencyLimit } from '../runtime/concurrency.js';

export function withConcurrencyLimit(store: ObjectStore, connections: number): ObjectStore {
  const limit = new ConcurrencyLimit(Math.max(1, Math.floor(connections)));
  return {
    provider: store.provider,
    location: store.location,
    capabilities: store.capabilities,
    bucketExists: (options) => limit.run(() => store.bucketExists(options), options?.signal),
    createBucket: (options) => limit.run(() => store.createBucket(options), options?.signal),
    stat: (key, options) => limit.run(() => store.stat(key, options), options?.signal),
    get: (key, options) => limit.run(() => store.get(key, options), options?.signal),
    put: (key, body, options) => limit.run(() => store.put(key, body, options), options?.signal),
    list: (prefix, options) => limit.run(() => store.list(prefix, options), options?.signal),
    delete: (key, options) => limit.run(() => store.delete(key, options), options?.signal),
    deleteMany: (keys, options) => limit.run(() => store.deleteMany(keys, options), options?.signal),
    // The wrapped store belongs to the caller, who closes it.
    close: async () => undefined,
  };
}
