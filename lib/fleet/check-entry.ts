/**
 * One fleet entry: check it (the same `check` as the function), remember it (lib/results/), send its
 * status to the delivery sinks, and turn the outcome into a FleetEntryResult. Never throws: a bad entry
 * is a NotReady result.
 */
import { randomUUID } from 'node:crypto';
import type { RuntimeConfig } from '../config/runtime.js';
import type { OperationRequest } from '../config/request.js';
import { isStorageError } from '../backends/errors.js';
import { deliverResult } from '../delivery/deliver.js';
import type { NotifyTargets } from '../config/notify.js';
import type { RetryPolicy } from '../delivery/webhook.js';
import { check } from '../operations/check.js';
import { storageIdentity } from '../status/identity.js';
import { deploymentResultsStore } from '../results/config.js';
import { recordSafely, rememberResult } from '../results/recorder.js';
import type { ResultsStore } from '../results/store.js';
import type { Deadline } from '../runtime/deadline.js';
import type { FleetEntry } from './manifest.js';
import type { Phase } from '../status/conditions.js';
import { measure, type FleetObserver } from './metrics.js';
import { notReadyReason } from '../status/conditions.js';
import type { FleetEntryResult } from './summary.js';

export interface EntryCheckOptions {
  runtime: RuntimeConfig;
  deadline: Deadline;
  observer: FleetObserver;
  /** The deployment's sinks (NOTIFY_* when not given). */
  deployment?: NotifyTargets;
  policy?: Partial<RetryPolicy>;
  /** A stable event id (the worker uses the SQS message id, so a retried message keeps its id). */
  eventId?: string;
  /** Where results are remembered; the deployment's (RESULTS_STORE) when absent, none when undefined. */
  results?: ResultsStore | undefined;
}

export async function checkFleetEntry(
  entry: FleetEntry,
  options: EntryCheckOptions,
): Promise<FleetEntryResult> {
  const base = { index: entry.index, id: entry.id };
  const store = 'results' in options ? options.results : deploymentResultsStore();
  const eventId = options.eventId ?? randomUUID();
  if (!entry.target || entry.problem) {
    const result: FleetEntryResult = {
      ...base,
      state: 'checked',
      phase: 'NotReady',
      reason: 'InvalidManifest',
      message: entry.problem ?? 'invalid entry',
    };
    const log = options.observer.logFor(entry.id);
    log.warn('fleet entry is invalid', { reason: result.reason, problem: result.message });
    const recorded = await recordSafely(
      store,
      {
        key: entry.id,
        eventId,
        at: new Date().toISOString(),
        operation: 'check',
        phase: 'NotReady',
        reason: 'InvalidManifest',
        message: result.message ?? 'invalid entry',
      },
      log,
    );
    if (recorded) withMemory(result, recorded.entry.previousPhase, recorded.record.since);
    return result;
  }
  const storage = storageIdentity(entry.target, entry.endpoint);
  const log = options.observer.logFor(entry.id, storage);
  const request: OperationRequest = {
    storage: entry.target,
    options: entry.endpoint ? { endpoint: entry.endpoint } : {},
  };
  const context = { deadline: options.deadline, config: options.runtime, log };
  let result: FleetEntryResult;
  try {
    const checked = await rememberResult(store, await check(request, context), {
      eventId,
      storage: entry.item,
      ...(entry.endpoint ? { endpoint: entry.endpoint } : {}),
      log,
    });
    const why = notReadyReason(checked.status);
    result = {
      ...base,
      state: 'checked',
      phase: checked.status.phase,
      storage: checked.storage,
      status: checked.status,
      ...(why ? { reason: why.reason, message: why.message } : {}),
    };
    if (checked.since) withMemory(result, checked.previousPhase, checked.since);
    const delivery = await deliverResult(checked, undefined, context, {
      ...(options.deployment ? { deployment: options.deployment } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
      eventId,
    });
    if (delivery) result.delivery = delivery;
  } catch (error) {
    const unsupported = isStorageError(error, 'Unimplemented');
    result = {
      ...base,
      state: 'checked',
      phase: 'NotReady',
      storage,
      reason: unsupported ? 'ProviderNotSupported' : 'InternalError',
      message: unsupported
        ? `provider "${storage.provider}" is not supported by this deployment`
        : 'the check failed unexpectedly',
    };
    log.error('fleet entry check failed', {
      reason: result.reason,
      error: error instanceof Error ? error.name : 'Error',
    });
  }
  const measurement = measure(result);
  if (measurement) options.observer.recordCheck(measurement, result);
  return result;
}

/** What the results store knew: the phase before this one, since when, and whether it changed. */
function withMemory(result: FleetEntryResult, previousPhase: Phase | undefined, since: string): void {
  if (previousPhase) result.previousPhase = previousPhase;
  result.since = since;
  result.transition = previousPhase !== result.phase;
}
