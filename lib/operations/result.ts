import type { StorageStatus } from '../status/conditions.js';
import type { StorageIdentity } from './identity.js';

export interface OperationResult {
  operation: string;
  storage: StorageIdentity;
  status: StorageStatus;
  [extra: string]: unknown;
}
