/**
 * Scheduled fleet checks through the scheduledCheck handler: a kubectl `List` of 240 storages mixing
 * local volumes, s3rver and azurite, some broken on purpose. The summary counts and reasons are exact,
 * every checked status reaches the webhook, EMF records are parsed and asserted, and a run that cannot
 * reach everyone says so instead of dropping entries.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseRequest } from '../lib/config/request.js';
import { initialize } from '../lib/operations/initialize.js';
import { isDue } from '../lib/fleet/frequency.js';
import { parseFleet } from '../lib/fleet/manifest.js';
import { loggingObserver } from '../lib/fleet/metrics.js';
import { runFleet, type FleetRunOutput } from '../lib/fleet/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { lambdaContext } from './support/lambda.js';
import { secretsRoot } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const s3 = serverInfo('s3rver');
const azurite = serverInfo('azurite');
const work = await mkdtemp(join(tmpdir(), 'bsf-fleet-'));
const volume = join(work, 'volume');
const { source, secret } = await secretsRoot('fleet');
process.env.CREDENTIALS_SOURCE = source;
process.env.FLEET_CONCURRENCY = '8';
process.env.FLEET_FANOUT_THRESHOLD = '1000';
process.env.FLEET_SCHEDULE_RATE_MINUTES = '15';
const runtime = loadRuntimeConfig();
const RUN_TIME = '2025-03-01T12:00:00Z';

const { handler } = await import('../functions/scheduledCheck.js');

let receiver: WebhookReceiver;
const run = Math.random().toString(36).slice(2, 8);

function backupStorage(
  name: string,
  namespace: string,
  storage: Record<string, unknown>,
  annotations?: Record<string, string>,
): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}), uid: crypto.randomUUID() },
    spec: { storage, deletionPolicy: 'Delete' },
    status: { phase: 'Ready' },
  };
}

const local = (subPath: string, extra: Record<string, unknown> = {}) => ({
  provider: 'local',
  local: { mountPath: volume, subPath, hostPath: { path: volume }, ...extra },
});

async function initializeAll(items: Record<string, unknown>[], endpoint?: string): Promise<void> {
  for (const item of items) {
    const request = parseRequest({
      storage: item,
      options: { createBucket: true, ...(endpoint ? { endpoint } : {}) },
    });
    const result = await initialize(request, {
      deadline: Deadline.in(20_000),
      config: runtime,
      log: silentLog,
    });
    expect(result.status.phase).toBe('Ready');
  }
}

/** The fleet and, per entry, the phase and reason it must end with. */
const items: Record<string, unknown>[] = [];
const expected = new Map<string, { state: string; phase?: string; reason?: string }>();
function add(
  item: Record<string, unknown>,
  outcome: { state: string; phase?: string; reason?: string },
): void {
  items.push(item);
  const metadata = item.metadata as { name: string; namespace: string };
  expected.set(`${metadata.namespace}/${metadata.name}`, outcome);
}

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  process.env.NOTIFY_WEBHOOK_URL = `${receiver.url}/fleet`;
  await mkdir(volume, { recursive: true });
  await secret('demo', 's3-secret', {
    AWS_ACCESS_KEY_ID: s3.accessKeyId as string,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey as string,
  });
  await secret('demo', 'azure-secret', { AZURE_ACCOUNT_KEY: azurite.accountKey as string });
  const blob = new BlobServiceClient(
    azurite.endpoint as string,
    new StorageSharedKeyCredential(azurite.accountName as string, azurite.accountKey as string),
  );
  await blob.getContainerClient(`fleet-${run}`).createIfNotExists();

  const readyLocal = Array.from({ length: 110 }, (_, n) =>
    backupStorage(`local-${n}`, `team-${n % 5}`, local(`ready/${n}`)),
  );
  await initializeAll(readyLocal);
  for (const item of readyLocal) add(item, { state: 'checked', phase: 'Ready' });
  // Never initialized: the directory is missing.
  for (let n = 0; n < 40; n += 1)
    add(backupStorage(`uninit-${n}`, 'broken', local(`missing/${n}`)), {
      state: 'checked',
      phase: 'NotReady',
      reason: 'NotFound',
    });
  // A secret the deployment does not have.
  for (let n = 0; n < 20; n += 1) {
    add(
      backupStorage(`nosecret-${n}`, 'broken', {
        provider: 's3',
        s3: {
          endpoint: s3.endpoint,
          bucket: s3.bucket,
          prefix: `x/${n}`,
          region: 'us-east-1',
          secretName: `absent-${n}`,
        },
      }),
      {
        state: 'checked',
        phase: 'NotReady',
        reason: 'BackendSecretNotAvailable',
      },
    );
  }
  // Invalid manifests: a field of the wrong type, an unknown field, a bad interval annotation.
  for (let n = 0; n < 10; n += 1)
    add(backupStorage(`invalid-${n}`, 'broken', { provider: 's3', s3: { bucket: 12345 } }), {
      state: 'checked',
      phase: 'NotReady',
      reason: 'InvalidManifest',
    });
  for (let n = 0; n < 5; n += 1)
    add(backupStorage(`typo-${n}`, 'broken', local(`typo/${n}`, { subpath: 'oops' })), {
      state: 'checked',
      phase: 'NotReady',
      reason: 'InvalidManifest',
    });
  for (let n = 0; n < 5; n += 1) {
    add(
      backupStorage(`badinterval-${n}`, 'broken', local(`ready/${n}`), {
        'backupstorage-functions.io/check-interval': 'often',
      }),
      { state: 'checked', phase: 'NotReady', reason: 'InvalidManifest' },
    );
  }
  // s3rver: initialized prefixes, and a bucket that does not exist.
  const s3Ready = Array.from({ length: 15 }, (_, n) =>
    backupStorage(`s3-${n}`, 'demo', {
      provider: 's3',
      s3: {
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        prefix: `fleet-${run}/${n}`,
        region: 'us-east-1',
        secretName: 's3-secret',
      },
    }),
  );
  await initializeAll(s3Ready);
  for (const item of s3Ready) add(item, { state: 'checked', phase: 'Ready' });
  for (let n = 0; n < 5; n += 1) {
    add(
      backupStorage(`s3-nobucket-${n}`, 'demo', {
        provider: 's3',
        s3: {
          endpoint: s3.endpoint,
          bucket: `missing-${run}-${n}`,
          region: 'us-east-1',
          secretName: 's3-secret',
        },
      }),
      {
        state: 'checked',
        phase: 'NotReady',
        reason: 'NotFound',
      },
    );
  }
  // azurite: initialized prefixes in one container, and a container that does not exist.
  const annotations = { 'backupstorage-functions.io/endpoint': azurite.endpoint as string };
  const azureReady = Array.from({ length: 15 }, (_, n) =>
    backupStorage(
      `az-${n}`,
      'demo',
      {
        provider: 'azure',
        azure: {
          storageAccount: azurite.accountName,
          container: `fleet-${run}`,
          prefix: `p/${n}`,
          secretName: 'azure-secret',
        },
      },
      annotations,
    ),
  );
  await initializeAll(azureReady, azurite.endpoint as string);
  for (const item of azureReady) add(item, { state: 'checked', phase: 'Ready' });
  for (let n = 0; n < 5; n += 1) {
    add(
      backupStorage(
        `az-nocontainer-${n}`,
        'demo',
        {
          provider: 'azure',
          azure: {
            storageAccount: azurite.accountName,
            container: `none-${run}-${n}`,
            secretName: 'azure-secret',
          },
        },
        annotations,
      ),
      { state: 'checked', phase: 'NotReady', reason: 'NotFound' },
    );
  }
  // Checked every other run (30m on a 15m schedule): due in this run or skipped, as the schedule arithmetic says.
  // (Each is its own storage: one initialized for another BackupStorage would be a Conflict.)
  for (let n = 0; n < 10; n += 1) {
    const item = backupStorage(`halfhourly-${n}`, 'team-0', local(`halfhourly/${n}`), {
      'backupstorage-functions.io/check-interval': '30m',
    });
    await initializeAll([item]);
    const due = isDue(`team-0/halfhourly-${n}`, 30 * 60_000, Date.parse(RUN_TIME), 15 * 60_000);
    add(item, due ? { state: 'checked', phase: 'Ready' } : { state: 'skipped', reason: 'NotDue' });
  }
  await writeFile(
    join(work, 'fleet.yaml'),
    stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items }),
  );
});

afterAll(async () => {
  delete process.env.NOTIFY_WEBHOOK_URL;
  await receiver.close();
});

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  provider: string;
  entry: string;
  Ready: number;
  CheckDuration: number;
  [metric: string]: unknown;
}

describe('scheduledCheck over a mixed fleet (local, s3rver, azurite)', () => {
  let output: FleetRunOutput;
  const emf: Emf[] = [];
  let deadlineAt = 0;

  beforeAll(async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n')) {
        if (line.includes('"_aws"')) emf.push(JSON.parse(line) as Emf);
      }
      return true;
    });
    try {
      const context = lambdaContext(120_000, 'scheduledCheck');
      deadlineAt = Date.now() + context.getRemainingTimeInMillis();
      output = (await handler(
        { fleet: `file:${join(work, 'fleet.yaml')}`, time: RUN_TIME } as never,
        context,
      )) as FleetRunOutput;
    } finally {
      write.mockRestore();
    }
  });

  it('has at least 200 entries and finishes inside its deadline, every entry accounted for', () => {
    expect(items.length).toBeGreaterThanOrEqual(200);
    expect(Date.now()).toBeLessThan(deadlineAt);
    expect(output.mode).toBe('inline');
    expect(output.results.map((result) => result.index)).toEqual(items.map((_, index) => index));
  });

  it('gives every entry the phase and reason it must have', () => {
    for (const result of output.results) {
      const want = expected.get(result.id);
      expect({ id: result.id, state: result.state, phase: result.phase, reason: result.reason }).toEqual({
        id: result.id,
        ...want,
      });
    }
  });

  it('sums up exactly', () => {
    const outcomes = [...expected.values()];
    const count = (predicate: (outcome: { state: string; phase?: string; reason?: string }) => boolean) =>
      outcomes.filter(predicate).length;
    const skipped = count((outcome) => outcome.state === 'skipped');
    expect(output.summary).toEqual({
      total: items.length,
      checked: items.length - skipped,
      notChecked: 0,
      skipped,
      queued: 0,
      byPhase: {
        Ready: count((outcome) => outcome.phase === 'Ready'),
        NotReady: count((outcome) => outcome.phase === 'NotReady'),
      },
      byReason: { NotFound: 50, BackendSecretNotAvailable: 20, InvalidManifest: 20 },
    });
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(10);
  });

  it('delivers each checked storage’s status to the webhook, once per event id', () => {
    const delivered = output.results.filter((result) => result.status);
    expect(delivered.every((result) => result.delivery?.webhook?.delivered)).toBe(true);
    const ids = receiver.requests
      .filter((request) => request.path === '/fleet')
      .map((request) => String(request.headers['x-bsf-event-id']));
    expect(new Set(ids).size).toBe(delivered.length);
    expect(new Set(ids)).toEqual(new Set(delivered.map((result) => result.delivery?.eventId)));
  });

  it('writes one EMF record per check, dimensioned by provider', () => {
    const measured = output.results.filter((result) => result.status);
    expect(emf).toHaveLength(measured.length);
    for (const record of emf) {
      const [directive] = record._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe('BackupStorageFunctions');
      expect(directive?.Dimensions).toEqual([['service', 'provider']]);
      const names = directive?.Metrics.map((metric) => metric.Name) ?? [];
      expect(names).toEqual(expect.arrayContaining(['Ready', 'CheckDuration']));
      expect(directive?.Metrics.find((metric) => metric.Name === 'CheckDuration')?.Unit).toBe('Milliseconds');
      expect([0, 1]).toContain(record.Ready);
      expect(typeof record.CheckDuration).toBe('number');
    }
    const ready = (provider: string) =>
      emf.filter((record) => record.provider === provider).reduce((sum, record) => sum + record.Ready, 0);
    const readyResults = (provider: string) =>
      measured.filter((result) => result.storage?.provider === provider && result.phase === 'Ready').length;
    for (const provider of ['local', 's3', 'azure']) expect(ready(provider)).toBe(readyResults(provider));
    // Per-step latency: a Ready local check listed, probed and verified its marker.
    const localReady = emf.find((record) => record.provider === 'local' && record.Ready === 1);
    expect(Object.keys(localReady ?? {})).toEqual(
      expect.arrayContaining(['StepLatency_list', 'StepLatency_writeProbe', 'StepLatency_marker']),
    );
    // The secret-less entries stop before connecting: their records have the credentials step only.
    const noSecret = emf.find((record) => record.entry === 'broken/nosecret-0');
    expect(noSecret?.Ready).toBe(0);
    expect(noSecret).not.toHaveProperty('StepLatency_list');
  });
});

describe('fleet runs under a tight deadline', () => {
  it('reports entries it could not reach as not checked, and returns before the deadline', async () => {
    const hang = await startWebhookReceiver();
    hang.setFaults(() => ({ kind: 'hang' }));
    try {
      const fleet = items.slice(0, 12);
      const path = join(work, 'small.yaml');
      await writeFile(path, stringify({ apiVersion: 'v1', kind: 'List', items: fleet }));
      const deadline = Deadline.in(7000);
      const output = await runFleet({
        source: `file:${path}`,
        fleet: { concurrency: 2, fanoutThreshold: 100, entryTimeoutMs: 3000, scheduleRateMs: 900_000 },
        runtime,
        deadline,
        log: silentLog,
        observer: loggingObserver(silentLog),
        deployment: { webhook: { url: `${hang.url}/slow` } },
      });
      expect(Date.now()).toBeLessThanOrEqual(deadline.at + 500);
      const { summary } = output;
      expect(summary.total).toBe(12);
      expect(summary.checked + summary.notChecked).toBe(12);
      expect(summary.checked).toBeGreaterThanOrEqual(2);
      expect(summary.notChecked).toBeGreaterThanOrEqual(4);
      expect(summary.byReason.DeadlineExceeded).toBe(summary.notChecked);
      for (const result of output.results.filter((entry) => entry.state === 'notChecked')) {
        expect(result).toMatchObject({
          reason: 'DeadlineExceeded',
          message: 'not reached before the run’s deadline',
        });
      }
      // Checked entries keep their status even though the webhook never answered.
      for (const result of output.results.filter((entry) => entry.state === 'checked')) {
        expect(result.phase).toBe('Ready');
        expect(result.delivery?.webhook?.delivered).toBe(false);
      }
    } finally {
      await hang.close();
    }
  });
});

describe('fleet manifests', () => {
  it('reads Stash Repository lists as JSON and multi-document YAML, each bad item on its own', () => {
    const repositories = {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'RepositoryList',
      items: [
        {
          apiVersion: 'stash.appscode.com/v1alpha1',
          kind: 'Repository',
          metadata: { name: 'r1', namespace: 'demo' },
          spec: { backend: { storageSecretName: 's', local: { mountPath: '/safe/data', subPath: 'r1' } } },
        },
        {
          apiVersion: 'stash.appscode.com/v1alpha1',
          kind: 'Repository',
          metadata: { name: 'r2', namespace: 'demo' },
          spec: { backend: { s3: { bucket: 'b' }, gcs: { bucket: 'c' } } },
        },
      ],
    };
    const fromJson = parseFleet(JSON.stringify(repositories), 'file:x.json');
    expect(
      fromJson.map((entry) => [entry.id, entry.target?.backend.provider, entry.problem === undefined]),
    ).toEqual([
      ['demo/r1', 'local', true],
      ['demo/r2', undefined, false],
    ]);
    expect(fromJson[1]?.problem).toMatch(/several provider blocks/);
    const yamlText = `${stringify(repositories.items[0])}---\n${stringify({ apiVersion: 'v1', kind: 'List', items: [items[0]] })}`;
    expect(parseFleet(yamlText, 'file:x.yaml').map((entry) => entry.id)).toEqual([
      'demo/r1',
      'team-0/local-0',
    ]);
    expect(() => parseFleet('items: [', 'file:bad.yaml')).toThrow(/not valid YAML or JSON/);
  });

  it('spreads a daily check over the day: each entry exactly once in 96 quarter-hour runs', () => {
    const start = Date.parse('2025-03-01T00:00:00Z');
    for (const id of ['a/x', 'b/y', 'c/z', 'team-0/daily-3']) {
      const runs = Array.from({ length: 96 }, (_, n) =>
        isDue(id, 86_400_000, start + n * 900_000, 900_000),
      ).filter(Boolean).length;
      expect(runs).toBe(1);
    }
    expect(isDue('a/x', undefined, start, 900_000)).toBe(true);
    expect(isDue('a/x', 60_000, start, 900_000)).toBe(true);
  });
});
