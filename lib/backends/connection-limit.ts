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
import { ConcurrencyLimit } from '../runtime/concurrency.js';
import { unknownError, type StorageOperation } from './errors.js';
import { deleteEach, type CallOptions, type ObjectStore } from './object-store.js';

export function withConnectionLimit(store: ObjectStore, connections: number): ObjectStore {
  const limit = new ConcurrencyLimit(Math.max(1, Math.floor(connections)));
  // A call whose deadline fires while it waits for a slot fails as the store's own calls do (a Timeout
  // StorageError naming the operation), not with the bare abort reason; what the store throws passes as is.
  const run = async <T>(
    operation: StorageOperation,
    options: CallOptions | undefined,
    call: () => Promise<T>,
    key?: string,
  ): Promise<T> => {
    let started = false;
    try {
      return await limit.run(() => {
        started = true;
        return call();
      }, options?.signal);
    } catch (error) {
      throw started ? error : unknownError(error, store.provider, operation, key);
    }
  };
  const limited: ObjectStore = {
    provider: store.provider,
    location: store.location,
    // Read through: some stores learn a capability from the server on first use (S3's conditional writes).
    get capabilities() {
      return store.capabilities;
    },
    bucketExists: (options) => run('bucketExists', options, () => store.bucketExists(options)),
    createBucket: (options) => run('createBucket', options, () => store.createBucket(options)),
    stat: (key, options) => run('stat', options, () => store.stat(key, options), key),
    get: (key, options) => run('get', options, () => store.get(key, options), key),
    put: (key, body, options) => run('put', options, () => store.put(key, body, options), key),
    list: (prefix, options) => run('list', options, () => store.list(prefix, options)),
    delete: (key, options) => run('delete', options, () => store.delete(key, options), key),
    deleteMany: (keys, options) =>
      store.capabilities.batchDelete
        ? run('delete', options, () => store.deleteMany(keys, options))
        : deleteEach(limited, keys, options),
    close: () => store.close(),
  };
  const { prepareExclusiveCreate, makeDirectories } = store;
  if (prepareExclusiveCreate)
    limited.prepareExclusiveCreate = (directory, options) =>
      run('put', options, () => prepareExclusiveCreate.call(store, directory, options));
  if (makeDirectories)
    limited.makeDirectories = (keys, options) =>
      run('put', options, () => makeDirectories.call(store, keys, options));
  return limited;
}
