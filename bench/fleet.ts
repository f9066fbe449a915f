/**
 * Fleet: one scheduledCheck invocation (bundled as deployed, in a fresh process) checks 1,000 storages,
 * each behind the injected round trip (half on s3rver, half on the GCS contract fake, every byte through
 * a DelayProxy). Wall time and the process's peak RSS, against the targets (≤ 10 s, ≤ 256 MB on
 * 2 cores), at the configured concurrency and at the largest allowed. The floor is the round trips one
 * check needs (2 warm, from the round-trip benchmark's target) × entries / concurrency.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFleetConfig } from '../lib/fleet/config.js';
import { buildFunctions } from './bundle.js';
import { startBackend, type BenchBackend } from './backends.js';
import { fmt, ratio, type Table } from './report.js';
import { FunctionWorker } from './workers.js';

const WALL_TARGET_MS = 10_000;
const DEFAULT_CONCURRENCY = loadFleetConfig({}).concurrency;
const RSS_TARGET_MB = 256;

export interface FleetBenchOptions {
  root: string;
  base: string;
  rttMs: number;
  quick: boolean;
}

interface RequestShape {
  storage: Record<string, unknown>;
  credentials?: string;
  options?: { endpoint?: string };
}

/** A manifest item for storage `index` of a backend, credentials by secretName through CREDENTIALS_SOURCE. */
async function manifestItem(
  backend: BenchBackend,
  index: number,
  secrets: string,
): Promise<Record<string, unknown>> {
  const name = `fleet-${backend.provider}-${index}`;
  const request = backend.request(name, `fleet/${name}`) as unknown as RequestShape;
  const secretName = `${backend.provider}-secret`;
  if (index === 0 && request.credentials?.startsWith('dir:')) {
    // The template resolves bench/<secretName> to the backend's own secret directory.
    const { symlink } = await import('node:fs/promises');
    await mkdir(join(secrets, 'bench'), { recursive: true });
    await symlink(request.credentials.slice('dir:'.length), join(secrets, 'bench', secretName)).catch(
      () => undefined,
    );
  }
  const item = structuredClone(request.storage) as { metadata: Record<string, unknown> };
  if (request.options?.endpoint) {
    item.metadata.annotations = { 'backupstorage-functions.io/endpoint': request.options.endpoint };
  }
  return item;
}

export async function fleetBench(options: FleetBenchOptions): Promise<{ tables: Table[]; misses: string[] }> {
  const entries = options.quick ? 200 : 1000;
  const [bundle] = await buildFunctions(options.root, join(options.base, 'bundle-fleet'), {}, [
    'scheduledCheck',
  ]);
  if (!bundle) return { tables: [], misses: ['fleet: serverless.yml has no scheduledCheck function'] };
  const backends = await Promise.all(
    (['s3', 'gcs'] as const).map((provider) => startBackend(provider, options.base)),
  );
  const rows: string[][] = [];
  const misses: string[] = [];
  try {
    const secrets = join(options.base, 'fleet-secrets');
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < entries; i++)
      items.push(await manifestItem(backends[i % 2] as BenchBackend, Math.floor(i / 2), secrets));
    // Every storage's bucket exists; the prefixes are fresh, so each check finds no metadata.yaml (NotReady,
    // BackendInitialized=False) after the same requests a healthy one makes.
    const manifest = join(options.base, 'fleet.json');
    await writeFile(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    for (const backend of backends) backend.proxy?.setRtt(options.rttMs);

    // The deployment's default, the old default and the largest allowed (or BENCH_FLEET_CONCURRENCY=a,b).
    const concurrencies = process.env.BENCH_FLEET_CONCURRENCY?.split(',').map(Number) ?? [
      DEFAULT_CONCURRENCY,
      8,
      64,
    ];
    for (const concurrency of concurrencies) {
      for (const backend of backends) backend.proxy?.reset();
      const worker = await FunctionWorker.start(bundle.file, {
        CREDENTIALS_SOURCE: `dir:${secrets}/{namespace}/{name}`,
        FLEET_CONCURRENCY: String(concurrency),
        FLEET_FANOUT_THRESHOLD: String(entries * 10),
        FLEET_ENTRY_TIMEOUT_SECONDS: '20',
        BENCH_TIMEOUT_MS: '300000',
      });
      try {
        const reply = await worker.invoke({ fleet: `file:${manifest}` });
        if (reply.error) throw new Error(`scheduledCheck: ${reply.error}`);
        const wall = reply.endedAt - reply.startedAt;
        const summary = reply.summary as { checked?: number; byReason?: Record<string, number> } | undefined;
        const requests = backends.reduce((sum, b) => sum + (b.proxy?.counts().requests ?? 0), 0);
        const connections = backends.reduce((sum, b) => sum + (b.proxy?.counts().connections ?? 0), 0);
        const floorMs = (2 * options.rttMs * entries) / concurrency;
        const rss = reply.peakRssMb ?? Number.NaN;
        rows.push([
          String(entries),
          String(concurrency),
          String(summary?.checked ?? '–'),
          Object.entries(summary?.byReason ?? {})
            .map(([reason, count]) => `${reason} ${count}`)
            .join(', ') || '–',
          String(requests),
          String(connections),
          fmt(wall),
          fmt(reply.cpuMs ?? Number.NaN),
          fmt(floorMs),
          ratio(wall, floorMs),
          ratio(wall, WALL_TARGET_MS, 1),
          fmt(rss),
          ratio(rss, RSS_TARGET_MB, 1),
        ]);
        if (wall > WALL_TARGET_MS && concurrency === DEFAULT_CONCURRENCY)
          misses.push(
            `fleet (concurrency ${concurrency}): ${fmt(wall)} ms for ${entries} storages (target ≤ 10 s)`,
          );
        if (rss > RSS_TARGET_MB && concurrency === DEFAULT_CONCURRENCY)
          misses.push(`fleet (concurrency ${concurrency}): peak RSS ${fmt(rss)} MB (target ≤ 256 MB)`);
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await Promise.all(backends.map((b) => b.stop().catch(() => undefined)));
  }
  return {
    tables: [
      {
        title: `Fleet: one scheduledCheck invocation, ${options.rttMs} ms RTT to every storage`,
        columns: [
          'storages',
          'FLEET_CONCURRENCY',
          'checked',
          'reasons',
          'requests',
          'conns',
          'wall ms',
          'function CPU ms',
          'floor ms',
          'vs floor',
          'vs 10 s',
          'peak RSS MB',
          'vs 256 MB',
        ],
        rows,
        notes: [
          'half s3rver, half the GCS contract fake, each behind its proxy; inline mode (fan-out threshold above the fleet); bundled handler in a fresh process',
          `floor: 2 round trips per check × storages / concurrency; FLEET_CONCURRENCY ${DEFAULT_CONCURRENCY} is the deployment default (8 before), 64 the largest it accepts; function CPU: user + system time of the function's process during the invocation`,
          'targets missed are listed for the default concurrency only; the other rows show what the setting does',
          'the storages are not initialized (fresh prefixes): each check makes the requests of a healthy one and reports BackendInitialized=False',
        ],
      },
    ],
    misses,
  };
}
