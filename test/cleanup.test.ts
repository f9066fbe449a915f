/**
 * cleanup's guard, decided from the request alone: WipeOut policy, a prefix, a provider Stash allows
 * wipeOut for, and the confirmation. Refusals are RequestErrors and touch nothing.
 */
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../lib/backends/errors.js';
import { LocalStore } from '../lib/backends/local/store.js';
import type { ObjectStore } from '../lib/backends/object-store.js';
import { withConnectionLimit } from '../lib/backends/connection-limit.js';
import { RequestError } from '../lib/config/request-error.js';
import { parseStorage } from '../lib/config/manifests.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { assertWipeOutAllowed, runWipe, wipeOutConfirmation } from '../lib/inventory/wipe.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';

function backupStorage(policy: 'Delete' | 'WipeOut', prefix = 'demo/cluster-a'): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 's3-storage', namespace: 'demo' },
    spec: {
      storage: {
        provider: 's3',
        s3: { endpoint: 'https://s3.example.com', bucket: 'backups', prefix, secretName: 's3-secret' },
      },
      deletionPolicy: policy,
    },
  };
}

function stashRepository(backend: Record<string, unknown>, wipeOut: boolean): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'repo', namespace: 'apps' },
    spec: { backend: { ...backend, storageSecretName: 'secret' }, wipeOut },
  };
}

function refusal(storage: unknown, confirm?: string): RequestError {
  try {
    assertWipeOutAllowed(parseStorage(storage), confirm);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError);
    return error as RequestError;
  }
  throw new Error('expected a refusal');
}

describe('cleanup guard', () => {
  it('asks for <bucket>/<prefix> as confirmation, and accepts it with stray slashes', () => {
    const storage = parseStorage(backupStorage('WipeOut'));
    expect(wipeOutConfirmation(storage)).toBe('backups/demo/cluster-a');
    expect(() => assertWipeOutAllowed(storage, 'backups/demo/cluster-a')).not.toThrow();
    expect(() => assertWipeOutAllowed(storage, '/backups/demo/cluster-a/')).not.toThrow();
  });

  it('refuses without a confirmation (400 on options.confirm, naming what to repeat)', () => {
    const error = refusal(backupStorage('WipeOut'));
    expect(error.status).toBe(400);
    expect(error.issues[0]?.path).toBe('options.confirm');
    expect(error.issues[0]?.message).toContain('backups/demo/cluster-a');
  });

  it('refuses a confirmation naming anything else: a parent, a neighbour, the namespace/name', () => {
    for (const wrong of [
      'backups/demo',
      'backups/demo/cluster-ab',
      'demo/s3-storage',
      'other/demo/cluster-a',
    ]) {
      const error = refusal(backupStorage('WipeOut'), wrong);
      expect(error.status).toBe(400);
      expect(error.issues[0]?.path).toBe('options.confirm');
    }
  });

  it('refuses a Delete policy even when confirmed (403 on deletionPolicy / wipeOut)', () => {
    const kubestash = refusal(backupStorage('Delete'), 'backups/demo/cluster-a');
    expect(kubestash.status).toBe(403);
    expect(kubestash.code).toBe('Forbidden');
    expect(kubestash.issues[0]?.path).toBe('storage.spec.deletionPolicy');
    const stash = refusal(
      stashRepository({ s3: { endpoint: 'https://s3.example.com', bucket: 'b', prefix: 'p' } }, false),
      'b/p',
    );
    expect(stash.status).toBe(403);
    expect(stash.issues[0]?.path).toBe('storage.spec.wipeOut');
    // A bare Stash backend block carries no wipeOut at all.
    const bare = refusal(
      { s3: { endpoint: 'https://s3.example.com', bucket: 'b', prefix: 'p' }, storageSecretName: 's' },
      'b/p',
    );
    expect(bare.status).toBe(403);
  });

  it('refuses an empty prefix: never a whole bucket', () => {
    const error = refusal(backupStorage('WipeOut', ''), 'backups');
    expect(error.status).toBe(403);
    expect(error.issues[0]?.path).toBe('storage.spec.storage.s3.prefix');
    expect(refusal(backupStorage('WipeOut', '/'), 'backups').status).toBe(403);
  });

  it('refuses B2 and local, where Stash forbids wipeOut', () => {
    expect(refusal(stashRepository({ b2: { bucket: 'b', prefix: 'p' } }, true), 'b/p').status).toBe(403);
    expect(
      refusal(
        stashRepository({ local: { mountPath: '/safe/data', hostPath: { path: '/data' } } }, true),
        '/safe/data',
      ).status,
    ).toBe(403);
  });

  it('refuses a local WipeOut storage through the operation and leaves its files alone', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bsf-cleanup-local-'));
    await mkdir(join(root, 'repo'), { recursive: true });
    await writeFile(join(root, 'repo', 'config'), 'x');
    const storage = {
      apiVersion: 'storage.kubestash.com/v1alpha1',
      kind: 'BackupStorage',
      metadata: { name: 'local', namespace: 'demo' },
      spec: {
        storage: { provider: 'local', local: { mountPath: root, hostPath: { path: '/x' } } },
        deletionPolicy: 'WipeOut',
      },
    };
    const context = { deadline: Deadline.in(10_000), config: loadRuntimeConfig({}), log: silentLog };
    await expect(
      runOperation('cleanup', { storage, options: { confirm: root } }, context),
    ).rejects.toMatchObject({
      code: 'Forbidden',
      status: 403,
    });
    expect(await readdir(join(root, 'repo'))).toEqual(['config']);
  });
});

describe('cleanup counts', () => {
  it('counts what a page deleted when some of its deletes failed (or lost their answer), so retried pages add up exactly', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bsf-wipe-count-'));
    let files = 0;
    let bytes = 0;
    for (const dir of ['a', 'b', 'b/c']) {
      await mkdir(join(root, 'data', dir), { recursive: true });
      for (let index = 0; index < 40; index += 1) {
        const body = 'x'.repeat(index + 1);
        await writeFile(join(root, 'data', dir, `f${index}`), body);
        files += 1;
        bytes += body.length;
      }
    }
    // Every fifth delete fails once before deleting, every seventh deletes and then loses its answer, as
    // a busy server would: the walk retries those pages.
    const local = new LocalStore(root);
    let deletes = 0;
    const failedOnce = new Set<string>();
    const flaky: ObjectStore = {
      provider: local.provider,
      location: local.location,
      capabilities: local.capabilities,
      bucketExists: local.bucketExists.bind(local),
      createBucket: local.createBucket.bind(local),
      stat: local.stat.bind(local),
      get: local.get.bind(local),
      put: local.put.bind(local),
      list: local.list.bind(local),
      deleteMany: local.deleteMany.bind(local),
      close: local.close.bind(local),
      delete: async (key, options) => {
        deletes += 1;
        if (deletes % 5 === 0 && !failedOnce.has(key)) {
          failedOnce.add(key);
          throw new StorageError({
            code: 'Unavailable',
            provider: 'local',
            operation: 'delete',
            key,
            message: 'busy',
            retryable: true,
          });
        }
        await local.delete(key, options);
        if (deletes % 7 === 0 && !failedOnce.has(key)) {
          failedOnce.add(key);
          throw new StorageError({
            code: 'Timeout',
            provider: 'local',
            operation: 'delete',
            key,
            message: 'the answer was lost',
            retryable: true,
          });
        }
      },
    };
    const run = await runWipe({
      store: withConnectionLimit(flaky, 4),
      prefix: 'data/',
      deadline: Deadline.in(60_000),
      concurrency: 2,
      log: silentLog,
    });
    expect(failedOnce.size).toBeGreaterThan(0);
    expect(run.complete).toBe(true);
    expect(run.state.failed).toBe(0);
    expect(run.state.n).toBe(files);
    expect(run.state.b).toBe(bytes);
    expect(await readdir(join(root, 'data'), { recursive: true })).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/f\d+$/)]),
    );
  });
});
