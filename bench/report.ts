/** Medians and the tables every benchmark prints (Markdown, so bench/RESULTS.md can hold them as printed). */

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  return value.toFixed(digits);
}

/** `value / floor` as `0.93×`, with a mark when it misses `target` (the larger-is-worse direction unless `atLeast`). */
export function ratio(value: number, floor: number, target?: number, atLeast = false): string {
  if (!Number.isFinite(value) || !Number.isFinite(floor) || floor === 0) return '–';
  const r = value / floor;
  const missed = target !== undefined && (atLeast ? r < target : r > target);
  return `${r.toFixed(2)}×${missed ? ' ✗' : target !== undefined ? ' ✓' : ''}`;
}

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

export function renderTable(table: Table): string {
  const widths = table.columns.map((column, index) =>
    Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    `### ${table.title}`,
    '',
    line(table.columns),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...table.rows.map(line),
    ...(table.notes && table.notes.length > 0 ? ['', ...table.notes.map((note) => `- ${note}`)] : []),
    '',
  ].join('\n');
}

/** Peak resident set size of this process so far, MB (from the kernel's high-water mark). */
export async function peakRssMb(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}
