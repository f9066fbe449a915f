/**
 * inventory on the GCS contract fake, through runOperation and the real SDK: without maxConnections the
 * walk's eight listing workers all reach the wire (the adapter's own default, restic's 5, used to hold
 * three of them back), and a storage's maxConnections still bounds it; restic repositories found under a
 * Stash prefix.
 */
import { withConnectionLimit } from '../lib/backends/connection-limit.js';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretBag } from '../lib/credentials/secret.js';
import { clientSettings } from '../lib/backends/gcs/auth.js';
import { GcsStore } from '../lib/backends/gcs/store.js';
import { DEFAULT_CONNECTIONS } from '../lib/inventory/inventory.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import type { InventoryReport } from '../lib/operations/inventory.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { fakeGcsControl } from './fakes/gcs.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';

const fake = serverInfo('gcs-fake');
const endpoint = fake.endpoint as string;
const control = fakeGcsControl(endpoint);
const config = loadRuntimeConfig({ DEFAULT_TIMEOUT_SECONDS: '120' });
const REPOSITORIES = 3;
const SHARDS = 16;

let credentials: string;

beforeAll(async () => {
  credentials = await secretDir({ GOOGLE_PROJECT_ID: fake.projectId as string }, 'inv-gcs-secret');
});

/** A bucket of REPOSITORIES restic repositories under `stash/`, each with SHARDS data shards. */
async function resticBucket(): Promise<{ bucket: string; objects: number }> {
  const bucket = `bsf-inv-${randomUUID().slice(0, 8)}`;
  await control.createBucket(bucket, fake.projectId);
  const store = withConnectionLimit(
    new GcsStore(bucket, clientSettings(new SecretBag([], 'test'), endpoint)),
    2,
  );
  const keys: string[] = [];
  for (let r = 0; r < REPOSITORIES; r++) {
    const repo = `stash/app-${r}`;
    keys.push(`${repo}/config`, `${repo}/keys/${'a'.repeat(64)}`, `${repo}/snapshots/${'b'.repeat(64)}`);
    keys.push(`${repo}/index/${'c'.repeat(64)}`);
    for (let s = 0; s < SHARDS; s++)
      keys.push(`${repo}/data/${s.toString(16).padStart(2, '0')}/${'d'.repeat(64)}`);
  }
  // Two at a time: the fake's in-flight high-water mark must come from the inventory, not from here.
  await Promise.all(keys.map((key) => store.put(key, Buffer.from('restic'))));
  await store.close();
  return { bucket, objects: keys.length };
}

function repository(bucket: string, maxConnections?: number): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'gcs-restic', namespace: 'apps' },
    spec: {
      backend: {
        gcs: { bucket, prefix: 'stash', ...(maxConnections ? { maxConnections } : {}) },
        storageSecretName: 'gcs-secret',
      },
    },
  };
}

async function inventoryOf(bucket: string, maxConnections?: number): Promise<InventoryReport> {
  const result = await runOperation(
    'inventory',
    { storage: repository(bucket, maxConnections), credentials, options: { endpoint } },
    { deadline: Deadline.in(100_000), config, log: silentLog },
  );
  const report = result.inventory as InventoryReport | undefined;
  if (!report) throw new Error(`no inventory: ${JSON.stringify(result.status.conditions)}`);
  return report;
}

describe('inventory on GCS (contract fake of the GCS JSON API)', () => {
  it('keeps all its listing workers on the wire when the storage sets no maxConnections', async () => {
    const { bucket, objects } = await resticBucket();
    // Every listing is held a little, so the workers' calls overlap and the fake sees how many run at once.
    await control.setFault(bucket, { delayMs: 60 });
    const report = await inventoryOf(bucket);
    await control.setFault(bucket, undefined);
    expect(report.complete).toBe(true);
    expect(report.objects).toBe(objects);
    expect(report.repositories?.map((r) => r.path)).toEqual(['/app-0', '/app-1', '/app-2']);
    expect((await control.stats(bucket)).maxInFlight).toBe(DEFAULT_CONNECTIONS);
  });

  it('stays within the storage’s maxConnections when it sets one', async () => {
    const { bucket } = await resticBucket();
    await control.setFault(bucket, { delayMs: 60 });
    const report = await inventoryOf(bucket, 3);
    await control.setFault(bucket, undefined);
    expect(report.complete).toBe(true);
    expect((await control.stats(bucket)).maxInFlight).toBe(3);
  });
});
