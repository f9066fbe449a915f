/** Runs the real restic binary (Debian restic 0.14) against a repository, never using the user's cache. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where restic finds a repository: its location, the backend's environment and extra global flags (--cacert). */
export interface ResticTarget {
  repository: string;
  env?: Record<string, string>;
  flags?: string[];
}

export interface ResticRun {
  code: number;
  stdout: string;
  stderr: string;
}

const asTarget = (target: string | ResticTarget): ResticTarget =>
  typeof target === 'string' ? { repository: target } : target;

/** restic with `--no-cache`, the repository and password in the environment. */
export async function restic(
  target: string | ResticTarget,
  password: string,
  args: string[],
): Promise<ResticRun> {
  const { repository, env = {}, flags = [] } = asTarget(target);
  try {
    const { stdout, stderr } = await run('restic', ['--no-cache', ...flags, ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: tmpdir(),
        RESTIC_REPOSITORY: repository,
        RESTIC_PASSWORD: password,
        ...env,
      },
      timeout: 90_000,
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
  target: string | ResticTarget,
  password: string,
  args: string[],
): Promise<string> {
  const result = await restic(target, password, args);
  if (result.code !== 0) {
    throw new Error(`restic ${args.join(' ')} exited ${result.code}: ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/** A small directory tree to back up. */
export async function sampleData(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bsf-restic-data-'));
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'a.txt'), 'restic data\n');
  await writeFile(join(dir, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
  return dir;
}

/** restic init and one backup; returns the snapshot time restic reports. */
export async function resticInitAndBackup(
  target: string | ResticTarget,
  password: string,
  version: 1 | 2 = 2,
): Promise<string> {
  await resticOk(target, password, ['init', '--repository-version', String(version)]);
  await resticOk(target, password, ['backup', '--host', 'bsf-test', await sampleData()]);
  const [snapshot] = JSON.parse(await resticOk(target, password, ['snapshots', '--json'])) as {
    time: string;
  }[];
  if (!snapshot) throw new Error('restic lists no snapshot after a backup');
  return snapshot.time;
}

/**
 * What a repository written by us must pass with the real restic: cat config, backup, snapshots and
 * check --read-data. Returns the config restic printed and the snapshot time it reports.
 */
export async function resticAcceptance(
  target: string | ResticTarget,
  password: string,
): Promise<{ config: { version: number; id: string; chunker_polynomial: string }; snapshotTime: string }> {
  const config = JSON.parse(await resticOk(target, password, ['cat', 'config'])) as {
    version: number;
    id: string;
    chunker_polynomial: string;
  };
  await resticOk(target, password, ['backup', '--host', 'bsf-test', await sampleData()]);
  const snapshots = JSON.parse(await resticOk(target, password, ['snapshots', '--json'])) as {
    time: string;
  }[];
  if (snapshots.length !== 1) throw new Error(`expected one snapshot, restic lists ${snapshots.length}`);
  const checked = await resticOk(target, password, ['check', '--read-data']);
  if (!checked.includes('no errors were found')) throw new Error(`restic check: ${checked}`);
  return { config, snapshotTime: (snapshots[0] as { time: string }).time };
}

/** restic's RFC 3339 nanosecond time, as our reports give it (ISO, milliseconds, UTC). */
export function isoMillis(goTime: string): string {
  return new Date(goTime.replace(/(\.\d{3})\d+/, '$1')).toISOString();
}
