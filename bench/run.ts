/**
 * `npm run bench [-- <benchmark>... ] [--providers s3,gcs] [--rtt 50] [--quick] [--out file.md]`
 *
 * Benchmarks: check, initialize (round trips and latency per provider, through bench/proxy.ts),
 * coldstart (bundles built as serverless.yml builds them), restic, fleet, inventory. With none named,
 * all run. Prints one Markdown table per measurement, each figure next to its floor or anchor and the
 * ratio, then the targets missed and the request traces behind them. Figures only; no assertions.
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable, type Table } from './report.js';
import { BENCH_DEPLOYMENT } from './workers.js';

// Before any lib/ module reads it: the servers here are all on loopback.
Object.assign(process.env, BENCH_DEPLOYMENT);

const ALL = ['check', 'initialize', 'coldstart', 'restic', 'fleet', 'inventory'] as const;
type Benchmark = (typeof ALL)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    providers: { type: 'string' },
    rtt: { type: 'string', default: '50' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const unknown = positionals.filter((name) => !(ALL as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  process.exit(2);
}
const selected = new Set<Benchmark>(positionals.length > 0 ? (positionals as Benchmark[]) : ALL);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const rttMs = Number(values.rtt);
const quick = values.quick === true;

const { PROVIDERS, scratch } = await import('./backends.js');
type Provider = (typeof PROVIDERS)[number];
const providers = (values.providers?.split(',').map((p) => p.trim()) ?? [...PROVIDERS]) as Provider[];

function machine(): string {
  const cpu = cpus();
  return [
    `${new Date().toISOString()} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'} · ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free)`,
    `Node ${process.version} · ${process.platform}/${process.arch} · load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at start`,
  ].join('\n');
}

const output: string[] = [`## Benchmark run`, '', machine(), ''];
const misses: string[] = [];
const appendix: string[] = [];
const print = (text: string): void => {
  output.push(text);
  console.log(text);
};
const tables = (list: Table[]): void => list.forEach((table) => print(renderTable(table)));

console.log(output.join('\n'));
const work = await scratch('run');
const started = Date.now();
try {
  const operations = (['check', 'initialize'] as const).filter((op) => selected.has(op));
  if (operations.length > 0) {
    const { roundTripBench } = await import('./roundtrips.js');
    const result = await roundTripBench({
      providers,
      operations: [...operations],
      rttMs,
      processes: quick ? 1 : 3,
      warm: 2,
      base: work.dir,
      root,
    });
    tables(result.tables);
    misses.push(...result.misses);
    appendix.push(
      '### Request traces (one typical invocation per row; * = first request on a new connection)',
      '',
      '```',
      ...result.traces,
      '```',
      '',
    );
  }
  if (selected.has('coldstart')) {
    const { coldStartBench } = await import('./coldstart.js');
    const result = await coldStartBench({ root, base: work.dir, runs: quick ? 3 : 5 });
    tables(result.tables);
    misses.push(...result.misses);
    appendix.push(
      '### Packages whose code runs in the check function',
      '',
      ...result.notes.map((n) => `- ${n}`),
      '',
    );
  }
  if (selected.has('restic')) {
    const { resticBench } = await import('./restic.js');
    const result = await resticBench(quick ? 2 : 5);
    tables(result.tables);
    misses.push(...result.misses);
  }
  if (selected.has('fleet')) {
    const { fleetBench } = await import('./fleet.js');
    const result = await fleetBench({ root, base: work.dir, rttMs, quick });
    tables(result.tables);
    misses.push(...result.misses);
  }
  if (selected.has('inventory')) {
    const { inventoryBench } = await import('./inventory.js');
    const result = await inventoryBench({ root, base: work.dir, rttMs, quick });
    tables(result.tables);
    misses.push(...result.misses);
  }
} finally {
  await work.remove();
}
print(
  `### Targets missed (${misses.length})\n\n${misses.length > 0 ? misses.map((m) => `- ${m}`).join('\n') : '- none'}\n`,
);
print(appendix.join('\n'));
print(
  `Run took ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')} at the end.`,
);
if (values.out) await writeFile(values.out, `${output.join('\n')}\n`);
