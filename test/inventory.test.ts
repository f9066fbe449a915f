/**
 * inventory on the local backend: generated KubeStash and Stash layouts of more than 10,000 objects,
 * exact sizes, counts and snapshot times; a walk cut short by its deadline resumes from its token to the
 * same totals; check with options.inventory; the KubeStash size format.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RequestError } from '../lib/config/request-error.js';
import { LocalStore } from '../lib/backends/local/store.js';
import { listAll, type ObjectStore } from '../lib/backends/object-store.js';
import { parseStorage } from '../lib/config/manifests.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { decodeContinuation, encodeContinuation, storageFingerprint } from '../lib/inventory/continuation.js';
import {
  describeRepositories,
  inventoryStateSchema,
  runInventory,
  totalsOf,
  type InventoryRepository,
  type InventoryState,
} from '../lib/inventory/inventory.js';
import { formatBytes, parseSize } from '../lib/inventory/size-format.js';
import type { OperationContext } from '../lib/operations/context.js';
import type { InventoryReport } from '../lib/operations/inventory.js';
import type { OperationResult } from '../lib/status/result.js';
import { runOperation, type OperationName } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog, type Log } from '../lib/runtime/log.js';
import {
  kubestashLayout,
  stashLayout,
  writeLayout,
  type ExpectedRepository,
  type Layout,
} from './support/layouts.js';
import { slowListing } from './support/slow-store.js';

const base = await mkdtemp(join(tmpdir(), 'bsf-inventory-'));
const volume = join(base, 'volume');
// Generous operation timeout: a loaded two-core machine must not turn a complete walk into a partial one.
const config = loadRuntimeConfig({ DEFAULT_TIMEOUT_SECONDS: '170', BSF_STAGE: 'local' });

function context(deadline = Deadline.in(120_000), log: Log = silentLog): OperationContext {
  return { deadline, config, log };
}

function run(name: OperationName, body: unknown, ctx = context()): Promise<OperationResult> {
  return runOperation(name, body, ctx);
}

function report(result: OperationResult): InventoryReport {
  const inventory = result.inventory as InventoryReport | undefined;
  if (!inventory) throw new Error(`no inventory in ${JSON.stringify(result.status)}`);
  return inventory;
}

function backupStorage(subPath: string): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'local-storage', namespace: 'demo' },
    spec: {
      storage: { provider: 'local', local: { mountPath: volume, subPath, hostPath: { path: '/data' } } },
      deletionPolicy: 'WipeOut',
    },
  };
}

function stashRepository(subPath: string): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'stash-local', namespace: 'apps' },
    spec: { backend: { local: { mountPath: volume, subPath, hostPath: { path: '/data' } } } },
  };
}

async function storeFor(subPath: string): Promise<LocalStore> {
  await mkdir(join(volume, subPath), { recursive: true });
  return new LocalStore(join(volume, subPath));
}

/** Restic snapshot times are modification times: read them back with a plain flat listing. */
async function withResticTimes(
  store: ObjectStore,
  expected: ExpectedRepository[],
): Promise<ExpectedRepository[]> {
  return Promise.all(
    expected.map(async (repository) => {
      if (!repository.snapshotsDir) return repository;
      let newest = 0;
      for await (const object of listAll(store, repository.snapshotsDir)) {
        newest = Math.max(newest, object.lastModified?.getTime() ?? 0);
      }
      return { ...repository, newestSnapshotTime: new Date(newest).toISOString() };
    }),
  );
}

function expectRepositories(actual: InventoryRepository[] | undefined, expected: ExpectedRepository[]): void {
  const wanted = expected
    .map((repository) => ({
      name: repository.name,
      namespace: repository.namespace,
      path: repository.path,
      kind: repository.kind,
      size: formatBytes(repository.bytes),
      bytes: repository.bytes,
      objects: repository.objects,
      snapshotCount: repository.snapshotCount,
      ...(repository.newestSnapshotTime ? { newestSnapshotTime: repository.newestSnapshotTime } : {}),
      synced: true,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  expect(actual).toEqual(wanted);
}

/** Everything but the call count, which grows when interrupted pages are listed again. */
function totalsAndRepositories(inventory: InventoryReport): Omit<InventoryReport, 'listCalls'> {
  const { listCalls: _calls, ...rest } = inventory;
  return rest;
}

describe('KubeStash size format', () => {
  it('uses binary units with three decimals, strictly above each unit, as KubeStash does', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1024)).toBe('1024 B');
    expect(formatBytes(1025)).toBe('1.001 KiB');
    expect(formatBytes(1024 * 1024)).toBe('1024.000 KiB');
    expect(formatBytes(12_815_745)).toBe('12.222 MiB');
    expect(formatBytes(5 * 2 ** 30 + 1)).toBe('5.000 GiB');
    expect(formatBytes(3 * 2 ** 40 + 2 ** 39)).toBe('3.500 TiB');
  });

  it('rounds exact ties to even like Go, where toFixed would round up', () => {
    // 1088 B = 1.0625 KiB exactly: Go prints 1.062, (1.0625).toFixed(3) gives 1.063.
    expect(formatBytes(1088)).toBe('1.062 KiB');
    // 1.1875 KiB: the tie goes up to the even 1.188.
    expect(formatBytes(1216)).toBe('1.188 KiB');
  });

  it('parses what it formats (within the rounding of three decimals)', () => {
    expect(parseSize('12.222 MiB')).toBe(Math.trunc(12.222 * 2 ** 20));
    expect(parseSize('1024 B')).toBe(1024);
    expect(parseSize('12 MB')).toBeUndefined();
  });
});

describe('inventory on the local backend', () => {
  const ksPath = 'kubestash-storage';
  const stashRoot = 'stash-v1beta1';
  const stashLegacy = 'stash-v1alpha1';
  let ks: Layout;
  let ksStore: LocalStore;
  let ksExpected: ExpectedRepository[];
  let legacy: Layout;
  let legacyExpected: ExpectedRepository[];
  let uninterrupted: OperationResult;

  beforeAll(async () => {
    ks = kubestashLayout('', [
      {
        dir: 'demo/postgres',
        name: 'postgres-repo',
        namespace: 'demo',
        snapshots: 60,
        components: [
          { path: 'repository/v1/frequent-backup/dump', restic: { packs: 5000, snapshots: 60 } },
          { path: 'repository/v1/frequent-backup/wal', restic: { packs: 2500, snapshots: 60 } },
        ],
      },
      {
        dir: 'demo/mysql',
        name: 'mysql-repo',
        namespace: 'demo',
        snapshots: 25,
        components: [{ path: 'repository/v1/daily/dump', restic: { packs: 2100, snapshots: 25 } }],
      },
      {
        dir: 'apps/team-a/redis',
        name: 'redis-repo',
        namespace: 'team-a',
        snapshots: 0,
        components: [{ path: 'repository/v1/hourly/pod-0', restic: { packs: 300, snapshots: 0 } }],
      },
    ]);
    ksStore = await storeFor(ksPath);
    // A neighbour directory that shares the name's beginning: never part of this storage.
    const neighbour = await storeFor(`${ksPath}-b`);
    await Promise.all([writeLayout(ksStore, ks.objects), writeLayout(neighbour, ks.objects.slice(0, 50))]);
    ksExpected = ks.repositories;

    legacy = stashLayout(
      '',
      [
        { dir: 'deployment/web', restic: { packs: 4000, snapshots: 40 } },
        { dir: 'statefulset/db-0', restic: { packs: 3500, snapshots: 30 } },
        { dir: 'daemonset/agent/node-1', restic: { packs: 2600, snapshots: 20 } },
      ],
      { name: 'stash-local', namespace: 'apps', strays: 7 },
    );
    const legacyStore = await storeFor(stashLegacy);
    await writeLayout(legacyStore, legacy.objects);
    legacyExpected = await withResticTimes(legacyStore, legacy.repositories);

    uninterrupted = await run('inventory', { storage: backupStorage(ksPath) });
  });

  it('finds every KubeStash repository with exact bytes, objects, snapshots and newest snapshot time', () => {
    expect(ks.totalObjects).toBeGreaterThan(10_000);
    const inventory = report(uninterrupted);
    expect(inventory.complete).toBe(true);
    expect(inventory.continuation).toBeUndefined();
    expectRepositories(inventory.repositories, ksExpected);
    const repositoryBytes = ksExpected.reduce((sum, repository) => sum + repository.bytes, 0);
    expect(inventory.totalBytes).toBe(repositoryBytes);
    expect(inventory.objects).toBe(ks.totalObjects);
    expect(inventory.bytes).toBe(ks.totalBytes);
    // metadata.yaml is the only object outside the repositories.
    expect(inventory.unattributed).toEqual({ objects: 1, bytes: ks.totalBytes - repositoryBytes });
    expect(inventory.failures).toBeUndefined();
  });

  it("fills status.totalSize and status.repositories[] in KubeStash's shape", () => {
    const status = uninterrupted.status;
    const repositoryBytes = ksExpected.reduce((sum, repository) => sum + repository.bytes, 0);
    expect(status.totalSize).toBe(formatBytes(repositoryBytes));
    expect(status.repositories).toEqual(
      [...ksExpected]
        .sort((a, b) => (a.path < b.path ? -1 : 1))
        .map((repository) => ({
          name: repository.name,
          namespace: repository.namespace,
          path: repository.path,
          size: formatBytes(repository.bytes),
          synced: true,
        })),
    );
    expect(status.phase).toBe('Ready');
    expect(status.conditions.find((condition) => condition.type === 'Inventoried')).toMatchObject({
      status: 'True',
      reason: 'Complete',
    });
  });

  it('finds Stash restic repositories below smart prefixes, strays apart', async () => {
    expect(legacy.totalObjects).toBeGreaterThan(10_000);
    const inventory = report(await run('inventory', { storage: stashRepository(stashLegacy) }));
    expect(inventory.complete).toBe(true);
    expectRepositories(inventory.repositories, legacyExpected);
    expect(inventory.objects).toBe(legacy.totalObjects);
    expect(inventory.bytes).toBe(legacy.totalBytes);
    expect(inventory.unattributed?.objects).toBe(7);
  });

  it('reports a Stash v1beta1 repository at the prefix itself under the Repository’s name', async () => {
    const layout = stashLayout('', [{ dir: '', restic: { packs: 700, snapshots: 12 } }], {
      name: 'stash-local',
      namespace: 'apps',
    });
    const store = await storeFor(stashRoot);
    await writeLayout(store, layout.objects);
    const inventory = report(await run('inventory', { storage: stashRepository(stashRoot) }));
    expectRepositories(inventory.repositories, await withResticTimes(store, layout.repositories));
    expect(inventory.repositories?.[0]).toMatchObject({ name: 'stash-local', namespace: 'apps', path: '/' });
  });

  it('logs progress every few thousand objects', async () => {
    const lines: { message: string; attributes?: Record<string, unknown> }[] = [];
    const log: Log = { ...silentLog, info: (message, attributes) => lines.push({ message, attributes }) };
    await run('inventory', { storage: backupStorage(ksPath) }, context(Deadline.in(120_000), log));
    const progress = lines.filter((line) => line.message === 'inventory progress');
    expect(progress.length).toBe(Math.floor(ks.totalObjects / 5000));
    expect(progress.every((line) => typeof line.attributes?.objects === 'number')).toBe(true);
  });

  it('stops at a short deadline with complete:false and resumes from its token to the same totals', async () => {
    const target = parseStorage(backupStorage(ksPath));
    const fingerprint = storageFingerprint(target);
    // ~1,100 directories listed at 10 ms each over 4 connections take > 2.5 s; each call gets 300 ms.
    const slow = slowListing(ksStore, 10);
    let state: InventoryState | undefined;
    let calls = 0;
    let complete = false;
    const outcomes: boolean[] = [];
    while (!complete && calls < 100) {
      calls += 1;
      const partial = await runInventory({
        store: slow,
        target,
        prefix: '',
        deadline: Deadline.in(60_000),
        stopAt: Date.now() + 300,
        concurrency: 4,
        log: silentLog,
        resume: state,
      });
      complete = partial.complete;
      outcomes.push(complete);
      // Every resume goes through a real token, as a caller would pass it back.
      const token = encodeContinuation('inventory', fingerprint, partial.state);
      state = decodeContinuation(token, 'inventory', fingerprint, inventoryStateSchema);
      if (!complete) expect(state.f.length).toBeGreaterThan(0);
    }
    expect(outcomes[0]).toBe(false);
    expect(complete).toBe(true);
    const resumed = state as InventoryState;
    const expected = report(uninterrupted);
    expect(describeRepositories(resumed, target)).toEqual(expected.repositories);
    expect(totalsOf(resumed)).toEqual({
      totalBytes: expected.totalBytes,
      totalSize: expected.totalSize,
      objects: expected.objects,
      bytes: expected.bytes,
      size: expected.size,
      unattributed: expected.unattributed,
    });
  });

  it('returns a continuation when the invocation has no time left, and the next call completes from it', async () => {
    const first = await run('inventory', { storage: backupStorage(ksPath) }, context(Deadline.in(0)));
    const partial = report(first);
    expect(partial.complete).toBe(false);
    expect(partial.continuation).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(partial.repositories).toBeUndefined();
    expect(first.status.totalSize).toBeUndefined();
    // No listing could answer in no time: a Timeout (NotReady), yet resumable from its token.
    expect(first.status.conditions.find((condition) => condition.type === 'Inventoried')).toMatchObject({
      status: 'False',
      reason: 'Timeout',
    });
    expect(first.status.phase).toBe('NotReady');
    const second = await run('inventory', {
      storage: backupStorage(ksPath),
      options: { continuation: partial.continuation },
    });
    expect(totalsAndRepositories(report(second))).toEqual(totalsAndRepositories(report(uninterrupted)));
    expect(second.status.repositories).toEqual(uninterrupted.status.repositories);
  });

  it('refuses a token from another storage, another operation, or no token at all (400)', async () => {
    const first = report(await run('inventory', { storage: backupStorage(ksPath) }, context(Deadline.in(0))));
    const token = first.continuation as string;
    const refusal = (body: unknown) =>
      run('inventory', body).then(
        () => undefined,
        (error: unknown) => error,
      );
    for (const body of [
      { storage: backupStorage(stashLegacy), options: { continuation: token } },
      { storage: backupStorage(ksPath), options: { continuation: 'not-a-token' } },
      {
        storage: backupStorage(ksPath),
        options: {
          continuation: encodeContinuation(
            'cleanup',
            storageFingerprint(parseStorage(backupStorage(ksPath))),
            {},
          ),
        },
      },
      { storage: backupStorage(ksPath), options: { continuation: 'e30' } },
    ]) {
      const error = await refusal(body);
      expect(error).toBeInstanceOf(RequestError);
      expect((error as RequestError).status).toBe(400);
      expect((error as RequestError).issues[0]?.path).toBe('options.continuation');
    }
  });

  it('adds the inventory to check with options.inventory', async () => {
    const plain = await run('check', { storage: backupStorage(ksPath) });
    expect(plain.inventory).toBeUndefined();
    expect(plain.status.totalSize).toBeUndefined();
    const checked = await run('check', { storage: backupStorage(ksPath), options: { inventory: true } });
    expect(totalsAndRepositories(report(checked))).toEqual(totalsAndRepositories(report(uninterrupted)));
    expect(checked.status.totalSize).toBe(uninterrupted.status.totalSize);
    expect(checked.status.repositories).toEqual(uninterrupted.status.repositories);
  });

  it('reports a missing storage root as a failed inventory, not a crash', async () => {
    const result = await run('inventory', { storage: backupStorage('does-not-exist') });
    expect(report(result).complete).toBe(false);
    expect(result.status.phase).toBe('NotReady');
    expect(result.status.conditions.find((condition) => condition.type === 'Inventoried')).toMatchObject({
      status: 'False',
      reason: 'NotFound',
    });
  });
});
