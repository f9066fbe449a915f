/**
 * The connection limit of a store, as one decorator (restic's `sema`): openStore wraps every store in it
 * once, so adapters keep only their protocol and no caller stacks a limit of its own. Every call waits
 * for a slot (a waiter whose signal fires leaves the queue), so a store never has more requests, and so
 * sockets, in flight than its storage's `maxConnections`, or the store's own `capabilities.connections`
 * when the storage sets none.
 *
 * `deleteMany` of a store without batch deletes is one delete per key, each taking its own slot; a
 * batching store's request takes one.
 */
import { ConcurrencyLimit, settleAll } from '../runtime/concurrency.js';
import type { ObjectStore } from './object-store.js';

export function withConnectionLimit(store: ObjectStore, connections: number): ObjectStore {
  const limit = new ConcurrencyLimit(Math.max(1, Math.floor(connections)));
  const limited: ObjectStore = {
    provider: store.provider,
    location: store.location,
    // Read through: some stores learn a capability from the server on first use (S3's conditional writes).
    get capabilities() {
      return store.capabilities;
    },
    bucketExists: (options) => limit.run(() => store.bucketExists(options), options?.signal),
    createBucket: (options) => limit.run(() => store.createBucket(options), options?.signal),
    stat: (key, options) => limit.run(() => store.stat(key, options), options?.signal),
    get: (key, options) => limit.run(() => store.get(key, options), options?.signal),
    put: (key, body, options) => limit.run(() => store.put(key, body, options), options?.signal),
    list: (prefix, options) => limit.run(() => store.list(prefix, options), options?.signal),
    delete: (key, options) => limit.run(() => store.delete(key, options), options?.signal),
    deleteMany: (keys, options) =>
      store.capabilities.batchDelete
        ? limit.run(() => store.deleteMany(keys, options), options?.signal)
        : settleAll(keys, (key) => limited.delete(key, options)),
    close: () => store.close(),
  };
  const { prepareExclusiveCreate, makeDirectories } = store;
  if (prepareExclusiveCreate)
    limited.prepareExclusiveCreate = (directory, options) =>
      limit.run(() => prepareExclusiveCreate.call(store, directory, options), options?.signal);
  if (makeDirectories)
    limited.makeDirectories = (keys, options) =>
      limit.run(() => makeDirectories.call(store, keys, options), options?.signal);
  return limited;
}
