/**
 * Fan-out end to end: scheduledCheck reads a fleet manifest from SSM (contract fake), finds it above the
 * threshold and enqueues one message per entry (SendMessageBatch, ten a call) on the SQS contract fake;
 * the checkWorker handler consumes the messages as Lambda delivers them, with a partial batch failure
 * for exactly the records that failed (a foreign message, a status the webhook refused), and the retried
 * record succeeds with the same event id.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseRequest } from '../lib/config/request.js';
import { initialize } from '../lib/operations/initialize.js';
import { loadFleetSource } from '../lib/fleet/manifest.js';
import type { FleetRunOutput } from '../lib/fleet/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { startAwsJsonEndpoint } from './fakes/aws-json.js';
import { SecretsManagerFake } from './fakes/secretsmanager.js';
import { SqsFake } from './fakes/sqs.js';
import { SsmFake } from './fakes/ssm.js';
import { useFakeAwsEnvironment } from './support/aws-env.js';
import { lambdaContext } from './support/lambda.js';
import { serverInfo } from './support/servers.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const sqs = new SqsFake();
const ssm = new SsmFake();
const aws = await startAwsJsonEndpoint([sqs, ssm, new SecretsManagerFake()]);
useFakeAwsEnvironment(aws.url);
const receiver = await startWebhookReceiver();
sqs.handle('CreateQueue', { QueueName: 'bsf-fleet' }, aws.url);
const queueUrl = `${aws.url}/000000000000/bsf-fleet`;
Object.assign(process.env, {
  FLEET_QUEUE_URL: queueUrl,
  FLEET_FANOUT_THRESHOLD: '10',
  FLEET_CONCURRENCY: '4',
  NOTIFY_WEBHOOK_URL: `${receiver.url}/fleet`,
});
const { handler: scheduledCheck } = await import('../functions/scheduledCheck.js');
const { handler: checkWorker } = await import('../functions/checkWorker.js');
const client = new SQSClient({ region: 'us-east-1' });
const volume = await mkdtemp(join(tmpdir(), 'bsf-fanout-'));

function storage(
  name: string,
  subPath: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name, namespace: 'fleet' },
    spec: { storage: { provider: 'local', local: { mountPath: volume, subPath, ...extra } } },
  };
}

const ready = Array.from({ length: 20 }, (_, n) => storage(`local-${n}`, `ready/${n}`));
const uninitialized = Array.from({ length: 3 }, (_, n) => storage(`uninit-${n}`, `none/${n}`));
const invalid = [storage('bad-0', 'x', { bogus: true }), storage('bad-1', '../escape')];
const manifest = { apiVersion: 'v1', kind: 'List', items: [...ready, ...uninitialized, ...invalid] };

const silenceStdout = () => vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

beforeAll(async () => {
  for (const item of ready) {
    const result = await initialize(parseRequest({ storage: item, options: { createBucket: true } }), {
      deadline: Deadline.in(10_000),
      config: loadRuntimeConfig(),
      log: silentLog,
    });
    expect(result.status.phase).toBe('Ready');
  }
  ssm.put('/bsf/fleet', JSON.stringify(manifest), 'String');
});
afterAll(async () => {
  client.destroy();
  await receiver.close();
  await aws.close();
});

function asRecord(message: {
  MessageId?: string;
  ReceiptHandle?: string;
  Body?: string;
  MD5OfBody?: string;
  Attributes?: Record<string, string>;
}): SQSRecord {
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body as string,
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'AIDAFAKE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody as string,
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:bsf-fleet',
    awsRegion: 'us-east-1',
  };
}

/** What Lambda's event source mapping does: receive up to 10, invoke, delete what did not fail. */
async function deliverBatchToWorker(
  visibilityTimeout = 30,
): Promise<{ records: SQSRecord[]; failed: string[] }> {
  const received = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const records = (received.Messages ?? []).map(asRecord);
  if (records.length === 0) return { records, failed: [] };
  const quiet = silenceStdout();
  let response: { batchItemFailures: { itemIdentifier: string }[] };
  try {
    response = (await checkWorker(
      { Records: records } satisfies SQSEvent,
      lambdaContext(60_000, 'checkWorker'),
    )) as typeof response;
  } finally {
    quiet.mockRestore();
  }
  const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
  for (const record of records.filter((candidate) => !failed.includes(candidate.messageId))) {
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle }));
  }
  return { records, failed };
}

describe('fleet fan-out over SQS (contract fake) and the checkWorker handler', () => {
  let output: FleetRunOutput;

  it('enqueues one message per valid entry, ten per SendMessageBatch, retrying a transient entry failure', async () => {
    let injected = false;
    sqs.failEntry = (_queue, body) => {
      if (!injected && body.includes('"local-5"')) {
        injected = true;
        return { code: 'ServiceUnavailable', senderFault: false };
      }
      return undefined;
    };
    const quiet = silenceStdout();
    try {
      output = (await scheduledCheck(
        { fleet: 'aws-ssm:/bsf/fleet' } as never,
        lambdaContext(60_000, 'scheduledCheck'),
      )) as FleetRunOutput;
    } finally {
      quiet.mockRestore();
      sqs.failEntry = () => undefined;
    }
    expect(injected).toBe(true);
    expect(output.mode).toBe('fanout');
    expect(output.summary).toEqual({
      total: 25,
      checked: 2,
      notChecked: 0,
      skipped: 0,
      queued: 23,
      byPhase: { Ready: 0, NotReady: 2 },
      byReason: { InvalidManifest: 2 },
    });
    const batches = aws.calls
      .filter((call) => call.target === 'AmazonSQS.SendMessageBatch')
      .map((call) => (call.input.Entries as unknown[]).length);
    expect(batches.every((size) => size <= 10)).toBe(true);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(24); // 23 entries, one sent twice
    const queued = sqs.queue('bsf-fleet');
    expect(queued).toHaveLength(23);
    expect(new Set(queued.map((message) => (JSON.parse(message.Body) as { id: string }).id))).toEqual(
      new Set(
        [...ready, ...uninitialized].map((item) => `fleet/${(item.metadata as { name: string }).name}`),
      ),
    );
  });

  it('checks every entry in the worker, failing only the records that must be retried', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not a fleet message' }));
    // The webhook refuses the status of one storage (its event id is its message id).
    const refusedId =
      sqs.queue('bsf-fleet').find((message) => message.Body.includes('"fleet/local-7"'))?.MessageId ?? '';
    receiver.setFaults((_index, request) =>
      request.headers['x-bsf-event-id'] === refusedId ? { kind: 'status', status: 422 } : undefined,
    );

    const failed: string[] = [];
    let processed = 0;
    for (let round = 0; round < 5; round += 1) {
      const batch = await deliverBatchToWorker(3600);
      processed += batch.records.length;
      failed.push(...batch.failed);
      if (batch.records.length === 0) break;
    }
    expect(processed).toBe(24);
    const garbage = sqs.queue('bsf-fleet').find((message) => message.Body === 'not a fleet message');
    expect(new Set(failed)).toEqual(new Set([refusedId, garbage?.MessageId]));
    // Only the two failed records are left on the queue.
    expect(
      sqs
        .queue('bsf-fleet')
        .map((message) => message.MessageId)
        .sort(),
    ).toEqual([refusedId, garbage?.MessageId].sort());

    const statuses = receiver.requests
      .filter((request) => request.fault === undefined)
      .map(
        (request) =>
          JSON.parse(request.body) as {
            eventId: string;
            storage: { name: string };
            status: { phase: string };
          },
      );
    expect(statuses).toHaveLength(22);
    const phases = Object.fromEntries(statuses.map((status) => [status.storage.name, status.status.phase]));
    for (let n = 0; n < 20; n += 1) if (n !== 7) expect(phases[`local-${n}`]).toBe('Ready');
    for (let n = 0; n < 3; n += 1) expect(phases[`uninit-${n}`]).toBe('NotReady');
    // Each status's event id is its message id, so a retried message keeps its event id.
    const ids = new Set(sqs.queue('bsf-fleet').map((message) => message.MessageId));
    expect(statuses.every((status) => !ids.has(status.eventId))).toBe(true);
  });

  it('succeeds on redelivery once the webhook accepts, with the same event id', async () => {
    receiver.setFaults(() => undefined);
    for (const message of sqs.queue('bsf-fleet')) message.invisibleUntil = 0;
    const { records, failed } = await deliverBatchToWorker();
    expect(records).toHaveLength(2);
    const retried = records.find((record) => record.body.includes('"fleet/local-7"'));
    expect(retried?.attributes.ApproximateReceiveCount).toBe('2');
    expect(failed).toEqual(records.filter((record) => record !== retried).map((record) => record.messageId));
    const copies = receiver.requests.filter(
      (request) => request.headers['x-bsf-event-id'] === retried?.messageId,
    );
    expect(copies.map((request) => request.fault ?? 'accepted')).toEqual(['status', 'accepted']);
  });
});

describe('fleet manifest sources', () => {
  it('reads s3://bucket/key from a real S3 server (s3rver)', async () => {
    const info = serverInfo('s3rver');
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: info.endpoint,
      forcePathStyle: true,
      credentials: {
        accessKeyId: info.accessKeyId as string,
        secretAccessKey: info.secretAccessKey as string,
      },
    });
    const bucket = `fleet-manifests-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'prod/fleet.yaml', Body: 'kind: List\nitems: []\n' }),
    );
    s3.destroy();
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: info.endpoint,
      AWS_ACCESS_KEY_ID: info.accessKeyId,
      AWS_SECRET_ACCESS_KEY: info.secretAccessKey,
    });
    try {
      expect(await loadFleetSource(`s3://${bucket}/prod/fleet.yaml`)).toBe('kind: List\nitems: []\n');
      await expect(loadFleetSource(`s3://${bucket}/missing.yaml`)).rejects.toThrow(
        `s3://${bucket}/missing.yaml could not be read (NoSuchKey)`,
      );
    } finally {
      process.env = saved;
    }
    await expect(loadFleetSource('aws-ssm:/bsf/none')).rejects.toThrow(/does not exist/);
    await expect(loadFleetSource('file:/nonexistent/fleet.yaml')).rejects.toThrow(
      'file:/nonexistent/fleet.yaml could not be read (ENOENT)',
    );
    await expect(loadFleetSource('http://example.com/fleet')).rejects.toThrow(/unknown fleet source/);
  });
});
