/**
 * check: is the storage usable right now? Independent probes run side by side (list one key, verify the
 * marker, the write probe), so a healthy backend costs a PUT then a DELETE on the critical path.
 * Backend faults never throw out of check: each becomes a condition.
 */
import type { OperationRequest } from '../config/request.js';
import { ConditionType } from '../status/conditions.js';
import { CLEANUP_RESERVE_MS, type OperationContext } from './context.js';
import { markerFor } from './markers/index.js';
import { inventoryResumeState, inventoryStep, type InventoryReport } from './inventory.js';
import {
  attempt,
  recordConnectivity,
  resticWriteProbe,
  writeProbe,
  type Outcome,
  type ProbeReport,
} from './probes.js';
import { passwordFrom } from './repositories.js';
import type { OperationResult } from '../status/result.js';
import { withStorage, type StorageStep } from './scope.js';

export async function check(
  request: OperationRequest,
  context: OperationContext,
  after?: StorageStep,
): Promise<OperationResult> {
  const resume = request.options.inventory ? inventoryResumeState(request) : undefined;
  let inventoryReport: InventoryReport | undefined;
  const result = await withStorage(
    'check',
    request,
    context,
    async (scope) => {
      const { store, status, prefix, deadline } = scope;
      const cleanupDeadline = deadline.reserve(-CLEANUP_RESERVE_MS);
      // The write probe (PUT, then DELETE) is the longest chain: it starts first, so that where a warm
      // connection is free, or frees up (after B2's bucket lookup), it is the probe that gets it.
      // A store that holds only restic's files is probed with a restic lock (probes.ts), never a foreign object.
      const probing = request.options.readOnly
        ? undefined
        : status.time('writeProbe', (): Promise<ProbeReport> => {
            if (!store.capabilities.resticOnly)
              return writeProbe(store, prefix, deadline, cleanupDeadline).then((outcome) => ({
                outcome,
                notes: [],
              }));
            const source = passwordFrom(scope.credentials, 'the storage secret');
            const password = 'password' in source ? source.password : undefined;
            return resticWriteProbe(store, prefix, password, deadline, cleanupDeadline);
          });
      const [listing, report, markerOutcomes] = await Promise.all([
        status.time('list', () =>
          attempt(store, 'list', () => store.list(prefix, { limit: 1, signal: deadline.signal() }), prefix),
        ),
        probing,
        status.time('marker', () => markerFor(request.storage).verify(scope)),
      ]);

      if (listing.ok) {
        status.ok(
          ConditionType.BackendReadable,
          'Readable',
          `Listed the prefix (${listing.value.objects.length > 0 ? 'not empty' : 'empty'}).`,
        );
      } else {
        status.fail(ConditionType.BackendReadable, listing.error, 'cannot list the prefix');
      }
      const probe = report?.outcome;
      if (report?.writable) {
        status.set(report.writable);
      } else if (!probe) {
        status.unknown(
          ConditionType.BackendWritable,
          'Skipped',
          'Write probe skipped (options.readOnly).',
          'Info',
        );
      } else if (probe.ok) {
        status.ok(
          ConditionType.BackendWritable,
          'Writable',
          store.capabilities.resticOnly
            ? `Wrote, verified (${probe.value.verifiedBy}) and released a restic lock.`
            : `Wrote, verified (${probe.value.verifiedBy}) and deleted a probe object.`,
        );
      } else {
        status.fail(ConditionType.BackendWritable, probe.error, 'write probe failed');
      }
      for (const note of report?.notes ?? []) status.set(note);
      const outcomes: Outcome<unknown>[] = [listing, ...markerOutcomes];
      if (probe) outcomes.push(probe);
      recordConnectivity(status, outcomes);
      status.extra.conditionalWrites = store.capabilities.conditionalWrites;
      // options.inventory: after the probes, with what is left of the deadline (docs/inventory.md).
      if (request.options.inventory && listing.ok)
        inventoryReport = await inventoryStep(scope, resume, false);
    },
    { after },
  );
  return inventoryReport ? { ...result, inventory: inventoryReport } : result;
}
