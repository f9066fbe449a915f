/**
 * A scheduled fleet run: load the manifest, keep the entries due this run, then either check them here
 * with bounded concurrency (each with its own deadline carved from the remaining time) or, above the
 * configured threshold, fan them out over SQS for the worker. Every entry ends in the results, and one
 * bad entry never fails the run (Velero crash-looped on one bad bucket name: velero#2412).
 */
import type { RuntimeConfig } from '../config/runtime.js';
import type { NotifyTargets } from '../config/notify.js';
import type { RetryPolicy } from '../delivery/webhook.js';
import { CLEANUP_RESERVE_MS } from '../operations/context.js';
import type { Deadline } from '../runtime/deadline.js';
import type { Log } from '../runtime/log.js';
import type { ProgressSink } from '../runtime/progress.js';
import { checkFleetEntry } from './check-entry.js';
import type { FleetConfig } from './config.js';
import { enqueueEntries } from './fanout.js';
import { isDue } from './frequency.js';
import { loadFleetSource, parseFleet, type FleetEntry } from './manifest.js';
import type { FleetObserver } from './metrics.js';
import { runPool } from './pool.js';
import { summarize, type FleetEntryResult, type FleetSummary } from './summary.js';

export interface FleetRunOptions {
  /** Where the manifest is (the event's `fleet`, else FLEET_SOURCE). */
  source: string;
  fleet: FleetConfig;
  runtime: RuntimeConfig;
  deadline: Deadline;
  log: Log;
  observer: FleetObserver;
  /** The scheduled time of this run (the schedule event's `time`), for per-entry intervals. */
  runTime?: Date;
  deployment?: NotifyTargets;
  policy?: Partial<RetryPolicy>;
  /** Told how many of the due entries are done (checked, queued or given up on) as each one ends. */
  progress?: ProgressSink;
}

export interface FleetRunOutput {
  source: string;
  mode: 'inline' | 'fanout';
  runTime: string;
  summary: FleetSummary;
  results: FleetEntryResult[];
}

/** Smallest share of time worth starting a check with: the check's cleanup reserve plus a little work. */
export const MIN_ENTRY_MS = CLEANUP_RESERVE_MS + 1000;

export async function runFleet(options: FleetRunOptions): Promise<FleetRunOutput> {
  const runTime = options.runTime ?? new Date();
  const text = await loadFleetSource(options.source, options.deadline.signal());
  const entries = parseFleet(text, options.source);
  const skipped: FleetEntryResult[] = [];
  const due: FleetEntry[] = [];
  for (const entry of entries) {
    if (isDue(entry.id, entry.intervalMs, runTime.getTime(), options.fleet.scheduleRateMs)) due.push(entry);
    else
      skipped.push({
        index: entry.index,
        id: entry.id,
        state: 'skipped',
        reason: 'NotDue',
        message: 'check-interval annotation: not due this run',
      });
  }
  // Each entry counts once: an abandoned check (overran) may still finish later.
  const finished = new Set<number>();
  const report = (): void =>
    options.progress?.({ task: 'fleet', unit: 'storages', done: finished.size, total: due.length });
  report();
  const counted = (result: FleetEntryResult): FleetEntryResult => {
    if (!finished.has(result.index)) {
      finished.add(result.index);
      report();
    }
    return result;
  };
  const fanout = due.length > options.fleet.fanoutThreshold;
  if (fanout && !options.fleet.queueUrl) {
    options.log.warn(
      'fleet is above the fan-out threshold but FLEET_QUEUE_URL is not set; checking in this invocation',
      {
        entries: due.length,
        threshold: options.fleet.fanoutThreshold,
      },
    );
  }
  let results: FleetEntryResult[];
  let mode: FleetRunOutput['mode'] = 'inline';
  if (fanout && options.fleet.queueUrl) {
    mode = 'fanout';
    // Entries that cannot be read are reported here; a worker could not do better with them.
    const invalid = due.filter((entry) => !entry.target || entry.problem);
    const valid = due.filter((entry) => entry.target && !entry.problem);
    const invalidResults = await Promise.all(
      invalid.map((entry) =>
        checkFleetEntry(entry, {
          runtime: options.runtime,
          deadline: options.deadline,
          observer: options.observer,
        }),
      ),
    );
    results = [
      ...invalidResults,
      ...(await enqueueEntries(
        valid,
        options.fleet.queueUrl,
        options.source,
        runTime.toISOString(),
        options.deadline,
      )),
    ];
    results.forEach(counted);
  } else {
    results = await runPool(
      due,
      {
        concurrency: options.fleet.concurrency,
        deadline: options.deadline,
        taskBudgetMs: options.fleet.entryTimeoutMs,
        minTaskMs: MIN_ENTRY_MS,
      },
      {
        run: async (entry, deadline) =>
          counted(
            await checkFleetEntry(entry, {
              runtime: options.runtime,
              deadline,
              observer: options.observer,
              ...(options.deployment ? { deployment: options.deployment } : {}),
              ...(options.policy ? { policy: options.policy } : {}),
            }),
          ),
        notReached: (entry) =>
          counted({
            index: entry.index,
            id: entry.id,
            state: 'notChecked',
            reason: 'DeadlineExceeded',
            message: 'not reached before the run’s deadline',
          }),
        overran: (entry) =>
          counted({
            index: entry.index,
            id: entry.id,
            state: 'checked',
            phase: 'NotReady',
            reason: 'Timeout',
            message: 'the check did not finish within its deadline',
          }),
      },
    );
  }
  const all = [...results, ...skipped].sort((a, b) => a.index - b.index);
  const summary = summarize(all);
  options.log.info('fleet run finished', { source: options.source, mode, summary });
  return { source: options.source, mode, runTime: runTime.toISOString(), summary, results: all };
}
