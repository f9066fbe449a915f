/**
 * One fleet entry: check it (the same `check` as the function), send its status to the delivery sinks,
 * and turn the outcome into a FleetEntryResult. Never throws: a bad entry is a NotReady result.
 */
import type { RuntimeConfig } from '../config/runtime.js';
import type { OperationRequest } from '../config/request.js';
import { isStorageError } from '../backends/errors.js';
import { deliverResult } from '../delivery/deliver.js';
import type { NotifyTargets } from '../delivery/targets.js';
import type { RetryPolicy } from '../delivery/webhook.js';
import { check } from '../operations/check.js';
import { storageIdentity } from '../operations/identity.js';
import type { Deadline } from '../runtime/deadline.js';
import type { FleetEntry } from './manifest.js';
import { measure, type FleetObserver } from './metrics.js';
import { notReadyReason, type FleetEntryResult } from './summary.js';

export interface EntryCheckOptions {
  runtime: RuntimeConfig;
  deadline: Deadline;
  observer: FleetObserver;
  /** The deployment's sinks (NOTIFY_* when not given). */
  deployment?: NotifyTargets;
  policy?: Partial<RetryPolicy>;
  /** A stable event id (the worker uses the SQS message id, so a retried message keeps its id). */
  eventId?: string;
}

export async function checkFleetEntry(
  entry: FleetEntry,
  options: EntryCheckOptions,
): Promise<FleetEntryResult> {
  const base = { index: entry.index, id: entry.id };
  if (!entry.target || entry.problem) {
    const result: FleetEntryResult = {
      ...base,
      state: 'checked',
      phase: 'NotReady',
      reason: 'InvalidManifest',
      message: entry.problem ?? 'invalid entry',
    };
    options.observer
      .logFor(entry.id)
      .warn('fleet entry is invalid', { reason: result.reason, problem: result.message });
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
    const checked = await check(request, context);
    const why = notReadyReason(checked.status);
    result = {
      ...base,
      state: 'checked',
      phase: checked.status.phase,
      storage: checked.storage,
      status: checked.status,
      ...(why ? { reason: why.reason, message: why.message } : {}),
    };
    const delivery = await deliverResult(checked, undefined, context, {
      ...(options.deployment ? { deployment: options.deployment } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.eventId ? { eventId: options.eventId } : {}),
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
