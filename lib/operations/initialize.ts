/**
 * initialize: make the storage usable and mark it, never overwriting or deleting anything. One round
 * trip reads the prefix and the marker side by side (and lets the store learn what a conditional write
 * needs); a second writes the marker conditionally.
 */
import type { OperationRequest } from '../config/request.js';
import { isAlreadyExists } from '../backends/errors.js';
import { assertKdfStrength } from '../config/restic-options.js';
import { ConditionType } from '../status/conditions.js';
import type { OperationContext } from './context.js';
import { markerFor } from './markers/index.js';
import { attempt, isBucketMissing, recordConnectivity, type Outcome } from './probes.js';
import type { OperationResult } from '../status/result.js';
import { withStorage, type StorageStep } from './scope.js';
import type { ListPage } from '../backends/object-store.js';

const FOREIGN_DATA_SAMPLE = 10;

export async function initialize(
  request: OperationRequest,
  context: OperationContext,
  after?: StorageStep,
): Promise<OperationResult> {
  // A caller's mistake (400) before anything is opened; it covers Stash's repository and options.repositories.
  assertKdfStrength(request.options.kdf, context.config.allowWeakKdf);
  return withStorage(
    'initialize',
    request,
    context,
    async (scope) => {
      const { store, status, prefix, deadline } = scope;
      const marker = markerFor(request.storage);
      const listPrefix = () =>
        attempt(
          store,
          'list',
          () => store.list(prefix, { delimiter: '/', limit: FOREIGN_DATA_SAMPLE, signal: deadline.signal() }),
          prefix,
        );

      const [firstListing, firstPrefetched] = await status.time('inspect', () =>
        Promise.all([
          listPrefix(),
          marker.prefetch(scope),
          store.prepareExclusiveCreate?.(prefix, { signal: deadline.signal() }),
        ]),
      );
      let [listing, prefetched] = [firstListing, firstPrefetched];
      const outcomes: Outcome<unknown>[] = [listing];

      if (isBucketMissing(listing)) {
        // Where the store's "bucket" is the repository itself (a REST server's path), creating it is part
        // of creating the repository, as `restic init` does.
        if (!request.options.createBucket && !store.capabilities.resticOnly) {
          recordConnectivity(status, outcomes);
          status.set({
            type: ConditionType.BackendInitialized,
            status: 'False',
            reason: 'NotFound',
            message: `${store.location} does not exist`,
            hint:
              listing.error.hint ??
              'create the bucket/container, or call initialize with options.createBucket',
          });
          return;
        }
        const created = await status.time('createBucket', () =>
          attempt(store, 'createBucket', () => store.createBucket({ signal: deadline.signal() })),
        );
        outcomes.push(created);
        if (!created.ok && !isAlreadyExists(created.error)) {
          recordConnectivity(status, outcomes);
          status.fail(ConditionType.BackendInitialized, created.error, `cannot create ${store.location}`);
          return;
        }
        const empty: Outcome<ListPage> = { ok: true, value: { objects: [], prefixes: [] } };
        [listing, prefetched] = [created.ok ? empty : await listPrefix(), await marker.prefetch(scope)];
      }

      outcomes.push(...(await status.time('mark', () => marker.initialize(scope, prefetched, listing))));
      recordConnectivity(status, outcomes);
      // Read after the writes: some adapters learn it from the server on first use.
      status.extra.conditionalWrites = store.capabilities.conditionalWrites;
    },
    { after },
  );
}
