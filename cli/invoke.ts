/**
 * The CLI's invocations: the functions' own handlers (functions/*.ts), called in-process as direct
 * invokes are, which is operator trust (docs/security.md). A Lambda context stands in for the real one:
 * its remaining time is the function's timeout in serverless.yml (or --timeout), and it carries the
 * progress sink to the operations (functions/common/middleware.ts). Imported only after
 * prepareEnvironment, since handlers read their configuration when they load.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { ProgressContext } from '../functions/common/middleware.js';
import type { FleetRunOutput } from '../lib/fleet/run.js';
import type { OperationResult } from '../lib/status/result.js';
import type { ProgressSink } from '../lib/runtime/progress.js';
import type { OperationCommand } from './args.js';
import type { ErrorBody } from './render.js';
import type { Body } from './request.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const HANDLERS: Record<OperationCommand | 'fleet', () => Promise<{ handler: unknown }>> = {
  initialize: () => import('../functions/initialize.js'),
  check: () => import('../functions/check.js'),
  inventory: () => import('../functions/inventory.js'),
  cleanup: () => import('../functions/cleanup.js'),
  fleet: () => import('../functions/scheduledCheck.js'),
};

/** serverless.yml's function timeouts (provider.timeout; scheduledCheck's own). */
export const FUNCTION_TIMEOUT_SECONDS: Record<OperationCommand | 'fleet', number> = {
  initialize: 29,
  check: 29,
  inventory: 29,
  cleanup: 29,
  fleet: 300,
};

function lambdaContext(name: string, timeoutMs: number, progress?: ProgressSink): ProgressContext {
  const end = Date.now() + timeoutMs;
  const functionName = `bsf-${name}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/bsf/${name}`,
    logStreamName: 'cli',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...(progress ? { progress } : {}),
  };
}

/** Loads a handler, which validates the deployment settings; a bad one throws, naming its variable. */
export async function loadHandler(name: OperationCommand | 'fleet'): Promise<Handler> {
  return ((await HANDLERS[name]()) as { handler: Handler }).handler;
}

async function invoke(
  name: OperationCommand | 'fleet',
  event: unknown,
  timeoutSeconds: number | undefined,
  progress?: ProgressSink,
): Promise<unknown> {
  const handler = await loadHandler(name);
  const timeoutMs = (timeoutSeconds ?? FUNCTION_TIMEOUT_SECONDS[name]) * 1000;
  return handler(event, lambdaContext(name, timeoutMs, progress));
}

export type OperationOutcome =
  | { kind: 'result'; result: OperationResult; invocations: number }
  | { kind: 'error'; statusCode: number; error: ErrorBody };

function isErrorAnswer(value: unknown): value is { statusCode: number; error: ErrorBody } {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { statusCode?: unknown }).statusCode === 'number' &&
    typeof (value as { error?: unknown }).error === 'object'
  );
}

/** The report of a walk that stopped only because its invocation's time was up. */
function continuationOf(result: OperationResult): string | undefined {
  const report = (result.inventory ?? result.cleanup) as
    { complete?: boolean; continuation?: string } | undefined;
  if (!report || report.complete || !report.continuation) return undefined;
  const walk = result.status.conditions.find(
    (condition) => condition.type === 'Inventoried' || condition.type === 'WipedOut',
  );
  return walk?.reason === 'Partial' ? report.continuation : undefined;
}

/**
 * One operation; inventory and cleanup go on with their continuation token, one invocation after the
 * other, until the walk is complete or stops for another reason than time.
 */
export async function runOperationCommand(
  operation: OperationCommand,
  request: Body,
  timeoutSeconds: number | undefined,
  progress?: ProgressSink,
): Promise<OperationOutcome> {
  let body = request;
  for (let invocations = 1; ; invocations += 1) {
    const answer = await invoke(operation, body, timeoutSeconds, progress);
    if (isErrorAnswer(answer)) return { kind: 'error', statusCode: answer.statusCode, error: answer.error };
    const result = answer as OperationResult;
    const continuation = continuationOf(result);
    if (continuation === undefined) return { kind: 'result', result, invocations };
    const options = (body.options ?? {}) as Body;
    body = { ...body, options: { ...options, continuation } };
  }
}

export async function runFleetCommand(
  fleet: string,
  timeoutSeconds: number | undefined,
  progress?: ProgressSink,
): Promise<FleetRunOutput> {
  return (await invoke('fleet', { fleet }, timeoutSeconds, progress)) as FleetRunOutput;
}
