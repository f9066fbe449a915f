/**
 * Stash writes no marker file: its marker is the restic repository at the bucket/prefix, opened with
 * RESTIC_PASSWORD from the storage secret. initialize creates it when absent (conditionally, never
 * overwriting; an existing one is verified instead), check verifies it, and the storage is Ready only
 * when the repository opens with the password. `status.repositories[0]` reports what it holds.
 */
import { ConditionType, KubeStashReason } from '../../status/conditions.js';
import { passwordFrom, processRepository, type RepositoryMode } from '../repositories.js';
import type { Outcome } from '../probes.js';
import type { MarkerScope, StorageMarker } from './marker.js';

async function repositoryMarker(scope: MarkerScope, mode: RepositoryMode): Promise<Outcome<unknown>[]> {
  const { report, outcomes } = await processRepository(
    scope,
    scope.prefix,
    passwordFrom(scope.credentials, 'the storage secret'),
    mode,
  );
  for (const condition of report.conditions) {
    scope.status.set({
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message: condition.message,
      hint: condition.hint,
      severity: condition.severity,
    });
  }
  const repository = report.conditions.find(
    (condition) => condition.severity === undefined && condition.status !== 'True',
  );
  if (report.phase === 'Ready') {
    scope.status.ok(
      ConditionType.BackendInitialized,
      KubeStashReason.BackendInitializationSucceeded,
      report.created
        ? 'Created the restic repository that marks this Stash backend.'
        : 'The restic repository opens with RESTIC_PASSWORD.',
    );
  } else {
    scope.status.set({
      type: ConditionType.BackendInitialized,
      status: 'False',
      reason: repository?.reason ?? KubeStashReason.BackendInitializationFailed,
      message: `the restic repository is not usable: ${repository?.message ?? 'unknown problem'}`,
      hint: repository?.hint,
    });
  }
  scope.status.extra.repositories = [report];
  return outcomes;
}

export const stashMarker: StorageMarker<undefined> = {
  prefetch: async () => undefined,
  initialize: (scope) => repositoryMarker(scope, 'initialize'),
  verify: (scope) => repositoryMarker(scope, 'verify'),
};
