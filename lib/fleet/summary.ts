/** The run's summary: how many entries were checked, how many were Ready, and why the rest were not. */
import type { Phase, StorageStatus } from '../status/conditions.js';
import type { DeliveryReport } from '../delivery/deliver.js';
import type { StorageIdentity } from '../status/identity.js';

/** `queued`: handed to the fan-out queue, checked by the worker. */
export type EntryState = 'checked' | 'notChecked' | 'skipped' | 'queued';

export interface FleetEntryResult {
  index: number;
  id: string;
  state: EntryState;
  phase?: Phase;
  /** Why the entry is not Ready (first failing condition's reason), or why it was not checked. */
  reason?: string;
  message?: string;
  storage?: StorageIdentity;
  status?: StorageStatus;
  delivery?: DeliveryReport;
  /** From the results store (lib/results/): the phase before this check, and since when the phase holds. */
  previousPhase?: Phase;
  since?: string;
  /** The phase changed (or the storage is new to the store); absent without a store. */
  transition?: boolean;
}

export interface FleetSummary {
  total: number;
  checked: number;
  notChecked: number;
  /** Not due this run (check-interval annotation). */
  skipped: number;
  /** Fanned out to the worker queue. */
  queued: number;
  byPhase: Record<Phase, number>;
  /** Every entry that is not Ready, checked or not, by reason. */
  byReason: Record<string, number>;
}

export function summarize(results: readonly FleetEntryResult[]): FleetSummary {
  const summary: FleetSummary = {
    total: results.length,
    checked: 0,
    notChecked: 0,
    skipped: 0,
    queued: 0,
    byPhase: { Ready: 0, NotReady: 0 },
    byReason: {},
  };
  for (const result of results) {
    if (result.state === 'skipped' || result.state === 'queued') {
      summary[result.state] += 1;
      continue;
    }
    if (result.state === 'checked') summary.checked += 1;
    else summary.notChecked += 1;
    if (result.phase) summary.byPhase[result.phase] += 1;
    if (result.phase !== 'Ready' && result.reason)
      summary.byReason[result.reason] = (summary.byReason[result.reason] ?? 0) + 1;
  }
  return summary;
}
