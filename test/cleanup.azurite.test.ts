/**
 * cleanup (WipeOut) on a real server, azurite, through the Lambda handler: removes exactly the prefix
 * and never a neighbour (`wipe/a` never touches `wipe/ab/`, `wipe/a-b`, `wipe/a.txt`); refuses without
 * confirmation or for a Delete policy, touching nothing; resumes from its token after a short deadline.
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
import { runWipe, wipeStateSchema, type WipeState } from '../lib/inventory/wipe.js';
import type { CleanupReport } from '../lib/operations/cleanup.js';
import type { OperationResult } from '../lib/status/result.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { kubestashLayout, stashLayout, writeLayout, type PlannedObject } from './support/layouts.js';
import { httpEvent, lambdaContext } from './support/lambda.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';
import { slowListing } from './support/slow-store.js';

// Thousands of blobs: their own azurite, so other suites' calls never queue behind them.
const azurite = serverInfo('azurite-wipe');
const account = azurite.accountName as string;
const container = `cleanup-${randomUUID().slice(0, 8)}`;
const { handler } = await import('../functions/cleanup.js');

const credentials = await secretDir({ AZURE_ACCOUNT_KEY: azurite.accountKey as string }, 'cleanup-azure');

const store = new AzureStore({
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

function backupStorage(prefix: string, deletionPolicy: 'Delete' | 'WipeOut'): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'azure-storage', namespace: 'demo' },
    spec: {
      storage: {
        provider: 'azure',
        azure: { storageAccount: account, container, prefix, maxConnections: 16, secretName: 'azure-secret' },
      },
      deletionPolicy,
    },
  };
}

type Answer = OperationResult & {
  statusCode?: number;
  error?: { code: string; issues?: { path: string }[] };
};

async function invoke(storage: unknown, options: Record<string, unknown> = {}): Promise<Answer> {
  const body = {
    storage,
    credentials,
    options: { endpoint: azurite.endpoint, timeoutSeconds: 170, ...options },
  };
  return (await handler(body as never, lambdaContext(180_000))) as Answer;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of listAll(store, prefix)) keys.push(object.key);
  return keys.sort();
}

const neighbours: PlannedObject[] = [
  ...Array.from({ length: 40 }, (_, index) => ({
    key: `wipe/ab/repo/data/${index}`,
    body: new Uint8Array(20),
  })),
  { key: 'wipe/ab', body: new Uint8Array(5) },
  { key: 'wipe/a-b/config', body: new Uint8Array(5) },
  { key: 'wipe/a.txt', body: new Uint8Array(5) },
  { key: 'wipe/b/a/config', body: new Uint8Array(5) },
  { key: 'stash/app2/config', body: new Uint8Array(5) },
];

describe('cleanup on azurite (real server), through the handler', { timeout: 400_000 }, () => {
  const ks = kubestashLayout('wipe/a', [
    {
      dir: 'demo/postgres',
      name: 'postgres-repo',
      namespace: 'demo',
      snapshots: 10,
      components: [{ path: 'repository/v1/frequent-backup/dump', restic: { packs: 1200, snapshots: 10 } }],
    },
  ]);
  const stash = stashLayout('stash/app', [{ dir: '', restic: { packs: 300, snapshots: 5 } }], {
    name: 'app',
    namespace: 'apps',
  });
  let before: string[];

  beforeAll(async () => {
    await store.createBucket();
    await writeLayout(store, [...ks.objects, ...stash.objects, ...neighbours], 64);
    before = await keysUnder('');
  }, 600_000);

  afterAll(async () => {
    await store.close();
  });

  it('refuses without confirmation, with a wrong one, or for a Delete policy, and deletes nothing', async () => {
    const missing = await invoke(backupStorage('wipe/a', 'WipeOut'));
    expect(missing.statusCode).toBe(400);
    expect(missing.error?.issues?.[0]?.path).toBe('options.confirm');

    const neighbour = await invoke(backupStorage('wipe/a', 'WipeOut'), { confirm: `${container}/wipe/ab` });
    expect(neighbour.statusCode).toBe(400);

    const policy = await invoke(backupStorage('wipe/a', 'Delete'), { confirm: `${container}/wipe/a` });
    expect(policy.statusCode).toBe(403);
    expect(policy.error?.code).toBe('Forbidden');

    const wholeContainer = await invoke(backupStorage('', 'WipeOut'), { confirm: container });
    expect(wholeContainer.statusCode).toBe(403);

    const overHttp = (await handler(
      httpEvent({
        storage: backupStorage('wipe/a', 'Delete'),
        credentials,
        options: { confirm: `${container}/wipe/a` },
      }) as never,
      lambdaContext(30_000),
    )) as { statusCode: number; body: string };
    expect(overHttp.statusCode).toBe(403);
    expect(JSON.parse(overHttp.body)).toMatchObject({ error: { code: 'Forbidden' } });

    expect(await keysUnder('')).toEqual(before);
  });

  it('wipes exactly the prefix, resuming after short deadlines, and never a neighbour', async () => {
    const target = parseStorage(backupStorage('wipe/a', 'WipeOut'));
    const fingerprint = storageFingerprint(target);
    // ~530 directories at 10 ms each over 4 connections take > 1.3 s; the first call gets 300 ms.
    const slow = slowListing(store, 10);
    const first = await runWipe({
      store: slow,
      prefix: 'wipe/a/',
      deadline: Deadline.in(60_000),
      stopAt: Date.now() + 300,
      concurrency: 4,
      log: silentLog,
    });
    expect(first.complete).toBe(false);
    expect(first.state.n).toBeLessThan(ks.totalObjects);
    const token = encodeContinuation('cleanup', fingerprint, first.state);
    // The token round-trips as a caller passes it back.
    const resumed: WipeState = decodeContinuation(token, 'cleanup', fingerprint, wipeStateSchema);
    expect(resumed.n).toBe(first.state.n);

    // The rest through the handler, passing each token back as a caller does (one call usually; a loaded
    // machine may need more before the invocation's time is up). Totals add up over the calls.
    let done: Answer;
    let next: string | undefined = token;
    let calls = 0;
    do {
      done = await invoke(backupStorage('wipe/a', 'WipeOut'), {
        confirm: `${container}/wipe/a`,
        continuation: next,
      });
      next = (done.cleanup as CleanupReport | undefined)?.continuation;
      calls += 1;
    } while (next !== undefined && calls < 10);
    const cleanup = done.cleanup as CleanupReport;
    expect(cleanup.complete).toBe(true);
    expect(cleanup.continuation).toBeUndefined();
    expect(cleanup.deletedObjects).toBe(ks.totalObjects);
    expect(cleanup.deletedBytes).toBe(ks.totalBytes);
    expect(done.status.phase).toBe('Ready');
    expect(done.status.conditions.find((condition) => condition.type === 'WipedOut')).toMatchObject({
      status: 'True',
      reason: 'Deleted',
    });

    expect(await keysUnder('wipe/a/')).toEqual([]);
    const wipeNeighbours = neighbours
      .filter((object) => object.key.startsWith('wipe/'))
      .map((object) => object.key);
    expect(await keysUnder('wipe/')).toEqual([...wipeNeighbours].sort());
    expect(await keysUnder('stash/')).toEqual(before.filter((key) => key.startsWith('stash/')));
  });

  it('wipes a Stash Repository with wipeOut: true, over HTTP, leaving stash/app2 alone', async () => {
    const repository = {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'app', namespace: 'apps' },
      spec: {
        backend: { azure: { container, prefix: '/stash/app/' }, storageSecretName: 'azure-secret' },
        wipeOut: true,
      },
    };
    const response = (await handler(
      httpEvent({
        storage: repository,
        credentials,
        options: { endpoint: azurite.endpoint, confirm: `${container}/stash/app`, timeoutSeconds: 170 },
      }) as never,
      lambdaContext(180_000),
    )) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(200);
    const cleanup = (JSON.parse(response.body) as OperationResult).cleanup as CleanupReport;
    expect(cleanup).toMatchObject({
      complete: true,
      deletedObjects: stash.totalObjects,
      deletedBytes: stash.totalBytes,
    });
    expect(await keysUnder('stash/')).toEqual(['stash/app2/config']);
  });
});
