/**
 * Progress of inventory, cleanup and fleet on stderr: one line redrawn in place on a terminal (objects
 * and bytes so far, storages done of total, rate, estimate), nothing in between when stderr is a file
 * or a pipe, and a final summary line either way.
 */
import { formatBytes } from '../lib/inventory/size-format.js';
import type { ProgressEvent, ProgressSink } from '../lib/runtime/progress.js';

const REDRAW_EVERY_MS = 100;

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

const VERBS: Record<string, string> = { inventory: 'listed', cleanup: 'deleted', fleet: 'checked' };

/** `inventory: 12,000 objects, 11.719 MiB listed, 13 list calls`, with rate and estimate when asked. */
export function describeProgress(event: ProgressEvent, elapsedMs: number): string {
  const parts = [
    event.total === undefined
      ? `${formatCount(event.done)} ${event.unit}`
      : `${formatCount(event.done)}/${formatCount(event.total)} ${event.unit}`,
  ];
  if (event.bytes !== undefined) parts.push(formatBytes(event.bytes));
  let line = `${event.task}: ${parts.join(', ')} ${VERBS[event.task] ?? 'done'}`;
  if (event.calls !== undefined) line += `, ${formatCount(event.calls)} list calls`;
  const seconds = elapsedMs / 1000;
  if (seconds > 0 && event.done > 0) {
    const rate = event.done / seconds;
    line += ` · ${formatCount(rate)} ${event.unit}/s`;
    if (event.total !== undefined && event.done < event.total)
      line += ` · ~${formatDuration(((event.total - event.done) / rate) * 1000)} left`;
  }
  return line;
}

export interface ProgressDisplay {
  sink: ProgressSink;
  /** Clears the live line and writes the summary (when anything was reported). */
  finish(): void;
}

export function progressDisplay(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  live: boolean,
  now: () => number = Date.now,
): ProgressDisplay {
  const started = now();
  let last: ProgressEvent | undefined;
  let drawnAt = 0;
  let drawn = false;
  const draw = (event: ProgressEvent): void => {
    stream.write(`\r\x1b[2K${describeProgress(event, now() - started)}`);
    drawn = true;
  };
  return {
    sink: (event) => {
      last = event;
      if (!live) return;
      const time = now();
      if (time - drawnAt < REDRAW_EVERY_MS && !(event.total !== undefined && event.done === event.total))
        return;
      drawnAt = time;
      draw(event);
    },
    finish: () => {
      if (drawn) stream.write('\r\x1b[2K');
      if (last)
        stream.write(`${describeProgress(last, now() - started)} in ${formatDuration(now() - started)}\n`);
    },
  };
}
