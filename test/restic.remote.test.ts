/**
 * restic repositories on the real servers restic 0.14 can talk to here (emulators.md): azurite on port
 * 10000, Swift native (tempauth) and s3rver over TLS with the test CA. In both directions: what our
 * initialize writes passes restic's cat config, backup, snapshots and check --read-data; what restic
 * writes, our check opens. And 20 concurrent initializes make one repository with one key.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import type { OperationContext } from '../lib/operations/context.js';
import type { RepositoryReport } from '../lib/operations/repositories.js';
import type { OperationResult } from '../lib/status/result.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';
import {
  isoMillis,
  resticAcceptance,
  resticInitAndBackup,
  resticOk,
  type ResticTarget,
} from './support/restic.js';

const PASSWORD = 'restic on a real server';
const FAST_KDF = { N: 1024, r: 8, p: 1 };
const context = (): OperationContext => ({
  deadline: Deadline.in(80_000),
  config: loadRuntimeConfig({ BSF_STAGE: 'local', BSF_ALLOW_WEAK_KDF: '1' }),
  log: silentLog,
});

interface RemoteBackend {
  /** A Stash backend block (without storageSecretName) for a prefix. */
  backend(prefix: string): Record<string, unknown>;
  /** Provider keys of the storage secret. */
  secret(): Promise<Record<string, string>>;
  endpoint?: string;
  restic(prefix: string): ResticTarget;
}

const backends: Record<string, () => RemoteBackend> = {
  azurite: () => {
    const info = serverInfo('azurite');
    const container = `restic-${randomUUID().slice(0, 8)}`;
    const keys = {
      AZURE_ACCOUNT_NAME: info.accountName as string,
      AZURE_ACCOUNT_KEY: info.accountKey as string,
    };
    return {
      backend: (prefix) => ({ azure: { container, prefix } }),
      secret: async () => keys,
      endpoint: info.endpoint,
      restic: (prefix) => ({ repository: `azure:${container}:/${prefix}`, env: keys }),
    };
  },
  swift: () => {
    const info = serverInfo('swift');
    const container = `restic-${randomUUID().slice(0, 8)}`;
    const keys = {
      ST_AUTH: info.authUrl as string,
      ST_USER: info.user as string,
      ST_KEY: info.key as string,
    };
    return {
      backend: (prefix) => ({ swift: { container, prefix } }),
      secret: async () => keys,
      restic: (prefix) => ({ repository: `swift:${container}:/${prefix}`, env: keys }),
    };
  },
  's3rver over TLS': () => {
    const info = serverInfo('s3rver');
    const endpoint = info.tlsEndpoint as string;
    const bucket = info.bucket as string;
    const keys = {
      AWS_ACCESS_KEY_ID: info.accessKeyId as string,
      AWS_SECRET_ACCESS_KEY: info.secretAccessKey as string,
    };
    return {
      backend: (prefix) => ({ s3: { endpoint, bucket, prefix, region: info.region } }),
      secret: async () => ({ ...keys, CA_CERT_DATA: await readFile(info.caPath as string, 'utf8') }),
      restic: (prefix) => ({
        repository: `s3:${endpoint}/${bucket}/${prefix}`,
        env: keys,
        flags: ['--cacert', info.caPath as string],
      }),
    };
  },
};

const condition = (result: OperationResult, type: string) =>
  result.status.conditions.find((c) => c.type === type);
const report = (result: OperationResult) => ((result.status.repositories ?? []) as RepositoryReport[])[0];

for (const [name, make] of Object.entries(backends)) {
  describe(`restic on ${name}`, () => {
    let remote: RemoteBackend;
    let password: string;
    let wrongPassword: string;
    const stash = (prefix: string) => ({ storageSecretName: 'restic-secret', ...remote.backend(prefix) });
    const call = (
      operation: 'initialize' | 'check',
      prefix: string,
      credentials: string,
      options: object = {},
    ) =>
      runOperation(
        operation,
        { storage: stash(prefix), credentials, options: { endpoint: remote.endpoint, ...options } },
        context(),
      );

    beforeAll(async () => {
      remote = make();
      const keys = await remote.secret();
      password = await secretDir({ ...keys, RESTIC_PASSWORD: PASSWORD }, 'restic-remote');
      wrongPassword = await secretDir({ ...keys, RESTIC_PASSWORD: 'wrong' }, 'restic-remote');
      if (name === 'azurite')
        expect(serverInfo('azurite').restic, 'restic 0.14 reaches azurite only on port 10000').toBe('true');
    });

    it('ours → restic: a repository our initialize wrote passes cat config, backup, snapshots, check --read-data', async () => {
      const prefix = `stash/ours-${randomUUID().slice(0, 8)}`;
      const initialized = await call('initialize', prefix, password, { createBucket: true, kdf: FAST_KDF });
      expect(initialized.status.phase, JSON.stringify(initialized.status)).toBe('Ready');
      expect(report(initialized)).toMatchObject({ created: true, version: 2, keyCount: 1 });

      const accepted = await resticAcceptance(remote.restic(prefix), PASSWORD);
      expect(accepted.config.id).toBe(report(initialized)?.id);

      const checked = await call('check', prefix, password);
      expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
      expect(report(checked)).toMatchObject({
        snapshotCount: 1,
        newestSnapshotTime: isoMillis(accepted.snapshotTime),
        unreadableSnapshots: 0,
      });
    });

    it('restic → ours: opens what restic init and backup wrote; WrongPassword and NoRepository apart', async () => {
      const prefix = `stash/restic-${randomUUID().slice(0, 8)}`;
      // The container/bucket exists from the test above or is created by restic itself.
      const time = await resticInitAndBackup(remote.restic(prefix), PASSWORD);
      const checked = await call('check', prefix, password, { readOnly: true });
      expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
      expect(report(checked)).toMatchObject({
        version: 2,
        keyCount: 1,
        snapshotCount: 1,
        newestSnapshotTime: isoMillis(time),
      });

      const wrong = await call('check', prefix, wrongPassword, { readOnly: true });
      expect(wrong.status.phase).toBe('NotReady');
      expect(condition(wrong, 'RepositoryInitialized')).toMatchObject({
        status: 'False',
        reason: 'WrongPassword',
      });

      const empty = await call('check', `stash/empty-${randomUUID().slice(0, 8)}`, password, {
        readOnly: true,
      });
      expect(condition(empty, 'RepositoryInitialized')).toMatchObject({
        status: 'False',
        reason: 'NoRepository',
      });
    });

    it('20 concurrent initializes on one prefix make one repository with one key', async () => {
      const prefix = `stash/race-${randomUUID().slice(0, 8)}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          call('initialize', prefix, password, { createBucket: true, kdf: FAST_KDF }),
        ),
      );
      expect(
        results.map((result) => result.status.phase),
        JSON.stringify(results.find((result) => result.status.phase !== 'Ready')?.status),
      ).toEqual(Array(20).fill('Ready'));
      expect(results.filter((result) => report(result)?.created)).toHaveLength(1);
      expect(new Set(results.map((result) => report(result)?.id)).size).toBe(1);
      const keys = JSON.parse(
        await resticOk(remote.restic(prefix), PASSWORD, ['key', 'list', '--json']),
      ) as unknown[];
      expect(keys).toHaveLength(1);
    });
  });
}
