/**
 * Starts every server in test/servers/ once per run, waits for each to be ready (each file does a real
 * readiness probe, never a sleep), hands their endpoints to tests and stops them after the run.
 * `TEST_SERVERS=s3rver,azurite` starts only those (for a quick local run of one suite).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findServers, startServers, type StartedSet } from './servers/start.js';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: Record<string, Record<string, string>>;
  }
}

let running: StartedSet | undefined;
let runDirectory: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Every temporary directory of the run (servers' data, mounted secrets, test CAs, volumes) goes under
  // one directory that teardown removes: test workers inherit TMPDIR, and os.tmpdir() reads it per call.
  runDirectory = await mkdtemp(join(tmpdir(), 'bsf-run-'));
  process.env.TMPDIR = runDirectory;
  const wanted = process.env.TEST_SERVERS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  running = await startServers(await findServers(wanted));
  if (running.failed.length > 0) {
    await teardown();
    throw new Error(
      `test servers failed to start:\n${running.failed.map(({ name, reason }) => `${name}: ${reason}`).join('\n')}`,
    );
  }
  project.provide(
    'servers',
    Object.fromEntries(running.started.map(({ name, server }) => [name, server.info])),
  );
}

export async function teardown(): Promise<void> {
  await running?.stop();
  running = undefined;
  if (runDirectory) await rm(runDirectory, { recursive: true, force: true });
  runDirectory = undefined;
}
