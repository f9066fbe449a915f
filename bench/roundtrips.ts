/**
 * check and initialize per provider, through the handlers, in fresh function processes: requests made,
 * connections opened, round trips on the critical path (from the proxy's request trace) and wall time at
 * 0 ms and at an injected round trip. The first invocation of each process is cold (adapter and SDK
 * imported, no connection, no token); the next ones are warm.
 *
 * Targets (issue #12): at most 2 request round trips warm (PUT then DELETE for check; the listing and the
 * marker read beside the PUT), +1 for the token fetch when cold (Swift, B2); wall time at the injected round
 * trip at most 1.3 × the floor, where the floor is those round trips plus, cold, one TCP handshake (a new
 * connection cannot be avoided then; a warm function can keep its connections).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { PROVIDERS, SERVED_BY, startBackend, type BenchBackend, type BenchProvider } from './backends.js';
import { criticalPath, formatTrace, type TraceEntry } from './proxy.js';
import { fmt, median, ratio, type Table } from './report.js';
import { buildFunctions } from './bundle.js';
import { FunctionWorker } from './workers.js';

type Operation = 'check' | 'initialize';

export interface RoundTripOptions {
  providers: BenchProvider[];
  operations: Operation[];
  rttMs: number;
  /** Fresh processes per (provider, operation, round trip): each gives one cold sample. */
  processes: number;
  /** Warm invocations per process. */
  warm: number;
  base: string;
  /** The repository root (serverless.yml, functions/). */
  root: string;
}

interface Sample {
  cold: boolean;
  rtt: number;
  wallMs: number;
  requests: number;
  connections: number;
  roundTrips?: number;
  handshakes?: number;
  trace: TraceEntry[];
  startedAt: number;
  ok: boolean;
  failed: string[];
}

const TOKEN_PROVIDERS = new Set<BenchProvider>(['swift', 'b2']);

function bodyFor(backend: BenchBackend, operation: Operation): Record<string, unknown> {
  if (operation === 'check') return backend.request('bench-check', 'bench/check');
  const id = randomUUID().slice(0, 8);
  // createBucket as a KubeStash controller would send it: the bucket exists, so it costs nothing.
  return backend.request(`bench-init-${id}`, `bench/init-${id}`, { createBucket: true });
}

async function measure(
  backend: BenchBackend,
  operation: Operation,
  handlerFile: string,
  rtt: number,
  options: RoundTripOptions,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  backend.proxy?.setRtt(rtt);
  for (let process = 0; process < options.processes; process++) {
    const worker = await FunctionWorker.start(handlerFile);
    try {
      for (let invocation = 0; invocation <= options.warm; invocation++) {
        const reply = await worker.invoke(bodyFor(backend, operation));
        if (reply.error) throw new Error(`${backend.provider} ${operation}: ${reply.error}`);
        const window = backend.proxy?.window(reply.startedAt, reply.endedAt);
        const path =
          window && rtt > 0 ? criticalPath(window.trace, backend.proxy?.handshakeRtts ?? 1) : undefined;
        samples.push({
          cold: invocation === 0,
          rtt,
          wallMs: reply.endedAt - reply.startedAt,
          requests: window?.trace.length ?? 0,
          connections: window?.connections ?? 0,
          roundTrips: path?.roundTrips,
          handshakes: path?.handshakes,
          trace: window?.trace ?? [],
          startedAt: reply.startedAt,
          ok: reply.phase === 'Ready',
          failed: reply.failed,
        });
      }
    } finally {
      await worker.stop();
    }
  }
  return samples;
}

export interface RoundTripResult {
  tables: Table[];
  traces: string[];
  misses: string[];
}

export async function roundTripBench(options: RoundTripOptions): Promise<RoundTripResult> {
  // The functions as deployed: bundled the way serverless.yml says.
  const bundles = await buildFunctions(
    options.root,
    join(options.base, 'bundle-roundtrips'),
    {},
    options.operations,
  );
  const handlerOf = (operation: Operation): string => bundles.find((b) => b.name === operation)?.file ?? '';
  const backends = await Promise.all(
    options.providers.map((provider) => startBackend(provider, options.base)),
  );
  const tables: Table[] = [];
  const traces: string[] = [];
  const misses: string[] = [];
  try {
    // The storage check looks at exists and is initialized; initialize gets a fresh prefix every time.
    const context = {
      deadline: Deadline.in(60_000),
      config: loadRuntimeConfig({ BSF_STAGE: 'local' }),
      log: silentLog,
    };
    for (const backend of backends) {
      const setup = await runOperation(
        'initialize',
        backend.request('bench-check', 'bench/check', { createBucket: true }),
        context,
      );
      if (setup.status.phase !== 'Ready')
        throw new Error(
          `${backend.provider}: set-up initialize failed: ${JSON.stringify(setup.status.conditions)}`,
        );
    }

    for (const operation of options.operations) {
      const rows: string[][] = [];
      for (const backend of backends) {
        const networked = backend.proxy !== undefined;
        const at0 = networked ? await measure(backend, operation, handlerOf(operation), 0, options) : [];
        const atRtt = await measure(
          backend,
          operation,
          handlerOf(operation),
          networked ? options.rttMs : 0,
          options,
        );
        const failures = [...at0, ...atRtt].filter((sample) => !sample.ok);
        if (failures.length > 0)
          misses.push(
            `${backend.provider} ${operation}: not Ready in ${failures.length} runs (${failures[0]?.failed.join('; ')})`,
          );
        for (const cold of [true, false]) {
          const base = at0.filter((s) => s.cold === cold);
          const delayed = atRtt.filter((s) => s.cold === cold);
          const label = cold ? 'cold' : 'warm';
          const targetRt = 2 + (cold && TOKEN_PROVIDERS.has(backend.provider) ? 1 : 0);
          const requestRt = median(delayed.map((s) => (s.roundTrips ?? 0) - (s.handshakes ?? 0)));
          const handshakes = median(delayed.map((s) => s.handshakes ?? 0));
          const wall = median(delayed.map((s) => s.wallMs));
          const wall0 = median(base.map((s) => s.wallMs));
          if (!networked) {
            rows.push([backend.provider, label, '–', '–', '–', '–', '–', fmt(wall, 1), '–', '–', '–', '–']);
            continue;
          }
          const floorMs = (targetRt + (cold ? 1 : 0)) * options.rttMs;
          const added = wall - wall0;
          rows.push([
            backend.provider,
            label,
            fmt(median(delayed.map((s) => s.requests))),
            fmt(median(delayed.map((s) => s.connections))),
            `${fmt(requestRt)} / ${targetRt} ${requestRt <= targetRt ? '✓' : '✗'}`,
            fmt(handshakes),
            fmt(wall0, 0),
            fmt(wall, 0),
            `${fmt(floorMs)}`,
            ratio(wall, floorMs, 1.3),
            fmt(added, 0),
            ratio(added, floorMs),
          ]);
          if (requestRt > targetRt)
            misses.push(
              `${backend.provider} ${operation} ${label}: ${requestRt} request round trips (target ${targetRt})`,
            );
          if (wall > 1.3 * floorMs)
            misses.push(
              `${backend.provider} ${operation} ${label}: ${fmt(wall)} ms at ${options.rttMs} ms RTT (floor ${floorMs} ms)`,
            );
          // One trace per row: the sample closest to the median wall time.
          const typical = [...delayed].sort(
            (a, b) => Math.abs(a.wallMs - wall) - Math.abs(b.wallMs - wall),
          )[0];
          if (typical) {
            const path = criticalPath(typical.trace, backend.proxy?.handshakeRtts ?? 1);
            traces.push(
              `${backend.provider} ${operation} ${label} at ${options.rttMs} ms RTT: ${fmt(typical.wallMs)} ms, ${typical.requests} requests, ${typical.connections} connections, critical path ${path.roundTrips} RT (${path.handshakes} handshake): ${path.chain.map((e) => `${e.method}${e.first ? '*' : ''}`).join(' → ')}`,
              ...formatTrace(typical.trace, typical.startedAt).map((line) => `    ${line}`),
            );
          }
        }
      }
      tables.push({
        title: `${operation} on a healthy backend (KubeStash storage, write probe on), ${options.rttMs} ms injected RTT`,
        columns: [
          'provider',
          'start',
          'requests',
          'conns',
          'request RTs / target',
          'handshakes',
          'wall @0 ms',
          `wall @${options.rttMs} ms`,
          'floor ms',
          'wall/floor (≤1.3)',
          'added by RTT',
          'added/floor',
        ],
        rows,
        notes: [
          `handlers bundled as serverless.yml builds them; medians over ${options.processes} fresh processes (cold) and ${options.processes * options.warm} warm invocations; servers: ${options.providers.map((p) => `${p} = ${SERVED_BY[p]}`).join(', ')}`,
          'request RTs: longest request → answer → request chain in the proxy trace, connection set-ups excluded (listed as handshakes; * in traces marks a request on a new connection)',
          'floor: target request RTs + 1 TCP handshake when cold, × RTT; added by RTT: wall @RTT − wall @0 ms, the part of the wall time the network adds (the rest is the emulator and this machine’s CPU)',
        ],
      });
    }
  } finally {
    await Promise.all(backends.map((backend) => backend.stop().catch(() => undefined)));
  }
  return { tables, traces, misses };
}

export const ALL_OPERATIONS: Operation[] = ['check', 'initialize'];
export { PROVIDERS };
