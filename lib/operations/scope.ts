/** Shared set-up of initialize and check: deadline, session, marker scope, and closing the store. */
import { asDirectory } from '../backends/object-store.js';
import { backendPrefix } from '../config/backend.js';
import type { OperationRequest } from '../config/request.js';
import { Deadline } from '../runtime/deadline.js';
import { StatusBuilder } from '../status/conditions.js';
import { CLEANUP_RESERVE_MS, type OperationContext } from './context.js';
import { storageIdentity } from '../status/identity.js';
import type { MarkerScope } from './markers/marker.js';
import type { OperationResult } from '../status/result.js';
import { openSession } from './session.js';

/** The operation's own deadline: the caller's timeout, within the invocation's time less the cleanup reserve. */
export function operationDeadline(context: OperationContext, request: OperationRequest): Deadline {
  const wanted =
    request.options.timeoutSeconds !== undefined
      ? request.options.timeoutSeconds * 1000
      : context.config.defaultTimeoutMs;
  return context.deadline.reserve(CLEANUP_RESERVE_MS).within(wanted);
}

/**
 * Work done on a store an operation has open, after the operation's own: the requested repositories
 * (repositories.ts) ride on initialize's and check's session instead of resolving the credentials and
 * opening the store a second time.
 */
export type StorageStep = (scope: MarkerScope) => Promise<void>;

/** An operation that takes a step to run on its session before the store is closed. */
export type ExtensibleOperation = (
  request: OperationRequest,
  context: OperationContext,
  after?: StorageStep,
) => Promise<OperationResult>;

export interface StorageOptions {
  /** Runs on the same session after `body` (see StorageStep). */
  after?: StorageStep;
  /** The calls in flight the operation will make when the storage sets no maxConnections (a walk's width). */
  connections?: number;
}

/**
 * Runs `body` (then `options.after`, when given) with an open store and a marker scope, and always returns a
 * status: failures to resolve credentials or open the store are already conditions when they are skipped.
 */
export async function withStorage(
  operation: string,
  request: OperationRequest,
  context: OperationContext,
  body: StorageStep,
  options: StorageOptions = {},
): Promise<OperationResult> {
  const status = new StatusBuilder();
  const storage = storageIdentity(request.storage, request.options.endpoint);
  const log = context.log;
  log.info(`${operation} started`, { storage });
  const session = await openSession(request, context, status, options.connections);
  if (session) {
    try {
      const scope: MarkerScope = {
        store: session.store,
        request,
        context,
        status,
        credentials: session.credentials,
        prefix: asDirectory(backendPrefix(request.storage.backend)),
        deadline: operationDeadline(context, request),
      };
      await body(scope);
      await options.after?.(scope);
    } finally {
      await session.store.close().catch(() => undefined);
    }
  }
  const result = { operation, storage, status: status.build() };
  log.info(`${operation} finished`, {
    storage,
    phase: result.status.phase,
    failed: result.status.conditions.filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.reason}`),
    timings: result.status.timings,
  });
  return result;
}
