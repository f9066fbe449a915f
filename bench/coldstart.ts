/**
 * Cold start per function, on bundles built the way serverless.yml builds them: bundle size (what loads
 * at init, and what stays in lazily loaded chunks), the time to import the bundled handler in a fresh
 * `node` process, and which npm packages' code runs, at import and when invoking `check` with a local
 * storage and with an S3 storage. Targets (issue #12): import under 100 ms, bundle at most 1.5 MB, only
 * the provider in use loaded.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import {
  buildFunctions,
  outputsOf,
  packageBytes,
  readServerlessBuild,
  sdkFamily,
  type BuiltFunction,
} from './bundle.js';
import { fmt, median, ratio, type Table } from './report.js';
import { functionEnv } from './workers.js';
import type { StartedServer } from '../test/servers/types.js';

const run = promisify(execFile);

const IMPORT_TARGET_MS = 100;
const BUNDLE_TARGET_BYTES = 1.5 * 1024 * 1024;

const IMPORT_SCRIPT = `
const start = performance.now();
const cpu = process.cpuUsage();
await import(process.env.BENCH_MODULE);
const importMs = performance.now() - start;
const used = process.cpuUsage(cpu);
console.log('BENCH ' + JSON.stringify({ importMs, cpuMs: (used.user + used.system) / 1000 }));
`;

const INVOKE_SCRIPT = `
globalThis.__bsfLoaded = new Set();
const { handler } = await import(process.env.BENCH_MODULE);
const atImport = [...globalThis.__bsfLoaded];
const end = Date.now() + 20000;
const context = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => end - Date.now() };
const result = await handler(JSON.parse(process.env.BENCH_EVENT), context);
console.log('BENCH ' + JSON.stringify({ atImport, afterInvoke: [...globalThis.__bsfLoaded], phase: result?.status?.phase }));
`;

async function node<T>(script: string, env: Record<string, string>): Promise<{ value: T; wallMs: number }> {
  const start = performance.now();
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: functionEnv(env),
    maxBuffer: 16 * 1024 * 1024,
  });
  const wallMs = performance.now() - start;
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`no result from the probe process: ${stdout.slice(-500)}`);
  return { value: JSON.parse(line.slice('BENCH '.length)) as T, wallMs };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

function families(packages: string[]): string {
  const found = new Set(packages.map(sdkFamily).filter((f): f is string => f !== undefined));
  return found.size > 0 ? [...found].sort().join(', ') : 'none';
}

export interface ColdStartOptions {
  root: string;
  base: string;
  /** Fresh processes per import measurement. */
  runs: number;
}

export interface ColdStartResult {
  tables: Table[];
  misses: string[];
  notes: string[];
}

export async function coldStartBench(options: ColdStartOptions): Promise<ColdStartResult> {
  const config = await readServerlessBuild(options.root);
  const configuredSplitting = config.esbuild.splitting === true;
  const variants: { label: string; splitting: boolean }[] = [
    {
      label: `as serverless.yml builds (${configuredSplitting ? 'splitting' : 'one file'})`,
      splitting: configuredSplitting,
    },
    {
      label: configuredSplitting ? 'without splitting (one file)' : 'with splitting (esm chunks)',
      splitting: !configuredSplitting,
    },
  ];
  const tables: Table[] = [];
  const misses: string[] = [];
  const notes: string[] = [];
  const builds = new Map<string, BuiltFunction[]>();

  for (const [index, variant] of variants.entries()) {
    const outRoot = join(options.base, `bundle-${index}`);
    const built = await buildFunctions(options.root, outRoot, { splitting: variant.splitting });
    builds.set(variant.label, built);
    const rows: string[][] = [];
    for (const fn of built) {
      const sizes = outputsOf(fn);
      const imports: number[] = [];
      const processes: number[] = [];
      for (let i = 0; i < options.runs; i++) {
        const measured = await node<{ importMs: number }>(IMPORT_SCRIPT, { BENCH_MODULE: fn.file });
        imports.push(measured.value.importMs);
        processes.push(measured.wallMs);
      }
      const importMs = median(imports);
      const inBundle = [...packageBytes(fn).keys()];
      rows.push([
        fn.name,
        mb(sizes.staticBytes),
        ratio(sizes.staticBytes, BUNDLE_TARGET_BYTES, 1),
        sizes.lazyBytes > 0 ? `${mb(sizes.lazyBytes)} in ${sizes.chunks - 1} chunks` : '–',
        fmt(importMs, 0),
        ratio(importMs, IMPORT_TARGET_MS, 1),
        fmt(median(processes), 0),
        families(inBundle),
      ]);
      if (index === 0) {
        if (sizes.staticBytes > BUNDLE_TARGET_BYTES)
          misses.push(`${fn.name}: ${mb(sizes.staticBytes)} loaded at init (target 1.5 MB)`);
        if (importMs > IMPORT_TARGET_MS)
          misses.push(`${fn.name}: import ${fmt(importMs)} ms (target < 100 ms)`);
      }
    }
    tables.push({
      title: `Cold start per function, ${variant.label}`,
      columns: [
        'function',
        'loaded at init',
        'vs 1.5 MB',
        'lazy chunks',
        'import ms',
        'vs 100 ms',
        'node + import ms',
        'SDK families in the build',
      ],
      rows,
      notes: [
        `esbuild ${JSON.stringify({ ...config.esbuild, banner: config.esbuild.banner ? '(createRequire banner)' : undefined, ...(variant.splitting !== configuredSplitting ? { splitting: variant.splitting, outdir: '<dir>' } : {}) })}`,
        `medians over ${options.runs} fresh node processes; "import ms" is \`await import(handler)\` inside the process, "node + import ms" the whole process from spawn to exit`,
      ],
    });
  }

  // Which packages run: an instrumented build of the configured variant, check invoked with each storage.
  const instrumented = await buildFunctions(
    options.root,
    join(options.base, 'bundle-instrumented'),
    { splitting: configuredSplitting, instrument: true },
    ['check'],
  );
  const check = instrumented[0];
  if (check) {
    const localRoot = join(options.base, 'coldstart-volume');
    await mkdir(localRoot, { recursive: true });
    const s3rver = await (await import('../test/servers/s3rver.js')).server.start();
    try {
      const rows: string[][] = [];
      for (const [label, event, env] of storageEvents(localRoot, s3rver)) {
        const probe = await node<{ atImport: string[]; afterInvoke: string[]; phase?: string }>(
          INVOKE_SCRIPT,
          {
            BENCH_MODULE: check.file,
            BENCH_EVENT: JSON.stringify(event),
            ...env,
          },
        );
        const { atImport, afterInvoke, phase } = probe.value;
        const lazy = afterInvoke.filter((name) => !atImport.includes(name));
        rows.push([
          label,
          phase ?? '–',
          families(atImport),
          families(lazy),
          lazy.filter((n) => sdkFamily(n) !== undefined).length.toString(),
        ]);
        const provider = label.split(' ')[0] as string;
        const foreign = [...new Set([...atImport, ...afterInvoke].map(sdkFamily))].filter(
          (family): family is string =>
            family !== undefined && family !== provider && !(provider === 's3' && family === 'aws (common)'),
        );
        if (foreign.length > 0)
          misses.push(`check with a ${label} storage runs code of: ${foreign.join(', ')}`);
        notes.push(
          `check, ${label}: at import ${atImport.length} packages (${atImport.join(', ') || 'none'}); on invoke +${lazy.length} (${lazy.join(', ') || 'none'})`,
        );
      }
      tables.push({
        title: 'SDK code that runs in the check function (instrumented bundle, fresh process each)',
        columns: [
          'storage',
          'phase',
          'SDK families run at import',
          'SDK families run on invoke',
          'SDK packages run on invoke',
        ],
        rows,
        notes: [
          'every npm module in the instrumented build records its package when esbuild first evaluates it',
        ],
      });
    } finally {
      await s3rver.stop();
    }
  }
  return { tables, misses, notes };
}

function storageEvents(
  localRoot: string,
  s3rver: StartedServer,
): [string, Record<string, unknown>, Record<string, string>][] {
  const info = s3rver.info;
  const storage = (spec: Record<string, unknown>) => ({
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'coldstart', namespace: 'bench' },
    spec: { storage: spec, deletionPolicy: 'WipeOut' },
  });
  return [
    [
      'local storage',
      {
        storage: storage({ provider: 'local', local: { mountPath: localRoot, subPath: 'coldstart' } }),
        options: { createBucket: true },
      },
      {},
    ],
    [
      's3 storage (s3rver)',
      {
        storage: storage({
          provider: 's3',
          s3: { endpoint: info.endpoint, bucket: info.bucket, region: 'us-east-1', prefix: 'coldstart' },
        }),
        credentials: 'env',
        options: {},
      },
      { AWS_ACCESS_KEY_ID: info.accessKeyId ?? '', AWS_SECRET_ACCESS_KEY: info.secretAccessKey ?? '' },
    ],
  ];
}
