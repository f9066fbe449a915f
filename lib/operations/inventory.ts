/**
 * inventory: the repositories under a storage, their sizes and snapshots, straight from the bucket
 * (lib/inventory/inventory.ts). Fills `status.totalSize` and `status.repositories[]` in KubeStash's
 * BackupStorage shape once the walk is complete; a walk that runs out of time returns
 * `inventory.complete: false` with a continuation token for the next call. Also run by check with
 * `options.inventory`.
 */
import type { OperationRequest } from '../config/request.js';
import { decodeContinuation, encodeContinuation, storageFingerprint } from '../inventory/continuation.js';
import {
  asRepositoryInfo,
  describeRepositories,
  inventoryStateSchema,
  runInventory,
  totalsOf,
  walkConcurrency,
  type InventoryRepository,
  type InventoryState,
  type InventoryTotals,
} from '../inventory/inventory.js';
import type { OperationContext } from './context.js';
import type { MarkerScope } from './markers/marker.js';
import { recordConnectivity, timedOutBeforeAnswer, walkOutcomes } from './probes.js';
import type { OperationResult } from '../status/result.js';
import { withStorage } from './scope.js';

export const INVENTORY_OPERATION = 'inventory';
/** Our condition for the inventory: True complete, Unknown (Info) partial, False when parts failed. */
export const INVENTORIED = 'Inventoried';

export interface InventoryFailure {
  prefix: string;
  code: string;
  message: string;
}

export interface InventoryReport extends Partial<InventoryTotals> {
  complete: boolean;
  /** Pass as `options.continuation` to resume; present only when `complete` is false. */
  continuation?: string;
  repositories?: InventoryRepository[];
  /** While incomplete: how far the walk got. */
  progress?: { objects: number; bytes: number; repositoriesFound: number; pendingDirectories: number };
  listCalls: number;
  /** Directories that could not be listed (at most 20 shown; `failedDirectories` counts all). */
  failures?: InventoryFailure[];
  failedDirectories?: number;
}

/** The state in `options.continuation`, checked against this storage; undefined for a fresh inventory. */
export function inventoryResumeState(request: OperationRequest): InventoryState | undefined {
  const token = request.options.continuation;
  if (token === undefined) return undefined;
  return decodeContinuation(
    token,
    INVENTORY_OPERATION,
    storageFingerprint(request.storage),
    inventoryStateSchema,
  );
}

/**
 * Runs the inventory inside an open storage scope and records it in the status. `standalone` also
 * derives reachability and authentication from its calls (check records those from its own probes).
 */
export async function inventoryStep(
  scope: MarkerScope,
  resume: InventoryState | undefined,
  standalone: boolean,
): Promise<InventoryReport> {
  const { store, status, request, context, prefix, deadline } = scope;
  const target = request.storage;
  const run = await status.time('inventory', () =>
    runInventory({
      store,
      target,
      prefix,
      deadline,
      concurrency: walkConcurrency(target),
      log: context.log,
      resume,
      ...(context.progress ? { progress: context.progress } : {}),
    }),
  );
  const { state } = run;

  const outcomes = walkOutcomes({ fatal: run.fatal, ...state });
  // Some listings answered: missing directories only lower the sizes. None: nothing is known.
  const answered = outcomes.some((outcome) => outcome.ok);
  if (standalone) recordConnectivity(status, outcomes);

  const report: InventoryReport = { complete: run.complete, listCalls: state.calls };
  if (state.failed > 0) {
    report.failures = state.fails.map((failure) => ({
      prefix: failure.p,
      code: failure.code,
      message: failure.message,
    }));
    report.failedDirectories = state.failed;
  }
  if (run.complete) {
    const repositories = describeRepositories(state, target);
    const totals = totalsOf(state);
    Object.assign(report, totals, { repositories });
    status.extra.totalSize = totals.totalSize;
    status.extra.repositories = repositories.map(asRepositoryInfo);
  } else {
    report.continuation = encodeContinuation(INVENTORY_OPERATION, storageFingerprint(target), state);
    report.progress = {
      objects: state.n,
      bytes: state.b,
      repositoriesFound: state.repos.length,
      pendingDirectories: state.f.length,
    };
  }

  if (run.fatal) {
    status.fail(INVENTORIED, run.fatal, 'the inventory stopped');
  } else if (state.failed > 0) {
    const first = state.fails[0];
    status.set({
      type: INVENTORIED,
      status: 'False',
      severity: answered ? 'Warning' : 'Error',
      reason: first?.code ?? 'Unknown',
      message: `${state.failed} director${state.failed === 1 ? 'y' : 'ies'} could not be listed; sizes are too low (first: ${first?.p}: ${first?.message})`,
      hint: 'grant list and read permission on the whole prefix',
    });
  } else if (!run.complete && !answered) {
    status.set(timedOutBeforeAnswer(INVENTORIED));
  } else if (!run.complete) {
    status.set({
      type: INVENTORIED,
      status: 'Unknown',
      severity: 'Info',
      reason: 'Partial',
      message: `Stopped before the deadline after ${state.n} objects in ${state.repos.length} repositories; ${state.f.length} directories remain.`,
      hint: 'call again with options.continuation set to inventory.continuation (or raise options.timeoutSeconds)',
    });
  } else {
    status.ok(
      INVENTORIED,
      'Complete',
      `Inventoried ${state.n} objects: ${state.repos.length} repositories, ${report.totalSize ?? '0 B'}.`,
    );
  }
  context.log.info('inventory step finished', {
    complete: run.complete,
    objects: state.n,
    bytes: state.b,
    repositories: state.repos.length,
    listCalls: state.calls,
    failedDirectories: state.failed,
  });
  return report;
}

export async function inventory(
  request: OperationRequest,
  context: OperationContext,
): Promise<OperationResult> {
  // A bad token is the caller's mistake: refused before any credentials are resolved or calls are made.
  const resume = inventoryResumeState(request);
  let report: InventoryReport | undefined;
  const result = await withStorage(
    INVENTORY_OPERATION,
    request,
    context,
    async (scope) => {
      report = await inventoryStep(scope, resume, true);
    },
    { connections: walkConcurrency(request.storage) },
  );
  return report ? { ...result, inventory: report } : result;
}
