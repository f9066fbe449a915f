/**
 * Fresh Node processes that play a function container: plain `node` (no TypeScript loader) imports one
 * bundled handler, as Lambda's init does, then invokes it for each request the parent sends over IPC. The
 * first invocation of a process is the cold one (adapter and SDK evaluated lazily, no connection, no
 * cached token); later ones are warm.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Every server here is on loopback, which the endpoint guard (lib/net/endpoint-guard.ts) refuses by default. */
// The workstation stage: the local backend's volume is the manifest's mountPath there (a deployed stage
// would need LOCAL_VOLUME_ROOT, lib/backends/local.ts).
export const BENCH_DEPLOYMENT = { ALLOW_PRIVATE_ENDPOINTS: 'loopback,private', BSF_STAGE: 'local' };

/** The environment of a deployed function, minus what the benchmark must not depend on. */
export function functionEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_DEV: 'false',
    ...BENCH_DEPLOYMENT,
  };
  for (const key of Object.keys(env)) {
    if (/^(CREDENTIALS_SOURCE|LOCAL_VOLUME_ROOT|NOTIFY_|FLEET_|NODE_OPTIONS|AWS_)/.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

export interface InvokeReply {
  id: number;
  /** Epoch ms (performance.timeOrigin + now), comparable with the proxy's trace. */
  startedAt: number;
  endedAt: number;
  phase?: string;
  failed: string[];
  error?: string;
  /** scheduledCheck's run summary, inventory's report: whatever the handler returned besides a status. */
  summary?: unknown;
  inventory?: unknown;
  /** Peak resident set size of the process so far (VmHWM), MB. */
  peakRssMb?: number;
  /** CPU time (user + system) the process used during the invocation, ms. */
  cpuMs?: number;
}

const WORKER_SCRIPT = `
const { handler } = await import(process.env.BENCH_MODULE);
const { readFileSync } = await import('node:fs');
const epoch = () => performance.timeOrigin + performance.now();
const peakRssMb = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const cpuMs = (from) => { const used = process.cpuUsage(from); return (used.user + used.system) / 1000; };
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 30000);
process.on('message', async ({ id, body }) => {
  const startedAt = epoch();
  const cpuAtStart = process.cpuUsage();
  const end = Date.now() + timeoutMs;
  const context = { functionName: 'bench', awsRequestId: String(id), getRemainingTimeInMillis: () => end - Date.now() };
  try {
    const result = await handler(body, context);
    const conditions = result?.status?.conditions ?? [];
    process.send({ id, startedAt, endedAt: epoch(), phase: result?.status?.phase,
      failed: conditions.filter((c) => c.status !== 'True').map((c) => c.type + '=' + c.reason + ': ' + c.message),
      summary: result?.summary, inventory: result?.inventory, peakRssMb: peakRssMb(), cpuMs: cpuMs(cpuAtStart) });
  } catch (error) {
    process.send({ id, startedAt, endedAt: epoch(), failed: [], error: String(error) });
  }
});
// Exit normally on SIGTERM, so --cpu-prof (BENCH_NODE_ARGS) writes its profile.
process.on('SIGTERM', () => process.exit(0));
process.send({ ready: true });
`;

export class FunctionWorker {
  #nextId = 0;
  #waiting = new Map<number, (reply: InvokeReply) => void>();
  #stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    child.on('message', (message: InvokeReply) => {
      const resolve = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      resolve?.(message);
    });
  }

  /** Starts a process that imports the handler module `file` (a bundle). */
  static async start(file: string, env: Record<string, string> = {}): Promise<FunctionWorker> {
    // BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the function's process.
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', WORKER_SCRIPT], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: functionEnv({ BENCH_MODULE: file, ...env }),
    });
    const worker = new FunctionWorker(child);
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`worker exited (${code}): ${worker.#stderr}`));
      child.once('exit', onExit);
      child.once('message', () => {
        child.off('exit', onExit);
        resolve();
      });
    });
    return worker;
  }

  invoke(body: Record<string, unknown>): Promise<InvokeReply> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onExit = (): void => reject(new Error(`worker exited: ${this.#stderr}`));
      this.child.once('exit', onExit);
      this.#waiting.set(id, (reply) => {
        this.child.off('exit', onExit);
        resolve(reply);
      });
      this.child.send({ id, body });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
  }
}
