/**
 * Finding and starting the servers of test/servers/: shared by the test run's global setup and by
 * `npm run emulators` (scripts/emulators.ts), so both start each server the same way. Each file that
 * exports `server: TestServer` is one server; this file and types.ts export none.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StartedServer, TestServer } from './types.js';

/** The servers in test/servers/, by file name order; only the `wanted` names when given. */
export async function findServers(wanted?: readonly string[]): Promise<TestServer[]> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = (await readdir(dir)).filter(
    (file) => file.endsWith('.ts') && file !== 'types.ts' && !file.endsWith('.d.ts'),
  );
  const servers: TestServer[] = [];
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as { server?: TestServer };
    if (module.server && (!wanted || wanted.includes(module.server.name))) servers.push(module.server);
  }
  return servers;
}

export interface StartedSet {
  started: { name: string; server: StartedServer }[];
  failed: { name: string; reason: string }[];
  /** Stops every server that started. */
  stop(): Promise<void>;
}

/** Starts `servers` side by side; each one's failure is reported, never thrown. */
export async function startServers(servers: readonly TestServer[]): Promise<StartedSet> {
  const started: StartedSet['started'] = [];
  const results = await Promise.allSettled(
    servers.map(async (server) => {
      const running = await server.start();
      started.push({ name: server.name, server: running });
    }),
  );
  const failed = results.flatMap((result, index) =>
    result.status === 'rejected'
      ? [{ name: servers[index]?.name ?? '?', reason: String(result.reason) }]
      : [],
  );
  return {
    started,
    failed,
    stop: async () => {
      await Promise.allSettled(started.splice(0).map(({ server }) => server.stop()));
    },
  };
}
