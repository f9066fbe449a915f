/**
 * inventory on a real server, azurite, through the Lambda handler: generated KubeStash and Stash layouts
 * of more than 10,000 blobs each, exact sizes, counts and snapshot times, neighbours left out; a walk cut
 * short by its deadline resumes from its token to the same totals as one uninterrupted run.
 */
import { randomUUID } from 'node:crypto';
import { StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAzureTarget } from '../lib/backends/azure/auth.js';
import { AzureStore } from '../lib/backends/azure/store.js';
import { listAll } from '../lib/backends/object-store.js';
import { parseStorage } from '../lib/config/manifests.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { decodeContinuation, encodeContinuation, storageFingerprint } from '../lib/inventory/continuation.js';
import {
  describeRepositories,
  inventoryStateSchema,
  runInventory,
  totalsOf,
  type InventoryState,
} from '../lib/inventory/inventory.js';
import { formatBytes } from '../lib/inventory/size-format.js';
import type { InventoryReport } from '../lib/operations/inventory.js';
import type { OperationResult } from '../lib/status/result.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import {
  kubestashLayout,
  stashLayout,
  writeLayout,
  type ExpectedRepository,
  type Layout,
} from './support/layouts.js';
import { httpEvent, lambdaContext } from './support/lambda.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';
import { slowListing } from './support/slow-store.js';

// Thousands of blobs: their own azurite, so other suites' calls never queue behind them.
const azurite = serverInfo('azurite-bulk');
const account = azurite.accountName as string;
const run = randomUUID().slice(0, 8);
// Two containers: azurite answers a listing in time proportional to the blobs in its container, so the
// repeated walks of the deadline tests run on the smaller one.
const ksContainer = `inventory-ks-${run}`;
const stashContainer = `inventory-stash-${run}`;
const { handler } = await import('../functions/inventory.js');

const credentials = await secretDir({ AZURE_ACCOUNT_KEY: azurite.accountKey as string }, 'inventory-azure');

function storeOn(container: string): AzureStore {
  return new AzureStore({
    target: resolveAzureTarget(
      { provider: 'azure', storageAccount: account, container },
      new SecretBag([['AZURE_ACCOUNT_KEY', azurite.accountKey as string]], 'test'),
      azurite.endpoint,
    ),
    container,
    credential: new StorageSharedKeyCredential(account, azurite.accountKey as string),
    // Seeding thousands of blobs: on a loaded machine azurite may take longer than the product's 10 s try.
    tryTimeoutMs: 60_000,
  });
}
const ksStore = storeOn(ksContainer);
const stashStore = storeOn(stashContainer);

function backupStorage(prefix: string): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'azure-storage', namespace: 'demo' },
    spec: {
      storage: {
        provider: 'azure',
        azure: {
          storageAccount: account,
          container: ksContainer,
          prefix,
          maxConnections: 16,
          secretName: 'azure-secret',
        },
      },
      deletionPolicy: 'Delete',
    },
  };
}

function stashRepository(prefix: string): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'legacy', namespace: 'apps' },
    spec: { backend: { azure: { container: stashContainer, prefix }, storageSecretName: 'azure-secret' } },
  };
}

async function invoke(storage: unknown, options: Record<string, unknown> = {}): Promise<OperationResult> {
  // More than the 25 s default operation timeout: on a loaded two-core machine the walk can take longer.
  const body = {
    storage,
    credentials,
    options: { endpoint: azurite.endpoint, timeoutSeconds: 170, ...options },
  };
  return (await handler(body as never, lambdaContext(180_000))) as OperationResult;
}

function report(result: OperationResult): InventoryReport {
  const inventory = result.inventory as InventoryReport | undefined;
  if (!inventory) throw new Error(`no inventory: ${JSON.stringify(result.status.conditions)}`);
  return inventory;
}

async function withResticTimes(expected: ExpectedRepository[]): Promise<ExpectedRepository[]> {
  return Promise.all(
    expected.map(async (repository) => {
      if (!repository.snapshotsDir) return repository;
      let newest = 0;
      for await (const object of listAll(stashStore, repository.snapshotsDir)) {
        newest = Math.max(newest, object.lastModified?.getTime() ?? 0);
      }
      return { ...repository, newestSnapshotTime: new Date(newest).toISOString() };
    }),
  );
}

function expected(repositories: ExpectedRepository[]) {
  return repositories
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
}

describe('inventory on azurite (real server), through the handler', { timeout: 400_000 }, () => {
  const ksPrefix = 'clusters/a';
  const stashPrefix = 'stash/legacy';
  let ks: Layout;
  let legacy: Layout;
  let legacyExpected: ExpectedRepository[];
  let ksResult: OperationResult;
  let stashResponse: { statusCode: number; body: string };

  beforeAll(async () => {
    await Promise.all([ksStore.createBucket(), stashStore.createBucket()]);
    ks = kubestashLayout(ksPrefix, [
      {
        dir: 'demo/postgres',
        name: 'postgres-repo',
        namespace: 'demo',
        snapshots: 40,
        components: [
          { path: 'repository/v1/frequent-backup/dump', restic: { packs: 5000, snapshots: 40 } },
          { path: 'repository/v1/frequent-backup/wal', restic: { packs: 2500, snapshots: 40 } },
        ],
      },
      {
        dir: 'demo/mysql',
        name: 'mysql-repo',
        namespace: 'demo',
        snapshots: 15,
        components: [{ path: 'repository/v1/daily/dump', restic: { packs: 2400, snapshots: 15 } }],
      },
    ]);
    legacy = stashLayout(
      stashPrefix,
      [
        { dir: 'deployment/web', restic: { packs: 1500, snapshots: 30 } },
        { dir: 'statefulset/db-0', restic: { packs: 1000, snapshots: 20 } },
      ],
      { name: 'legacy', namespace: 'apps', strays: 3 },
    );
    // Neighbours: `clusters/a` must not count `clusters/ab/` or `clusters/a-b`; `stash/legacy` not `stash/legacy2/`.
    const ksNeighbours = [
      { key: 'clusters/ab/demo/repository.yaml', body: new Uint8Array(100) },
      { key: 'clusters/a-b', body: new Uint8Array(10) },
      { key: 'clusters/abc.yaml', body: new Uint8Array(10) },
    ];
    const stashNeighbours = [{ key: 'stash/legacy2/config', body: new Uint8Array(10) }];
    // azurite stores a few hundred blobs a second on two cores: the 12,600 blobs take about a minute.
    await Promise.all([
      writeLayout(ksStore, [...ks.objects, ...ksNeighbours], 48),
      writeLayout(stashStore, [...legacy.objects, ...stashNeighbours], 16),
    ]);
    legacyExpected = await withResticTimes(legacy.repositories);
    [ksResult, stashResponse] = await Promise.all([
      invoke(backupStorage(ksPrefix)),
      handler(
        httpEvent({
          storage: stashRepository(stashPrefix),
          credentials,
          options: { endpoint: azurite.endpoint, timeoutSeconds: 170 },
        }) as never,
        lambdaContext(180_000),
      ) as Promise<{ statusCode: number; body: string }>,
    ]);
  }, 600_000);

  afterAll(async () => {
    await Promise.all([ksStore.close(), stashStore.close()]);
  });

  function stashResult(): OperationResult {
    expect(stashResponse.statusCode).toBe(200);
    return JSON.parse(stashResponse.body) as OperationResult;
  }

  it('finds every KubeStash repository with exact sizes, counts and newest snapshot time', () => {
    expect(ks.totalObjects).toBeGreaterThan(10_000);
    const inventory = report(ksResult);
    expect(inventory.complete).toBe(true);
    expect(inventory.repositories).toEqual(expected(ks.repositories));
    expect(inventory.objects).toBe(ks.totalObjects);
    expect(inventory.bytes).toBe(ks.totalBytes);
    const repositoryBytes = ks.repositories.reduce((sum, repository) => sum + repository.bytes, 0);
    expect(inventory.totalBytes).toBe(repositoryBytes);
    expect(ksResult.status.totalSize).toBe(formatBytes(repositoryBytes));
    expect(ksResult.status.repositories).toEqual(
      expected(ks.repositories).map(({ name, namespace, path, size, synced }) => ({
        name,
        namespace,
        path,
        size,
        synced,
      })),
    );
    expect(ksResult.status.phase).toBe('Ready');
  });

  it('finds Stash restic repositories below smart prefixes, over HTTP', () => {
    // The >10,000-object Stash layout runs on the local backend (test/inventory.test.ts); this one is smaller.
    expect(legacy.totalObjects).toBeGreaterThan(2_500);
    const inventory = report(stashResult());
    expect(inventory.complete).toBe(true);
    expect(inventory.repositories).toEqual(expected(legacyExpected));
    expect(inventory.objects).toBe(legacy.totalObjects);
    expect(inventory.bytes).toBe(legacy.totalBytes);
    expect(inventory.unattributed).toEqual({
      objects: 3,
      bytes: legacy.totalBytes - legacy.repositories.reduce((sum, repository) => sum + repository.bytes, 0),
    });
  });

  it('stops at a short deadline with complete:false and resumes to the same totals', async () => {
    const target = parseStorage(stashRepository(stashPrefix));
    const fingerprint = storageFingerprint(target);
    // ~530 directories at 10 ms each over 4 connections take > 1.3 s; the first 20 calls get 300 ms each,
    // later ones 3 s (a loaded machine lists slowly; resuming, not speed, is under test).
    const slow = slowListing(stashStore, 10);
    let state: InventoryState | undefined;
    const outcomes: boolean[] = [];
    for (let call = 0; call < 100 && outcomes.at(-1) !== true; call += 1) {
      const partial = await runInventory({
        store: slow,
        target,
        prefix: `${stashPrefix}/`,
        deadline: Deadline.in(60_000),
        stopAt: Date.now() + (call < 20 ? 300 : 3000),
        concurrency: 4,
        log: silentLog,
        resume: state,
      });
      outcomes.push(partial.complete);
      const token = encodeContinuation('inventory', fingerprint, partial.state);
      state = decodeContinuation(token, 'inventory', fingerprint, inventoryStateSchema);
    }
    expect(outcomes[0]).toBe(false);
    expect(outcomes.at(-1)).toBe(true);
    const done = state as InventoryState;
    const full = report(stashResult());
    expect(describeRepositories(done, target)).toEqual(full.repositories);
    expect(totalsOf(done)).toEqual({
      totalBytes: full.totalBytes,
      totalSize: full.totalSize,
      objects: full.objects,
      bytes: full.bytes,
      size: full.size,
      unattributed: full.unattributed,
    });
  });

  it('resumes through the handler from the token of a call that had no time left', async () => {
    const first = (await handler(
      {
        storage: stashRepository(stashPrefix),
        credentials,
        options: { endpoint: azurite.endpoint },
      } as never,
      // 2 s of Lambda time leave nothing once the response margin and the cleanup reserve are kept back.
      lambdaContext(2000),
    )) as OperationResult;
    const partial = report(first);
    expect(partial.complete).toBe(false);
    const second = await invoke(stashRepository(stashPrefix), { continuation: partial.continuation });
    const { listCalls: _a, ...resumed } = report(second);
    const { listCalls: _b, ...full } = report(stashResult());
    expect(resumed).toEqual(full);
  });
});
