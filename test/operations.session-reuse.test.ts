/**
 * Requested repositories ride on the storage operation's own session: one credentials resolution and
 * one store per request, however many repositories it names (lib/operations/repositories.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../lib/backends/registry.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { resolveCredentials } from '../lib/credentials/resolve.js';
import type { RepositoryReport } from '../lib/operations/repositories.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { secretDir } from './support/mounted-secret.js';

// The real functions, counted.
vi.mock('../lib/backends/registry.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../lib/backends/registry.js')>();
  return { ...original, openStore: vi.fn(original.openStore) };
});
vi.mock('../lib/credentials/resolve.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../lib/credentials/resolve.js')>();
  return { ...original, resolveCredentials: vi.fn(original.resolveCredentials) };
});

let root: string;
let storageSecret: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bsf-session-reuse-'));
  storageSecret = await secretDir({ RESTIC_PASSWORD: 'correct horse battery staple' }, 'session-reuse');
});

const storage = () => ({
  apiVersion: 'storage.kubestash.com/v1alpha1',
  kind: 'BackupStorage',
  metadata: { name: 'local-storage', namespace: 'demo' },
  spec: {
    storage: { provider: 'local', local: { mountPath: root, subPath: 'ks', hostPath: { path: '/data' } } },
  },
});

describe('operations with options.repositories', () => {
  it.each(['initialize', 'check'] as const)(
    '%s resolves the credentials once and opens one store for the storage and all its repositories',
    async (operation) => {
      vi.mocked(openStore).mockClear();
      vi.mocked(resolveCredentials).mockClear();
      const result = await runOperation(
        operation,
        {
          storage: storage(),
          credentials: storageSecret,
          options: {
            createBucket: true,
            kdf: { N: 1024, r: 8, p: 1 },
            repositories: [
              { path: 'demo/a', session: 'daily', component: 'dump' },
              { path: 'demo/b', session: 'daily', component: 'dump' },
            ],
          },
        },
        {
          deadline: Deadline.in(50_000),
          config: loadRuntimeConfig({ BSF_STAGE: 'local', BSF_ALLOW_WEAK_KDF: '1' }),
          log: silentLog,
        },
      );
      expect(result.status.phase).toBe('Ready');
      const reports = (result.status.repositories ?? []) as RepositoryReport[];
      expect(reports.map((report) => report.phase)).toEqual(['Ready', 'Ready']);
      expect(result.status.conditions.find((c) => c.type === 'RepositoriesReady')?.status).toBe('True');
      expect(vi.mocked(openStore)).toHaveBeenCalledTimes(1);
      expect(vi.mocked(resolveCredentials)).toHaveBeenCalledTimes(1);
    },
  );
});
