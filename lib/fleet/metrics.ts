/**
 * What a fleet check reports to metrics and logs, kept free of any metrics library: the handler turns
 * these into CloudWatch EMF (Powertools Metrics), dimensioned by provider.
 */
import type { StorageIdentity } from '../status/identity.js';
import type { Log } from '../runtime/log.js';
import type { FleetEntryResult } from './summary.js';

export interface CheckMeasurement {
  provider: string;
  /** 1 when Ready, 0 otherwise. */
  ready: 0 | 1;
  durationMs: number;
  /** Per-step latency (credentials, connect, list, writeProbe, marker …), milliseconds. */
  steps: Record<string, number>;
  /** 1 when the phase changed since the storage's previous result (results store), 0 otherwise. */
  transition: 0 | 1;
}

/** How a run reports: a log carrying the storage identity on every line, and one measurement per check. */
export interface FleetObserver {
  logFor(entryId: string, storage?: StorageIdentity): Log;
  recordCheck(measurement: CheckMeasurement, result: FleetEntryResult): void;
}

export function measure(result: FleetEntryResult): CheckMeasurement | undefined {
  if (result.state !== 'checked' || !result.status || !result.storage) return undefined;
  const { total, ...steps } = result.status.timings;
  return {
    provider: result.storage.provider,
    ready: result.phase === 'Ready' ? 1 : 0,
    durationMs: total ?? 0,
    steps,
    transition: result.transition ? 1 : 0,
  };
}

/** An observer that only logs, with the entry's identity on every line (tests, the CLI). */
export function loggingObserver(log: Log): FleetObserver {
  const withKeys = (keys: Record<string, unknown>): Log => ({
    debug: (message, attributes) => log.debug(message, { ...keys, ...attributes }),
    info: (message, attributes) => log.info(message, { ...keys, ...attributes }),
    warn: (message, attributes) => log.warn(message, { ...keys, ...attributes }),
    error: (message, attributes) => log.error(message, { ...keys, ...attributes }),
  });
  return {
    logFor: (entryId, storage) => withKeys({ entry: entryId, ...(storage ? { storage } : {}) }),
    recordCheck: () => undefined,
  };
}
