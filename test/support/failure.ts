/** Awaiting a call that must fail with a StorageError, for the adapters' error-table tests. */
import { expect } from 'vitest';
import { isStorageError, type StorageError } from '../../lib/backends/errors.js';

/** The StorageError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function storageFailure(promise: Promise<unknown>): Promise<StorageError> {
  const outcome = await promise.then(
    () => ({ failed: false as const }),
    (reason: unknown) => ({ failed: true as const, reason }),
  );
  if (!outcome.failed) throw new Error('expected a StorageError, but the call succeeded');
  expect(isStorageError(outcome.reason), `expected a StorageError, got ${String(outcome.reason)}`).toBe(true);
  return outcome.reason as StorageError;
}
