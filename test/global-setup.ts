/**
 * Starts every server in test/servers/ once per run, waits for each to be ready (each file does a real
 * readiness probe, never a sleep), hands their endpoints to tests and stops them after the run.
 * `TEST_SERVERS=s3rver,azurite` starts only those (for a quick local run of one suite).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { StartedServer, TestServer } from './servers/types.js';

declare module 'vitest' {
  export interface ProvidedContext {
    servers: Record<string, Record<string, string>>;
  }
}

const started: { name: string; server: StartedServer }[] = [];
let runDirectory: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Every temporary directory of the run (servers' data, mounted secrets, test CAs, volumes) goes under
  // one directory that teardown removes: test workers inherit TMPDIR, and os.tmpdir() reads it per call.
  runDirectory = await mkdtemp(join(tmpdir(), 'bsf-run-'));
  process.env.TMPDIR = runDirectory;
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'servers');
  const wanted = process.env.TEST_SERVERS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const files = (await readdir(dir)).filter(
    (file) => file.endsWith('.ts') && file !== 'types.ts' && !file.endsWith('.d.ts'),
  );
  const servers: TestServer[] = [];
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as { server?: TestServer };
    if (module.server && (!wanted || wanted.includes(module.server.name))) servers.push(module.server);
  }
  const results = await Promise.allSettled(
    servers.map(async (server) => {
      const running = await server.start();
      started.push({ name: server.name, server: running });
      return [server.name, running.info] as const;
    }),
  );
  const failed = results.flatMap((result, index) =>
    result.status === 'rejected' ? [`${servers[index]?.name}: ${String(result.reason)}`] : [],
  );
  if (failed.length > 0) {
    await teardown();
    throw new Error(`test servers failed to start:\n${failed.join('\n')}`);
  }
  project.provide(
    'servers',
    Object.fromEntries(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))),
  );
}

export async function teardown(): Promise<void> {
  await Promise.allSettled(started.splice(0).map(({ server }) => server.stop()));
  if (runDirectory) await rm(runDirectory, { recursive: true, force: true });
  runDirectory = undefined;
}
