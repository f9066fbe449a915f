import type { Phase, StorageStatus } from './conditions.js';
import type { StorageIdentity } from './identity.js';

export interface OperationResult {
  operation: string;
  storage: StorageIdentity;
  status: StorageStatus;
  /** The storage's phase before this result, when a results store remembers it (absent: first result). */
  previousPhase?: Phase;
  /** Since when the storage has been in `status.phase` (this result's time when it just changed). */
  since?: string;
  [extra: string]: unknown;
}
