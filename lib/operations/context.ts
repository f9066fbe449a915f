/** What every operation gets from its caller (a Lambda handler, the CLI, a test). */
import type { OperationRequest } from '../config/request.js';
import type { RuntimeConfig } from '../config/runtime.js';
import type { Deadline } from '../runtime/deadline.js';
import type { Log } from '../runtime/log.js';
import type { ProgressSink } from '../runtime/progress.js';
import type { OperationResult } from '../status/result.js';
import type { Caller, TrustScope } from '../trust/scope.js';

export interface OperationContext {
  /** The invocation's deadline; operations keep a reserve before it for cleanup and answering. */
  deadline: Deadline;
  config: RuntimeConfig;
  log: Log;
  /** Who is calling; absent means the operator (a direct invoke, the fleet, the CLI). */
  caller?: Caller;
  /** Set by runOperation once the request is authorized: the namespace and tenant it acts for. */
  scope?: TrustScope;
  /** Where long operations report their counters as they go (the CLI's progress display); optional. */
  progress?: ProgressSink;
}

/** One operation as runOperation calls it; it lives here, with the context, so no operation imports run.ts. */
export type Operation = (request: OperationRequest, context: OperationContext) => Promise<OperationResult>;

/** Time kept back from the invocation's deadline for probe cleanup and for returning the status. */
export const CLEANUP_RESERVE_MS = 1500;
