/** Runs the real restic binary (Debian restic 0.14) against a repository, never using the user's cache. */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ResticRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** restic with `--no-cache`, the repository and password in the environment, plus `env` (backend credentials). */
export async function restic(
  repository: string,
  password: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ResticRun> {
  try {
    const { stdout, stderr } = await run('restic', ['--no-cache', ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: tmpdir(),
        RESTIC_REPOSITORY: repository,
        RESTIC_PASSWORD: password,
        ...env,
      },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

/** Like `restic` but throws with restic's output when it fails. */
export async function resticOk(
  repository: string,
  password: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const result = await restic(repository, password, args, env);
  if (result.code !== 0)
    throw new Error(`restic ${args.join(' ')} exited ${result.code}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** A small directory tree to back up. */
export async function sampleData(): Promise<string> {
  const { writeFile, mkdir } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'bsf-restic-data-'));
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'a.txt'), 'restic data\n');
  await writeFile(join(dir, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
  return dir;
}

/**
 * What a repository written by us must pass with the real restic: cat config, backup, snapshots and
 * check --read-data. Returns the config restic printed and the snapshot time it reports.
 */
export async function resticAcceptance(
  repository: string,
  password: string,
  env: Record<string, string> = {},
): Promise<{ config: { version: number; id: string; chunker_polynomial: string }; snapshotTime: string }> {
  const config = JSON.parse(await resticOk(repository, password, ['cat', 'config'], env)) as {
    version: number;
    id: string;
    chunker_polynomial: string;
  };
  await resticOk(repository, password, ['backup', '--host', 'bsf-test', await sampleData()], env);
  const snapshots = JSON.parse(await resticOk(repository, password, ['snapshots', '--json'], env)) as {
    time: string;
  }[];
  if (snapshots.length !== 1) throw new Error(`expected one snapshot, restic lists ${snapshots.length}`);
  const checked = await resticOk(repository, password, ['check', '--read-data'], env);
  if (!checked.includes('no errors were found')) throw new Error(`restic check: ${checked}`);
  return { config, snapshotTime: (snapshots[0] as { time: string }).time };
}

/** restic's RFC 3339 nanosecond time, as our reports give it (ISO, milliseconds, UTC). */
export function isoMillis(goTime: string): string {
  return new Date(goTime.replace(/(\.\d{3})\d+/, '$1')).toISOString();
}
