/**
 * Figures, no assertions: on the local backend, how long our verify takes against the scrypt floor
 * (one key derivation at the key file's parameters, which no verify can avoid), and our initialize
 * against `restic init`. Run: `npx tsx bench/restic.ts [rounds]`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { LocalStore } from '../lib/backends/local.js';
import { calibratedParams, deriveKey, SALT_SIZE } from '../lib/restic/kdf.js';
import { initRepository, openRepository } from '../lib/restic/repository.js';

const run = promisify(execFile);
const PASSWORD = 'bench password';
const rounds = Number(process.argv[2] ?? 5);

async function timed(step: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await step();
  return performance.now() - start;
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `${label.padEnd(34)} median ${median.toFixed(0).padStart(5)} ms   min ${(sorted[0] ?? 0).toFixed(0).padStart(5)} ms   max ${(sorted.at(-1) ?? 0).toFixed(0).padStart(5)} ms`;
}

const base = await mkdtemp(join(tmpdir(), 'bsf-bench-restic-'));
try {
  const calibrationMs = await timed(() => calibratedParams());
  const params = await calibratedParams();
  console.log(
    `scrypt calibration: N=${params.N} r=${params.r} p=${params.p} (measured in ${calibrationMs.toFixed(0)} ms, once per process)`,
  );

  const floor: number[] = [];
  const ours: number[] = [];
  const theirs: number[] = [];
  const verify: number[] = [];
  for (let round = 0; round < rounds; round++) {
    floor.push(await timed(() => deriveKey(PASSWORD, randomBytes(SALT_SIZE), params)));

    const store = new LocalStore(base);
    const path = `ours-${round}`;
    ours.push(await timed(() => initRepository(store, path, PASSWORD)));
    verify.push(await timed(() => openRepository(store, path, PASSWORD)));

    const resticPath = join(base, `restic-${round}`);
    theirs.push(
      await timed(() =>
        run('restic', ['--no-cache', 'init', '--repo', resticPath], {
          env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
        }),
      ),
    );
  }
  console.log(summary('scrypt floor (one derivation)', floor));
  console.log(summary('our verify (open + report)', verify));
  console.log(summary('our initialize (local)', ours));
  console.log(summary('restic init (local, process)', theirs));
} finally {
  await rm(base, { recursive: true, force: true });
}
