/**
 * azurite's blob service, in memory, on 127.0.0.1:10000. The port is fixed on purpose: restic 0.14's
 * embedded Azure SDK reaches the development account only there (shared/spec/emulators.md). When another
 * run already holds 10000, this run's azurite takes a free port and publishes `restic: 'false'`, so
 * restic tests know the binary cannot reach it while every SDK-driven test still runs.
 * `--skipApiVersionCheck`: @azure/storage-blob 12.32.0 speaks a newer service version than azurite 3.35.0.
 */
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort, httpAnswers, startProcess, waitUntil } from '../support/process.js';
import type { StartedServer, TestServer } from './types.js';

const HOST = '127.0.0.1';
const PORT = 10000;
/** The development account and key Microsoft publishes in azurite's documentation; not a secret. */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

function azuriteBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
}

/** One azurite process on `port` (the fixed one when free, unless `anyPort`), ready to answer. */
export async function startAzurite(anyPort = false): Promise<StartedServer> {
  const port = !anyPort && (await portIsFree(PORT)) ? PORT : await freePort();
  const running = startProcess(process.execPath, [
    azuriteBin(),
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--inMemoryPersistence',
    '--blobHost',
    HOST,
    '--blobPort',
    String(port),
  ]);
  const endpoint = `http://${HOST}:${port}/${ACCOUNT}`;
  try {
    await waitUntil(
      async () => {
        if (running.child.exitCode !== null)
          throw new Error(`azurite exited (${running.child.exitCode}): ${running.output()}`);
        return httpAnswers(`${endpoint}?comp=list`);
      },
      15_000,
      'azurite',
    );
  } catch (error) {
    await running.stop();
    throw error;
  }
  return {
    info: {
      endpoint,
      accountName: ACCOUNT,
      accountKey: ACCOUNT_KEY,
      host: HOST,
      port: String(port),
      restic: String(port === PORT),
    },
    stop: running.stop,
  };
}

export const server: TestServer = { name: 'azurite', start: () => startAzurite() };
