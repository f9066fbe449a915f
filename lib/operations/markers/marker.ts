/**
 * A storage marker is what says "this storage is initialized": KubeStash's metadata.yaml, or for Stash
 * the restic repository itself. initialize and check are written once; the marker is the only part
 * that differs between the API families, and it never names a provider.
 */
import type { ListPage, ObjectStore } from '../../backends/object-store.js';
import type { OperationRequest } from '../../config/request.js';
import type { SecretBag } from '../../credentials/secret.js';
import type { StatusBuilder } from '../../status/conditions.js';
import type { OperationContext } from '../context.js';
import type { Outcome } from '../probes.js';
import type { Deadline } from '../../runtime/deadline.js';

export interface MarkerScope {
  store: ObjectStore;
  request: OperationRequest;
  context: OperationContext;
  status: StatusBuilder;
  credentials: SecretBag;
  /** The storage's key prefix (`` for the root). */
  prefix: string;
  /** The operation's deadline (the invocation's, less the cleanup reserve). */
  deadline: Deadline;
}

export interface StorageMarker<Prefetched = unknown> {
  /** Reads started beside initialize's listing, so they cost no extra round trip. Never throws. */
  prefetch(scope: MarkerScope): Promise<Prefetched>;
  /**
   * Creates the marker if absent (conditionally: never overwriting), or accepts an existing one.
   * `listing` is the first page under the prefix. Sets BackendInitialized; returns the outcomes of its
   * calls so reachability and authentication can be judged from them.
   */
  initialize(
    scope: MarkerScope,
    prefetched: Prefetched,
    listing: Outcome<ListPage>,
  ): Promise<Outcome<unknown>[]>;
  /** check: verifies the marker (runs beside the listing and the write probe). Sets its conditions. */
  verify(scope: MarkerScope): Promise<Outcome<unknown>[]>;
}
