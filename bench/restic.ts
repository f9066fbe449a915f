/**
 * Figures, no assertions: on the local backend, how long our verify takes against the scrypt floor
 * (one key derivation at the key file's parameters, which no verify can avoid), and our initialize
 * against `restic init` at the same key strength (the N, r, p restic's own calibration wrote into its
 * key file this round). Part of `npm run bench` (`npm run bench -- restic`); also runs on its own:
 * `npx tsx bench/restic.ts [rounds]`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LocalStore } from '../lib/backends/local/store.js';
import type { KdfParams } from '../lib/config/kdf-params.js';
import { calibrate, deriveKey, SALT_SIZE } from '../lib/restic/kdf.js';
import { initRepository, openRepository } from '../lib/restic/repository.js';
import { fmt, median, ratio, renderTable, type Table } from './report.js';

const run = promisify(execFile);
const PASSWORD = 'bench password';

async function timed(step: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await step();
  return performance.now() - start;
}

/** The scrypt parameters of the one key file restic wrote. */
async function resticKeyParams(repository: string): Promise<KdfParams> {
  const [file] = await readdir(join(repository, 'keys'));
  const key = JSON.parse(await readFile(join(repository, 'keys', file as string), 'utf8')) as KdfParams;
  return { N: key.N, r: key.r, p: key.p };
}

export interface ResticResult {
  tables: Table[];
  misses: string[];
}

export async function resticBench(rounds: number): Promise<ResticResult> {
  const base = await mkdtemp(join(tmpdir(), 'bsf-bench-restic-'));
  const env = { ...process.env, RESTIC_PASSWORD: PASSWORD };
  const samples = {
    floor: [] as number[],
    verify: [] as number[],
    resticCat: [] as number[],
    ours: [] as number[],
    oursCalibrating: [] as number[],
    calibration: [] as number[],
    restic: [] as number[],
  };
  const strengths: string[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const resticPath = join(base, `restic-${round}`);
      samples.restic.push(
        await timed(() => run('restic', ['--no-cache', 'init', '--repo', resticPath], { env })),
      );
      const params = await resticKeyParams(resticPath);
      strengths.push(`N=${params.N} r=${params.r} p=${params.p}`);

      samples.floor.push(await timed(() => deriveKey(PASSWORD, randomBytes(SALT_SIZE), params)));
      // Verify restic's own repository: open (key file, config) and report.
      const store = new LocalStore(base);
      samples.verify.push(await timed(() => openRepository(store, `restic-${round}`, PASSWORD)));
      samples.resticCat.push(
        await timed(() => run('restic', ['--no-cache', 'cat', 'config', '--repo', resticPath], { env })),
      );

      samples.ours.push(await timed(() => initRepository(store, `ours-${round}`, PASSWORD, { kdf: params })));
      // What a cold initialize without options.kdf pays: calibration (once per process), then the init.
      let calibrated: KdfParams | undefined;
      const calibration = await timed(async () => {
        calibrated = await calibrate();
      });
      samples.calibration.push(calibration);
      samples.oursCalibrating.push(
        calibration +
          (await timed(() => initRepository(store, `ours-cal-${round}`, PASSWORD, { kdf: calibrated }))),
      );
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  const floor = median(samples.floor);
  const restic = median(samples.restic);
  const verify = median(samples.verify);
  const ours = median(samples.ours);
  const misses: string[] = [];
  if (verify > 1.05 * floor) misses.push(`restic verify: ${fmt(verify)} ms vs scrypt floor ${fmt(floor)} ms`);
  if (ours > 0.35 * restic)
    misses.push(`restic initialize: ${fmt(ours)} ms vs restic init ${fmt(restic)} ms`);
  const rows = [
    [
      'verify (open restic’s repository)',
      fmt(verify),
      'scrypt floor (one derivation)',
      fmt(floor),
      ratio(verify, floor, 1.05),
      '≤ 1.05×',
    ],
    [
      '`restic cat config` (process)',
      fmt(median(samples.resticCat)),
      'scrypt floor',
      fmt(floor),
      ratio(median(samples.resticCat), floor),
      'anchor',
    ],
    [
      'initialize, same key strength',
      fmt(ours),
      '`restic init` (process)',
      fmt(restic),
      ratio(ours, restic, 0.35),
      '≤ 0.35×',
    ],
    [
      'initialize, calibrating (cold, no options.kdf)',
      fmt(median(samples.oursCalibrating)),
      '`restic init` (process)',
      fmt(restic),
      ratio(median(samples.oursCalibrating), restic),
      'anchor',
    ],
    [
      'our calibration alone',
      fmt(median(samples.calibration)),
      'scrypt floor',
      fmt(floor),
      ratio(median(samples.calibration), floor),
      'anchor',
    ],
  ];
  return {
    tables: [
      {
        title: 'restic on the local backend',
        columns: ['ours', 'ms', 'floor / anchor', 'ms', 'ratio', 'target'],
        rows,
        notes: [
          `medians over ${rounds} rounds; key strength each round = what restic 0.14's calibration wrote: ${[...new Set(strengths)].join('; ')}`,
          'the floor is measured in the same round with the same parameters, so machine load cancels out of the ratio',
        ],
      },
    ],
    misses,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await resticBench(Number(process.argv[2] ?? 5));
  for (const table of result.tables) console.log(renderTable(table));
  for (const miss of result.misses) console.log(`missed: ${miss}`);
}
