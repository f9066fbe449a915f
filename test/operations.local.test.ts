import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../lib/backends/local/store.js';
import { StorageError } from '../lib/backends/errors.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseRequest } from '../lib/config/request.js';
import { check } from '../lib/operations/check.js';
import { initialize } from '../lib/operations/initialize.js';
import type { OperationContext } from '../lib/operations/context.js';
import { writeProbe } from '../lib/operations/probes.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';

let root: string;
const context = (): OperationContext => ({
  deadline: Deadline.in(20_000),
  config: loadRuntimeConfig({ BSF_STAGE: 'local', BSF_ALLOW_WEAK_KDF: '1' }),
  log: silentLog,
});
const kubestash = (subPath: string, name = 'local-storage', options: Record<string, unknown> = {}) =>
  parseRequest({
    storage: {
      apiVersion: 'storage.kubestash.com/v1alpha1',
      kind: 'BackupStorage',
      metadata: { name, namespace: 'demo' },
      spec: { storage: { provider: 'local', local: { mountPath: root, subPath } } },
    },
    options,
  });
const condition = (result: Awaited<ReturnType<typeof check>>, type: string) =>
  result.status.conditions.find((c) => c.type === type);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bsf-operations-'));
});

describe('initialize on the local backend', () => {
  it('is idempotent: a second run succeeds without rewriting metadata.yaml', async () => {
    const first = await initialize(
      kubestash('idempotent', 'local-storage', { createBucket: true }),
      context(),
    );
    expect(first.status.phase).toBe('Ready');
    const path = join(root, 'idempotent', 'metadata.yaml');
    const before = await stat(path);
    const content = await readFile(path, 'utf8');
    expect(content).toMatch(/^# owner: BackupStorage\/demo\/local-storage$/m);
    expect(content).toMatch(/^kind: "?BackendMeta"?$/m);
    const second = await initialize(kubestash('idempotent'), context());
    expect(second.status.phase).toBe('Ready');
    expect(condition(second, 'BackendInitialized')?.message).toMatch(/already initialized/);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(path, 'utf8')).toBe(content);
  });

  it('leaves exactly one metadata.yaml after 20 concurrent initializes, all Ready', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        initialize(kubestash('concurrent', 'local-storage', { createBucket: true }), context()),
      ),
    );
    expect(results.map((r) => r.status.phase)).toEqual(Array(20).fill('Ready'));
    expect(await readdir(join(root, 'concurrent'))).toEqual(['metadata.yaml']);
  });

  it('50 concurrent initializes of a Stash backend make one restic repository with one key, all Ready', async () => {
    const dir = join(root, 'stash-50');
    await mkdir(dir, { recursive: true });
    process.env.BSF_TEST50_RESTIC_PASSWORD = 'fifty-callers';
    const request = parseRequest({
      storage: { storageSecretName: 'local-secret', local: { mountPath: dir } },
      credentials: 'env:BSF_TEST50_',
      // Cheap scrypt: the race, not the key strength, is under test.
      options: { kdf: { N: 1024, r: 8, p: 1 } },
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => initialize(request, context())));
    expect(results.map((r) => r.status.phase)).toEqual(Array(50).fill('Ready'));
    expect(await readdir(join(dir, 'keys'))).toHaveLength(1);
    expect((await readdir(dir)).filter((name) => name === 'config')).toEqual(['config']);
    expect((await readdir(dir)).filter((name) => name.includes('claim') || name.includes('tmp'))).toEqual([]);
  });

  it('leaves exactly one metadata.yaml after 50 concurrent initializes, all Ready, and a second wave changes nothing', async () => {
    const wave = () =>
      Promise.all(
        Array.from({ length: 50 }, () =>
          initialize(kubestash('fifty', 'local-storage', { createBucket: true }), context()),
        ),
      );
    expect((await wave()).map((r) => r.status.phase)).toEqual(Array(50).fill('Ready'));
    const written = await readFile(join(root, 'fifty', 'metadata.yaml'), 'utf8');
    expect((await wave()).map((r) => r.status.phase)).toEqual(Array(50).fill('Ready'));
    expect(await readdir(join(root, 'fifty'))).toEqual(['metadata.yaml']);
    expect(await readFile(join(root, 'fifty', 'metadata.yaml'), 'utf8')).toBe(written);
  });

  it('reports a missing root as NotReady with a hint, and creates nothing', async () => {
    const result = await initialize(kubestash('missing-root'), context());
    expect(result.status.phase).toBe('NotReady');
    expect(condition(result, 'BackendInitialized')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(condition(result, 'BackendInitialized')?.hint).toMatch(/createBucket/);
    await expect(stat(join(root, 'missing-root'))).rejects.toThrow();
  });

  it('reports a Conflict when another storage initialized the prefix, and leaves its file alone', async () => {
    await initialize(kubestash('shared', 'first-storage', { createBucket: true }), context());
    const before = await readFile(join(root, 'shared', 'metadata.yaml'), 'utf8');
    const result = await initialize(kubestash('shared', 'second-storage'), context());
    expect(result.status.phase).toBe('NotReady');
    expect(condition(result, 'BackendInitialized')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(condition(result, 'BackendInitialized')?.message).toMatch(/BackupStorage\/demo\/first-storage/);
    expect(await readFile(join(root, 'shared', 'metadata.yaml'), 'utf8')).toBe(before);
  });

  it('accepts a metadata.yaml the KubeStash operator wrote (no owner recorded)', async () => {
    await mkdir(join(root, 'by-operator'), { recursive: true });
    const written =
      'apiVersion: config.kubestash.com/v1alpha1\nkind: BackendMeta\ncreationTimestamp: "2024-01-01T00:00:00Z"\noperatorVersion: v2024.1.31\n';
    await writeFile(join(root, 'by-operator', 'metadata.yaml'), written);
    const result = await initialize(kubestash('by-operator'), context());
    expect(result.status.phase).toBe('Ready');
    expect(await readFile(join(root, 'by-operator', 'metadata.yaml'), 'utf8')).toBe(written);
  });

  it('refuses a corrupt metadata.yaml without touching it', async () => {
    await mkdir(join(root, 'corrupt'), { recursive: true });
    await writeFile(join(root, 'corrupt', 'metadata.yaml'), 'kind: Secret\ndata: {}\n');
    const result = await initialize(kubestash('corrupt'), context());
    expect(result.status.phase).toBe('NotReady');
    expect(condition(result, 'MetadataValid')).toMatchObject({ status: 'False', reason: 'MetadataCorrupt' });
    expect(await readFile(join(root, 'corrupt', 'metadata.yaml'), 'utf8')).toBe('kind: Secret\ndata: {}\n');
  });

  it('refuses a prefix holding foreign data unless options.adopt, and never touches that data', async () => {
    await mkdir(join(root, 'foreign', 'velero', 'backups'), { recursive: true });
    await writeFile(join(root, 'foreign', 'velero', 'backups', 'b1.json'), '{}');
    const refused = await initialize(kubestash('foreign'), context());
    expect(refused.status.phase).toBe('NotReady');
    expect(condition(refused, 'BackendInitialized')).toMatchObject({
      status: 'False',
      reason: 'PrefixNotEmpty',
    });
    expect(condition(refused, 'BackendInitialized')?.hint).toMatch(/options\.adopt/);
    const adopted = await initialize(kubestash('foreign', 'local-storage', { adopt: true }), context());
    expect(adopted.status.phase).toBe('Ready');
    expect((await readdir(join(root, 'foreign'))).sort()).toEqual(['metadata.yaml', 'velero']);
    expect(await readFile(join(root, 'foreign', 'velero', 'backups', 'b1.json'), 'utf8')).toBe('{}');
  });
});

describe('check on the local backend', () => {
  it('is NotReady with a hint on a root that is not initialized', async () => {
    await mkdir(join(root, 'uninitialized'), { recursive: true });
    const result = await check(kubestash('uninitialized'), context());
    expect(result.status.phase).toBe('NotReady');
    expect(condition(result, 'BackendWritable')?.status).toBe('True');
    expect(condition(result, 'BackendInitialized')).toMatchObject({
      status: 'False',
      reason: 'BackendInitializationFailed',
    });
    expect(condition(result, 'MetadataValid')?.hint).toMatch(/initialize/);
  });

  it('skips the write probe with options.readOnly and stays Ready', async () => {
    await initialize(kubestash('read-only', 'local-storage', { createBucket: true }), context());
    const result = await check(kubestash('read-only', 'local-storage', { readOnly: true }), context());
    expect(result.status.phase).toBe('Ready');
    expect(condition(result, 'BackendWritable')).toMatchObject({
      status: 'Unknown',
      reason: 'Skipped',
      severity: 'Info',
    });
    expect(result.status.timings.writeProbe).toBeUndefined();
  });
});

describe('the write probe', () => {
  class CorruptingStore extends LocalStore {
    override async get(): Promise<Uint8Array> {
      return Buffer.from('not what was written');
    }
  }
  class SlowStore extends LocalStore {
    override async get(_key: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
      await new Promise((_resolve, reject) =>
        options.signal?.addEventListener('abort', () =>
          reject(new StorageError({ code: 'Timeout', message: 'deadline' })),
        ),
      );
      return new Uint8Array();
    }
  }

  it('reports a read-back mismatch and still deletes the probe object', async () => {
    const dir = join(root, 'probe-corrupt');
    await mkdir(dir);
    const result = await writeProbe(new CorruptingStore(dir), 'p/', Deadline.in(5000), Deadline.in(6000));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.message).toMatch(/differs/);
    expect(await readdir(join(dir, 'p'))).toEqual([]);
  });

  it('deletes the probe object when the verification times out', async () => {
    const dir = join(root, 'probe-timeout');
    await mkdir(dir);
    const result = await writeProbe(new SlowStore(dir), '', Deadline.in(200), Deadline.in(3000));
    expect(!result.ok && result.error.code).toBe('Timeout');
    expect(await readdir(dir)).toEqual([]);
  });
});
