/**
 * dynalite (npm): an independent implementation of the DynamoDB API, in memory, for the results store's
 * conformance suite (test/results.conformance.test.ts) with the real AWS SDK. Tables become ACTIVE at
 * once (`--createTableMs 0`). Credentials are not checked; any pair works.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, httpAnswers, startProcess, waitUntil } from '../support/process.js';
import type { TestServer } from './types.js';

function dynaliteBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('dynalite/package.json')), 'cli.js');
}

export const server: TestServer = {
  name: 'dynalite',
  async start() {
    const port = await freePort();
    const running = startProcess(process.execPath, [
      dynaliteBin(),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--createTableMs',
      '0',
      '--deleteTableMs',
      '0',
      '--updateTableMs',
      '0',
    ]);
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitUntil(() => httpAnswers(endpoint), 15_000, 'dynalite');
    } catch (error) {
      await running.stop();
      throw new Error(`${String(error)}\n${running.output()}`);
    }
    return {
      info: { endpoint, region: 'us-east-1', accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
      stop: () => running.stop(),
    };
  },
};
