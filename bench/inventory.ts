/**
 * Inventory: one invocation of the bundled inventory function walks a storage of restic repositories on
 * the GCS contract fake, behind the injected round trip. Throughput against the floor (list pages × RTT /
 * listing concurrency: the walk cannot go faster than its pages allow) and the process's peak RSS, at two
 * object counts, to show memory does not grow with the number of objects (target: ≥ 0.8 × the floor's
 * throughput; RSS independent of the object count).
 */
import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { buildFunctions } from './bundle.js';
import { DelayProxy } from './proxy.js';
import { fmt, ratio, type Table } from './report.js';
import { FunctionWorker } from './workers.js';
import { startFakeGcs } from '../test/fakes/gcs.js';

const BUCKET = 'bsf-inventory';
const REPOSITORIES = 4;
const SHARDS = 256;
const PAGE = 1000;
/** The inventory's listing workers without maxConnections (lib/inventory/inventory.ts DEFAULT_CONNECTIONS). */
const CONCURRENCY = 8;

export interface InventoryBenchOptions {
  root: string;
  base: string;
  rttMs: number;
  quick: boolean;
}

const hex = (): string => randomBytes(32).toString('hex');

/** Keys of `count` objects: restic repositories under `inv/`, data spread over the 256 shards. */
function* layout(from: number, to: number): Generator<string> {
  for (let i = from; i < to; i++) {
    const repo = `inv/repo-${i % REPOSITORIES}`;
    const n = Math.floor(i / REPOSITORIES);
    if (n === 0) yield `${repo}/config`;
    else if (n === 1) yield `${repo}/keys/${hex()}`;
    else if (n < 5) yield `${repo}/snapshots/${hex()}`;
    else if (n < 8) yield `${repo}/index/${hex()}`;
    else yield `${repo}/data/${(n % SHARDS).toString(16).padStart(2, '0')}/${hex()}`;
  }
}

/** The list pages a delimiter walk of `count` such objects needs (each directory ⌈entries / 1000⌉ pages). */
function pagesFor(count: number): number {
  const perRepo = Math.ceil(count / REPOSITORIES);
  const dataObjects = Math.max(0, perRepo - 8);
  const shardPages = Array.from({ length: SHARDS }, (_, s) =>
    Math.max(1, Math.ceil((Math.floor(dataObjects / SHARDS) + (s < dataObjects % SHARDS ? 1 : 0)) / PAGE)),
  ).reduce((a, b) => a + b, 0);
  // root, inv/, and per repository: itself, keys/, snapshots/, index/, data/, the shards.
  return 2 + REPOSITORIES * (5 + shardPages);
}

async function upload(endpoint: string, keys: Iterable<string>, concurrency = 48): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const iterator = keys[Symbol.iterator]();
  const one = (key: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const body = randomBytes(64);
      const req = request(
        `${endpoint}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${encodeURIComponent(key)}`,
        { method: 'POST', agent, headers: { 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`upload ${key}: ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) await one(next.value);
    }),
  );
  agent.destroy();
}

export async function inventoryBench(
  options: InventoryBenchOptions,
): Promise<{ tables: Table[]; misses: string[] }> {
  const counts = options.quick ? [2_000, 10_000] : [10_000, 100_000];
  const [bundle] = await buildFunctions(options.root, join(options.base, 'bundle-inventory'), {}, [
    'inventory',
  ]);
  if (!bundle) return { tables: [], misses: ['inventory: serverless.yml has no inventory function'] };
  const fake = await startFakeGcs();
  fake.createBucket(BUCKET, 'bench-project');
  const proxy = await DelayProxy.start({
    targetPort: Number(new URL(fake.endpoint).port),
    rttMs: options.rttMs,
  });
  const rows: string[][] = [];
  const misses: string[] = [];
  const rss: number[] = [];
  try {
    let loaded = 0;
    for (const count of counts) {
      const loadStart = Date.now();
      await upload(fake.endpoint, layout(loaded, count));
      const loadSeconds = (Date.now() - loadStart) / 1000;
      loaded = count;
      proxy.reset();
      const worker = await FunctionWorker.start(bundle.file, {
        BENCH_TIMEOUT_MS: '600000',
        GOOGLE_PROJECT_ID: 'bench-project',
      });
      try {
        const reply = await worker.invoke({
          // restic repositories are Stash's layout: a Stash Repository whose prefix holds them. (Under a
          // KubeStash BackupStorage a repository is a directory with repository.yaml, so the inventory
          // rightly found none of these there.)
          storage: {
            apiVersion: 'stash.appscode.com/v1alpha1',
            kind: 'Repository',
            metadata: { name: 'inventory', namespace: 'bench' },
            spec: { backend: { gcs: { bucket: BUCKET, prefix: 'inv' }, storageSecretName: 'gcs-secret' } },
          },
          credentials: 'env',
          options: { endpoint: proxy.url(), timeoutSeconds: 500 },
        });
        if (reply.error) throw new Error(`inventory: ${reply.error}`);
        const report = (reply.inventory ?? {}) as {
          complete?: boolean;
          listCalls?: number;
          objects?: number;
          repositories?: unknown[];
        };
        const wall = reply.endedAt - reply.startedAt;
        const pages = pagesFor(count);
        const floorMs = (pages * options.rttMs) / CONCURRENCY;
        const peak = reply.peakRssMb ?? Number.NaN;
        rss.push(peak);
        // From the proxy's trace: how long each listing took from the request to its answer (the RTT plus
        // the server's time), and how many were in flight on average (the walk's width as the wire saw it).
        const durations = proxy
          .window(reply.startedAt, reply.endedAt)
          .trace.map((entry) => (entry.answeredAt ?? entry.sentAt) - entry.sentAt)
          .sort((a, b) => a - b);
        const inFlight = durations.reduce((sum, ms) => sum + ms, 0) / wall;
        const medianList = durations[Math.floor(durations.length / 2)] ?? Number.NaN;
        rows.push([
          String(count),
          `${report.complete === true ? 'yes' : 'NO'}${report.repositories ? `, ${report.repositories.length} repos` : ''}`,
          String(report.listCalls ?? '–'),
          String(pages),
          String(proxy.counts().requests),
          String(proxy.counts().connections),
          fmt(wall),
          fmt(floorMs),
          inFlight.toFixed(1),
          fmt(medianList),
          fmt(reply.cpuMs ?? Number.NaN),
          fmt(count / (wall / 1000)),
          fmt(count / (floorMs / 1000)),
          ratio(floorMs, wall, 0.8, true),
          fmt(peak),
          ratio(peak, rss[0] ?? peak),
          fmt(loadSeconds, 0),
        ]);
        if (floorMs / wall < 0.8)
          misses.push(
            `inventory of ${count} objects: ${fmt(wall)} ms vs floor ${fmt(floorMs)} ms (${(floorMs / wall).toFixed(2)}× of the floor's throughput)`,
          );
        if ((report.repositories?.length ?? 0) !== REPOSITORIES)
          misses.push(
            `inventory of ${count} objects found ${report.repositories?.length ?? 0} of ${REPOSITORIES} repositories`,
          );
        if (report.complete !== true)
          misses.push(`inventory of ${count} objects did not complete in one invocation`);
      } finally {
        await worker.stop();
      }
    }
    const [first, last] = [rss[0] ?? 0, rss.at(-1) ?? 0];
    if (last > first * 1.25 + 16)
      misses.push(
        `inventory peak RSS grows with objects: ${fmt(first)} MB at ${counts[0]} → ${fmt(last)} MB at ${counts.at(-1)}`,
      );
  } finally {
    await proxy.close();
    await fake.stop();
  }
  return {
    tables: [
      {
        title: `Inventory on the GCS contract fake, ${options.rttMs} ms RTT`,
        columns: [
          'objects',
          'complete',
          'list calls',
          'floor pages',
          'requests',
          'conns',
          'wall ms',
          'floor ms',
          'in flight',
          'list ms (median)',
          'function CPU ms',
          'objects/s',
          'floor objects/s',
          'vs floor (≥0.8)',
          'peak RSS MB',
          'RSS vs first',
          'load s',
        ],
        rows,
        notes: [
          `${REPOSITORIES} restic repositories (config, keys/, snapshots/, index/, data/ over 256 shards) under one Stash Repository's prefix; bundled inventory function in a fresh process; listing concurrency ${CONCURRENCY} (the default without maxConnections)`,
          'floor: list pages a delimiter walk needs × RTT / concurrency; "load s" is the time to upload the objects into the fake (not measured)',
          '"in flight": listing time summed over the proxy trace / wall (8 = every worker waiting on the wire); "list ms": request to answer at the proxy, the RTT plus the server’s own time (the fake finds a page by binary search in a sorted key index); function CPU: user + system time of the function’s process',
        ],
      },
    ],
    misses,
  };
}
