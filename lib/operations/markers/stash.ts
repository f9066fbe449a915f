/**
 * Stash writes no marker file: its marker is the restic repository at the bucket/prefix (the restic
 * issue adds creating and opening it). Until a repository is asked for, initializing a Stash backend
 * means proving the prefix writable, which is what restic init will need.
 */
import { ConditionType, KubeStashReason } from '../../status/conditions.js';
import { CLEANUP_RESERVE_MS } from '../context.js';
import { writeProbe } from '../probes.js';
import type { StorageMarker } from './marker.js';

export const stashMarker: StorageMarker<undefined> = {
  prefetch: async () => undefined,

  async initialize(scope) {
    const probe = await writeProbe(scope.store, scope.prefix, scope.deadline, scope.deadline.reserve(-CLEANUP_RESERVE_MS));
    if (probe.ok) {
      scope.status.ok(
        ConditionType.BackendInitialized,
        KubeStashReason.BackendInitializationSucceeded,
        'Backend is writable; Stash keeps no marker file (its restic repository is the marker).',
      );
    } else {
      scope.status.fail(ConditionType.BackendInitialized, probe.error, 'the prefix is not writable');
    }
    return [probe];
  },

  verify: async () => [],
};
