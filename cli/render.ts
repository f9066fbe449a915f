/**
 * What the CLI prints. `table` is for people: one line per condition (✔ True, ✗ False, ! a warning or
 * an unknown), its reason, message and hint, the timings, inventory sizes in binary units. `json` and
 * `yaml` are the handler's result exactly, for scripts.
 */
import { stringify as toYaml } from 'yaml';
import type { FleetRunOutput } from '../lib/fleet/run.js';
import type { FleetEntryResult } from '../lib/fleet/summary.js';
import { formatBytes } from '../lib/inventory/size-format.js';
import type { DeliveryReport } from '../lib/delivery/deliver.js';
import type { CleanupReport } from '../lib/operations/cleanup.js';
import type { InventoryReport } from '../lib/operations/inventory.js';
import type { OperationResult } from '../lib/status/result.js';
import type { Condition, StorageStatus } from '../lib/status/conditions.js';
import type { Output } from './args.js';
import { formatCount } from './progress.js';

export function asDocument(value: unknown, output: Exclude<Output, 'table'>): string {
  return output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value, { lineWidth: 0 });
}

function mark(condition: Condition): string {
  if (condition.status === 'True') return '✔';
  return (condition.severity ?? 'Error') === 'Error' && condition.status === 'False' ? '✗' : '!';
}

function columns(rows: readonly string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, index) => {
      if (index < row.length - 1) widths[index] = Math.max(widths[index] ?? 0, [...cell].length);
    });
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, index) =>
          index < row.length - 1 ? cell + ' '.repeat((widths[index] ?? 0) - [...cell].length) : cell,
        )
        .join('  ')
        .trimEnd(),
  );
}

function conditionLines(conditions: readonly Condition[]): string[] {
  const lines: string[] = [];
  const rows = conditions.map((condition) => [
    mark(condition),
    condition.type,
    condition.reason,
    condition.message,
  ]);
  const rendered = columns(rows);
  conditions.forEach((condition, index) => {
    lines.push(rendered[index] as string);
    if (condition.hint) lines.push(`      hint: ${condition.hint}`);
  });
  return lines;
}

function timingLine(status: StorageStatus): string {
  const { total, ...steps } = status.timings;
  const parts = Object.entries(steps).map(([step, ms]) => `${step} ${formatCount(ms)} ms`);
  return `${total === undefined ? '' : `in ${formatCount(total)} ms`}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function storageLine(result: OperationResult): string {
  const { storage } = result;
  const name = [storage.namespace, storage.name].filter(Boolean).join('/') || '(unnamed)';
  const place = storage.bucket ?? storage.container ?? storage.path ?? '';
  const where = [storage.provider, [place, storage.prefix].filter(Boolean).join('/'), storage.endpoint]
    .filter(Boolean)
    .join(' ');
  return `${result.operation}  ${storage.kind} ${name}  (${where})`;
}

function inventoryLines(report: InventoryReport): string[] {
  if (!report.complete) {
    const progress = report.progress;
    return [
      `inventory incomplete: ${formatCount(progress?.objects ?? 0)} objects, ${formatBytes(progress?.bytes ?? 0)} so far, ${formatCount(report.listCalls)} list calls`,
    ];
  }
  const repositories = report.repositories ?? [];
  const lines = [
    `inventory: ${formatCount(report.objects ?? 0)} objects, ${report.size ?? formatBytes(0)} in ${repositories.length} repositor${repositories.length === 1 ? 'y' : 'ies'} (totalSize ${report.totalSize ?? formatBytes(0)}), ${formatCount(report.listCalls)} list calls`,
  ];
  lines.push(
    ...columns(
      repositories.map((repository) => [
        repository.synced ? '✔' : '!',
        repository.path,
        repository.kind,
        `${formatCount(repository.objects)} objects`,
        repository.size,
        `${formatCount(repository.snapshotCount)} snapshots`,
        repository.newestSnapshotTime ? `newest ${repository.newestSnapshotTime}` : (repository.error ?? ''),
      ]),
    ),
  );
  return lines;
}

function cleanupLines(report: CleanupReport): string[] {
  return [
    `cleanup${report.complete ? '' : ' incomplete'}: ${formatCount(report.deletedObjects)} objects deleted, ${report.deletedSize}, ${formatCount(report.listCalls)} list calls`,
  ];
}

interface SinkOutcome {
  target?: string;
  delivered?: boolean;
  error?: string;
}

/** One line per delivery target: the deployment's, then the request's own. */
function deliveryLines(report: DeliveryReport): string[] {
  const sinks: [string, SinkOutcome | undefined][] = [
    ['webhook', report.webhook],
    ['sqs', report.sqs],
    ['requested webhook', report.requested?.webhook],
    ['requested sqs', report.requested?.sqs],
  ];
  const lines = sinks.flatMap(([name, outcome]) =>
    outcome
      ? [
          `  ${outcome.delivered ? '✔' : '✗'}  delivery ${name} ${outcome.target ?? ''}: ${outcome.delivered ? 'delivered' : (outcome.error ?? 'not delivered')}`,
        ]
      : [],
  );
  if (report.held)
    lines.push(`  !  delivery held (${report.held.targets.join(', ')}): ${report.held.reason}`);
  return lines;
}

export function operationTable(result: OperationResult): string {
  const { status } = result;
  const lines = [storageLine(result), ...conditionLines(status.conditions)];
  if (result.inventory) lines.push(...inventoryLines(result.inventory as InventoryReport));
  if (result.cleanup) lines.push(...cleanupLines(result.cleanup as CleanupReport));
  if (result.delivery) lines.push(...deliveryLines(result.delivery as DeliveryReport));
  lines.push(`${status.phase === 'Ready' ? '✔' : '✗'} ${status.phase} ${timingLine(status)}`.trimEnd());
  return `${lines.join('\n')}\n`;
}

function entryMark(entry: FleetEntryResult): string {
  if (entry.state === 'skipped' || entry.state === 'queued') return '·';
  return entry.phase === 'Ready' ? '✔' : '✗';
}

export function fleetTable(output: FleetRunOutput): string {
  const { summary } = output;
  const lines = [
    `fleet ${output.source}: ${summary.total} entries, ${summary.byPhase.Ready ?? 0} Ready, ${summary.byPhase.NotReady ?? 0} NotReady${summary.notChecked ? `, ${summary.notChecked} not checked` : ''}${summary.skipped ? `, ${summary.skipped} not due` : ''}${summary.queued ? `, ${summary.queued} queued` : ''}`,
  ];
  lines.push(
    ...columns(
      output.results.map((entry) => [
        entryMark(entry),
        entry.id,
        entry.phase ?? entry.state,
        entry.reason ?? '',
        entry.message ?? '',
      ]),
    ),
  );
  return `${lines.join('\n')}\n`;
}

export interface ErrorBody {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
}

export function errorText(error: ErrorBody): string {
  const lines = [`bsf: ${error.code}: ${error.message}`];
  for (const issue of error.issues ?? []) lines.push(`  ${issue.path || '(request)'}: ${issue.message}`);
  return `${lines.join('\n')}\n`;
}
