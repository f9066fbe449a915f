/**
 * s3rver (npm), twice from one data directory: plain HTTP and HTTPS with the test CA. Credentials
 * S3RVER/S3RVER, region us-east-1, path-style. A default bucket exists from the start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { freePort, httpAnswers, startProcess, waitUntil, type RunningProcess } from '../support/process.js';
import { makeTestCa } from '../support/tls.js';
import type { TestServer } from './types.js';

const BUCKET = 'bsf-default';

/**
 * s3rver signs its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through its
 * legacy provider: without it every truncated listing is a 500.
 */
const NODE_FLAGS = ['--openssl-legacy-provider'];

/** The s3rver CLI behind a launcher that closes its PUT-beside-DELETE directory race (see the launcher). */
function s3rverBin(): string {
  return fileURLToPath(new URL('../support/s3rver-launch.mjs', import.meta.url));
}

/** True when an HTTPS GET that trusts only `ca` answers at all. */
function httpsAnswers(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export const server: TestServer = {
  name: 's3rver',
  async start() {
    const dir = await mkdtemp(join(tmpdir(), 'bsf-s3rver-'));
    const ca = await makeTestCa();
    const [port, tlsPort] = await Promise.all([freePort(), freePort()]);
    const common = ['-d', dir, '-a', '127.0.0.1', '--silent', '--configure-bucket', BUCKET];
    const processes: RunningProcess[] = [];
    const stop = async (): Promise<void> => {
      await Promise.all(processes.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    };
    try {
      processes.push(
        startProcess(process.execPath, [...NODE_FLAGS, s3rverBin(), ...common, '-p', String(port)]),
      );
      processes.push(
        startProcess(process.execPath, [
          ...NODE_FLAGS,
          s3rverBin(),
          ...common,
          '-p',
          String(tlsPort),
          '--key',
          ca.keyPath,
          '--cert',
          ca.certPath,
        ]),
      );
      const caPem = await readFile(ca.caPath, 'utf8');
      await Promise.all([
        waitUntil(() => httpAnswers(`http://127.0.0.1:${port}/`), 15_000, 's3rver (http)'),
        waitUntil(() => httpsAnswers(`https://127.0.0.1:${tlsPort}/`, caPem), 15_000, 's3rver (https)'),
      ]);
    } catch (error) {
      const output = processes.map((p) => p.output()).join('\n');
      await stop();
      throw new Error(`${String(error)}\n${output}`);
    }
    return {
      info: {
        endpoint: `http://127.0.0.1:${port}`,
        tlsEndpoint: `https://127.0.0.1:${tlsPort}`,
        caPath: ca.caPath,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        region: 'us-east-1',
        bucket: BUCKET,
      },
      stop,
    };
  },
};
