/**
 * cleanup: WipeOut a storage, deleting every object under its prefix (lib/inventory/wipe.ts). Guarded:
 * only for `deletionPolicy: WipeOut` (KubeStash) or `wipeOut: true` (Stash), never for local or B2,
 * never without a prefix, and only when `options.confirm` repeats `<bucket or container>/<prefix>`.
 * Those refusals are RequestErrors raised before anything is resolved or called. Resumable with the
 * same continuation scheme as inventory.
 */
import type { OperationRequest } from '../config/request.js';
import { decodeContinuation, encodeContinuation, storageFingerprint } from '../inventory/continuation.js';
import { walkConcurrency } from '../inventory/inventory.js';
import { formatBytes } from '../inventory/size-format.js';
import {
  assertWipeOutAllowed,
  runWipe,
  wipeOutConfirmation,
  wipeStateSchema,
  type WipeState,
} from '../inventory/wipe.js';
import type { OperationContext } from './context.js';
import type { InventoryFailure } from './inventory.js';
import { recordConnectivity, timedOutBeforeAnswer, walkOutcomes } from './probes.js';
import type { OperationResult } from '../status/result.js';
import { withStorage } from './scope.js';

export const CLEANUP_OPERATION = 'cleanup';
/** Our condition: True when nothing is left under the prefix. */
export const WIPED_OUT = 'WipedOut';

export interface CleanupReport {
  complete: boolean;
  continuation?: string;
  /** What was deleted, over this call and the calls it continues (batches confirmed by the store). */
  deletedObjects: number;
  deletedBytes: number;
  deletedSize: string;
  listCalls: number;
  failures?: InventoryFailure[];
  failedDirectories?: number;
}

export async function cleanup(
  request: OperationRequest,
  context: OperationContext,
): Promise<OperationResult> {
  assertWipeOutAllowed(request.storage, request.options.confirm);
  const fingerprint = storageFingerprint(request.storage);
  const resume: WipeState | undefined =
    request.options.continuation === undefined
      ? undefined
      : decodeContinuation(request.options.continuation, CLEANUP_OPERATION, fingerprint, wipeStateSchema);
  const scopeName = wipeOutConfirmation(request.storage);
  let report: CleanupReport | undefined;

  const result = await withStorage(
    CLEANUP_OPERATION,
    request,
    context,
    async (scope) => {
      const { store, status, prefix, deadline } = scope;
      context.log.warn('cleanup: deleting everything under the prefix', { scope: scopeName });
      const run = await status.time('cleanup', () =>
        runWipe({
          store,
          prefix,
          deadline,
          concurrency: walkConcurrency(request.storage),
          log: context.log,
          resume,
          ...(context.progress ? { progress: context.progress } : {}),
        }),
      );
      const { state } = run;
      const outcomes = walkOutcomes({ fatal: run.fatal, ...state });
      recordConnectivity(status, outcomes);

      report = {
        complete: run.complete,
        deletedObjects: state.n,
        deletedBytes: state.b,
        deletedSize: formatBytes(state.b),
        listCalls: state.calls,
      };
      if (!run.complete) report.continuation = encodeContinuation(CLEANUP_OPERATION, fingerprint, state);
      if (state.failed > 0) {
        report.failures = state.fails.map((failure) => ({
          prefix: failure.p,
          code: failure.code,
          message: failure.message,
        }));
        report.failedDirectories = state.failed;
      }

      const first = state.fails[0];
      if (run.fatal) {
        status.fail(WIPED_OUT, run.fatal, 'the cleanup stopped');
      } else if (first) {
        status.set({
          type: WIPED_OUT,
          status: 'False',
          reason: first.code,
          message: `${state.failed} director${state.failed === 1 ? 'y' : 'ies'} could not be deleted (first: ${first.p}: ${first.message})`,
          hint: 'grant list and delete permission on the whole prefix, then call cleanup again',
        });
      } else if (run.complete) {
        status.ok(
          WIPED_OUT,
          'Deleted',
          `Deleted ${state.n} objects (${formatBytes(state.b)}) under ${scopeName}; nothing is left.`,
        );
      } else if (!outcomes.some((outcome) => outcome.ok)) {
        status.set(timedOutBeforeAnswer(WIPED_OUT));
      } else {
        status.set({
          type: WIPED_OUT,
          status: 'Unknown',
          severity: 'Info',
          reason: run.leftovers ? 'ObjectsRemain' : 'Partial',
          message: run.leftovers
            ? `Deleted ${state.n} objects, but objects are still listed under ${scopeName} (written meanwhile, or the listing lags behind).`
            : `Stopped before the deadline after deleting ${state.n} objects under ${scopeName}.`,
          hint: 'call cleanup again with options.continuation set to cleanup.continuation',
        });
      }
    },
    { connections: walkConcurrency(request.storage) },
  );
  return report ? { ...result, cleanup: report } : result;
}
