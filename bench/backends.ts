/**
 * The backends the benchmarks measure, each behind its own DelayProxy: the real servers and contract
 * fakes the test harness starts (test/servers/*.ts), and a local directory. `request` builds a KubeStash
 * BackupStorage request whose every byte to the store goes through the proxy.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { B2Fake } from '../test/fakes/b2.js';
import type { StartedServer, TestServer } from '../test/servers/types.js';
import { DelayProxy } from './proxy.js';

export const PROVIDERS = ['local', 's3', 'azure', 'gcs', 'swift', 'b2'] as const;
export type BenchProvider = (typeof PROVIDERS)[number];

/** Where each provider's store runs here. */
export const SERVED_BY: Record<BenchProvider, string> = {
  local: 'a local directory (no network)',
  s3: 's3rver 3.7.1',
  azure: 'azurite 3.35.0',
  gcs: 'contract fake (test/fakes/gcs.ts)',
  swift: 'Swift 2.30 all-in-one (tempauth)',
  b2: 'contract fake (test/fakes/b2.ts)',
};

export interface BenchBackend {
  provider: BenchProvider;
  /** Absent for `local`. */
  proxy?: DelayProxy;
  /** A KubeStash BackupStorage request for storage `name` under `prefix`. */
  request(name: string, prefix: string, options?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

const BUCKET = 'bsf-bench';

async function secretDir(base: string, values: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(base, 'secret-'));
  for (const [key, value] of Object.entries(values)) await writeFile(join(dir, key), value);
  return dir;
}

function backupStorage(name: string, storage: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name, namespace: 'bench' },
    spec: { storage, deletionPolicy: 'WipeOut' },
  };
}

async function startTestServer(module: Promise<{ server: TestServer }>): Promise<StartedServer> {
  return (await module).server.start();
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * The B2 fake answers b2_authorize_account with the loopback origin it was reached at (the Host header)
 * as apiUrl and downloadUrl, so behind a TCP proxy every later call, uploads included, goes through it.
 */
async function startB2FakeBehind(): Promise<{ fake: B2Fake; proxy: DelayProxy }> {
  const fake = new B2Fake();
  const proxy = await DelayProxy.start({ targetPort: portOf(await fake.start()) });
  return { fake, proxy };
}

export async function startBackend(provider: BenchProvider, base: string): Promise<BenchBackend> {
  switch (provider) {
    case 'local': {
      const root = join(base, 'local-volume');
      await mkdir(root, { recursive: true });
      return {
        provider,
        request: (name, prefix, options = {}) => ({
          storage: backupStorage(name, { provider: 'local', local: { mountPath: root, subPath: prefix } }),
          options,
        }),
        stop: async () => undefined,
      };
    }
    case 's3': {
      const started = await startTestServer(import('../test/servers/s3rver.js'));
      const info = started.info as Record<string, string>;
      const proxy = await DelayProxy.start({ targetPort: portOf(info.endpoint!) });
      const credentials = `dir:${await secretDir(base, { AWS_ACCESS_KEY_ID: info.accessKeyId!, AWS_SECRET_ACCESS_KEY: info.secretAccessKey! })}`;
      return {
        provider,
        proxy,
        request: (name, prefix, options = {}) => ({
          storage: backupStorage(name, {
            provider: 's3',
            s3: {
              endpoint: proxy.url(),
              bucket: BUCKET,
              region: 'us-east-1',
              prefix,
              secretName: 's3-secret',
            },
          }),
          credentials,
          options,
        }),
        stop: async () => {
          await proxy.close();
          await started.stop();
        },
      };
    }
    case 'azure': {
      const started = await startTestServer(import('../test/servers/azurite.js'));
      const info = started.info as Record<string, string>;
      const proxy = await DelayProxy.start({ targetPort: Number(info.port) });
      const credentials = `dir:${await secretDir(base, { AZURE_ACCOUNT_NAME: info.accountName!, AZURE_ACCOUNT_KEY: info.accountKey! })}`;
      return {
        provider,
        proxy,
        request: (name, prefix, options = {}) => ({
          storage: backupStorage(name, {
            provider: 'azure',
            azure: {
              storageAccount: info.accountName,
              container: BUCKET,
              prefix,
              secretName: 'azure-secret',
            },
          }),
          credentials,
          options: { endpoint: proxy.url(`/${info.accountName}`), ...options },
        }),
        stop: async () => {
          await proxy.close();
          await started.stop();
        },
      };
    }
    case 'gcs': {
      const started = await startTestServer(import('../test/servers/gcs-fake.js'));
      const info = started.info as Record<string, string>;
      const proxy = await DelayProxy.start({ targetPort: portOf(info.endpoint!) });
      const credentials = `dir:${await secretDir(base, { GOOGLE_PROJECT_ID: info.projectId! })}`;
      return {
        provider,
        proxy,
        request: (name, prefix, options = {}) => ({
          storage: backupStorage(name, {
            provider: 'gcs',
            gcs: { bucket: BUCKET, prefix, secretName: 'gcs-secret' },
          }),
          credentials,
          options: { endpoint: proxy.url(), ...options },
        }),
        stop: async () => {
          await proxy.close();
          await started.stop();
        },
      };
    }
    case 'swift': {
      const started = await startTestServer(import('../test/servers/swift.js'));
      const info = started.info as Record<string, string>;
      const proxy = await DelayProxy.start({ targetPort: portOf(info.proxyUrl!) });
      const credentials = `dir:${await secretDir(base, {
        ST_AUTH: proxy.url('/auth/v1.0'),
        ST_USER: info.user!,
        ST_KEY: info.key!,
      })}`;
      // tempauth answers with a storage URL on the server's own port; options.endpoint keeps the proxy in the way.
      const storageUrl = proxy.url(new URL(info.storageUrl!).pathname);
      return {
        provider,
        proxy,
        request: (name, prefix, options = {}) => ({
          storage: backupStorage(name, {
            provider: 'swift',
            swift: { container: BUCKET, prefix, secretName: 'swift-secret' },
          }),
          credentials,
          options: { endpoint: storageUrl, ...options },
        }),
        stop: async () => {
          await proxy.close();
          await started.stop();
        },
      };
    }
    case 'b2': {
      const { fake, proxy } = await startB2FakeBehind();
      fake.createBucket(BUCKET);
      const credentials = `dir:${await secretDir(base, { B2_ACCOUNT_ID: fake.accountId, B2_ACCOUNT_KEY: fake.masterKey })}`;
      return {
        provider,
        proxy,
        request: (name, prefix, options = {}) => ({
          storage: backupStorage(name, {
            provider: 'b2',
            b2: { bucket: BUCKET, prefix, secretName: 'b2-secret' },
          }),
          credentials,
          options: { endpoint: proxy.url(), ...options },
        }),
        stop: async () => {
          await proxy.close();
          await fake.stop();
        },
      };
    }
  }
}

/** A scratch directory removed by the returned function. */
export async function scratch(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `bsf-bench-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
