/**
 * A real store behind a slow link: every listing waits `delayMs` before it is sent. With it, a walk of a
 * known number of directories takes at least (listings × delay / connections), which makes "the deadline
 * ran out before the walk finished" certain without asserting on how fast anything is.
 */
import type { ObjectStore } from '../../lib/backends/object-store.js';
import { sleep } from '../../lib/runtime/deadline.js';

export function slowListing(store: ObjectStore, delayMs: number): ObjectStore & { listings: number } {
  const slowed = {
    listings: 0,
    provider: store.provider,
    location: store.location,
    capabilities: store.capabilities,
    bucketExists: store.bucketExists.bind(store),
    createBucket: store.createBucket.bind(store),
    stat: store.stat.bind(store),
    get: store.get.bind(store),
    put: store.put.bind(store),
    delete: store.delete.bind(store),
    deleteMany: store.deleteMany.bind(store),
    close: store.close.bind(store),
    list: async (...args: Parameters<ObjectStore['list']>) => {
      slowed.listings += 1;
      await sleep(delayMs, args[1]?.signal);
      return store.list(...args);
    },
  };
  return slowed;
}
