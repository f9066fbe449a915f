/**
 * The fleet and the long walks from the deployment package: scheduledCheck in one invocation and fanned
 * out over SQS (contract fake), checkWorker consuming those messages with a partial batch failure, inventory
 * resumed from its continuation token, and cleanup of a WipeOut storage on S3 (s3rver).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from './fakes/aws-json.js';
import { SqsFake } from './fakes/sqs.js';
import { artifact, invoke, ROOT, type Artifact, type PackagedFunction } from './support/artifact.js';
import { freshLocation, secretDir, TARGETS, type HardeningTarget } from './support/hardening-targets.js';

const sqs = new SqsFake();
let aws: AwsJsonEndpoint;
let packaged: Artifact;
let volume: string;
let env: Record<string, string>;

function storage(name: string, deletionPolicy = 'Delete'): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name, namespace: 'fleet' },
    spec: {
      storage: { provider: 'local', local: { mountPath: '/data', subPath: `fleet/${name}` } },
      deletionPolicy,
    },
  };
}

const s3 = TARGETS.find((target) => target.provider === 's3') as HardeningTarget;
const fn = (name: string): PackagedFunction => packaged.functions[name] as PackagedFunction;
const ready = ['a', 'b', 'c'].map((name) => storage(`ready-${name}`));
const missing = storage('missing');

beforeAll(async () => {
  packaged = await artifact();
  aws = await startAwsJsonEndpoint([sqs]);
  sqs.handle('CreateQueue', { QueueName: 'bsf-fleet' }, aws.url);
  volume = await mkdtemp(join(tmpdir(), 'bsf-artifact-fleet-'));
  const manifest = join(volume, 'fleet.json');
  await writeFile(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...ready, missing] }));
  env = {
    LOCAL_VOLUME_ROOT: volume,
    FLEET_SOURCE: `file:${manifest}`,
    FLEET_QUEUE_URL: `${aws.url}/000000000000/bsf-fleet`,
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    AWS_ENDPOINT_URL_SQS: aws.url,
  };
  for (const item of ready) {
    const initialized = await invoke(
      fn('initialize'),
      { storage: item, options: { createBucket: true } },
      env,
    );
    expect(initialized.result.status.phase).toBe('Ready');
  }
}, 300_000);
afterAll(async () => {
  await aws?.close();
});

describe('the packaged fleet functions', () => {
  it('scheduledCheck checks the fleet in one invocation (EventBridge event) and prints EMF metrics', async () => {
    const run = await invoke(
      fn('scheduledCheck'),
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      env,
    );
    expect(run.error).toBeUndefined();
    expect(run.result.mode).toBe('inline');
    expect(run.result.summary).toMatchObject({ total: 4, checked: 4, byPhase: { Ready: 3, NotReady: 1 } });
    expect(run.output).toContain('"CloudWatchMetrics"');
  });

  it('the console lists what a packaged scheduledCheck recorded, with each phase', async () => {
    const remembered = { ...env, RESULTS_STORE: `file:${join(volume, 'results')}` };
    const run = await invoke(fn('scheduledCheck'), { source: 'aws.events' }, remembered);
    expect(run.error).toBeUndefined();
    const event = JSON.parse(await readFile(join(ROOT, 'events', 'local', 'console.json'), 'utf8')) as object;
    const page = await invoke(fn('console'), event, remembered);
    expect(page.error).toBeUndefined();
    expect(page.result.statusCode).toBe(200);
    expect(page.result.headers['content-type']).toMatch(/^text\/html/);
    const html = String(page.result.body);
    for (const name of ['ready-a', 'ready-b', 'ready-c', 'missing']) expect(html).toContain(name);
    expect(html.match(/NotReady/g)?.length).toBeGreaterThanOrEqual(1);
    expect(html).toContain('Ready');
  });

  it('scheduledCheck fans out above the threshold; checkWorker reports exactly the failed record', async () => {
    const run = await invoke(fn('scheduledCheck'), {}, { ...env, FLEET_FANOUT_THRESHOLD: '2' });
    expect(run.result).toMatchObject({ mode: 'fanout', summary: { total: 4, queued: 4 } });
    const messages = sqs.queue('bsf-fleet').splice(0);
    expect(messages).toHaveLength(4);
    const records = [...messages, { MessageId: 'foreign', Body: 'not a fleet entry' }].map((message) => ({
      messageId: message.MessageId,
      receiptHandle: `handle-${message.MessageId}`,
      body: message.Body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:bsf-fleet',
      awsRegion: 'us-east-1',
    }));
    const worked = await invoke(fn('checkWorker'), { Records: records }, env);
    expect(worked.error).toBeUndefined();
    expect(worked.result).toEqual({ batchItemFailures: [{ itemIdentifier: 'foreign' }] });
  });

  it('inventory returns a continuation when its time is within the reserve, and completes from it', async () => {
    const item = ready[0] as Record<string, unknown>;
    // 1.9 s left: less the answer's margin, inside the cleanup reserve, so no listing may start.
    const first = await invoke(fn('inventory'), { storage: item }, env, 1900);
    expect(first.result.inventory.complete).toBe(false);
    const continuation = first.result.inventory.continuation as string;
    expect(continuation).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await invoke(fn('inventory'), { storage: item, options: { continuation } }, env);
    expect(second.result.inventory).toMatchObject({ complete: true, objects: 1 });
    expect(second.result.status.phase).toBe('Ready');
  });

  it('cleanup wipes a WipeOut S3 storage given its confirmation', async () => {
    const credentials = await secretDir(s3.secrets(), 'artifact-cleanup');
    const location = freshLocation('art-cleanup');
    const request = s3.request(location, credentials);
    const s3env = { ...env, ALLOW_PRIVATE_ENDPOINTS: 'loopback' };
    expect((await invoke(fn('initialize'), request, s3env)).result.status.phase).toBe('Ready');
    const { createBucket: _create, ...options } = request.options as Record<string, unknown>;
    const refused = await invoke(fn('cleanup'), { ...request, options }, s3env);
    expect(refused.result.statusCode).toBe(400);
    const confirm = `${location.bucket}/${location.prefix}`;
    const wiped = await invoke(fn('cleanup'), { ...request, options: { ...options, confirm } }, s3env);
    expect(wiped.error).toBeUndefined();
    expect(wiped.result.operation).toBe('cleanup');
    const checked = await invoke(fn('check'), { ...request, options }, s3env);
    expect(checked.result.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'BackendInitialized', status: 'False' }),
    );
  });
});
