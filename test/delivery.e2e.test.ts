/**
 * End to end through the Lambda handlers: initialize and check a local storage, with the status sent to
 * a real webhook receiver (signed with a secret read from the Secrets Manager contract fake) and to a
 * queue (SQS contract fake). Delivery failures never lose the result.
 */
import { createHmac } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationResult } from '../lib/status/result.js';
import type { DeliveryReport } from '../lib/delivery/deliver.js';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from './fakes/aws-json.js';
import { SecretsManagerFake } from './fakes/secretsmanager.js';
import { SqsFake } from './fakes/sqs.js';
import { SsmFake } from './fakes/ssm.js';
import { useFakeAwsEnvironment } from './support/aws-env.js';
import { httpEvent, lambdaContext } from './support/lambda.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SECRET = 'e2e-webhook-secret-value';
const sqs = new SqsFake();
const secrets = new SecretsManagerFake();
let aws: AwsJsonEndpoint;
let receiver: WebhookReceiver;
let queueUrl: string;
let fifoUrl: string;
let volume: string;

beforeAll(async () => {
  aws = await startAwsJsonEndpoint([sqs, secrets, new SsmFake()]);
  useFakeAwsEnvironment(aws.url);
  receiver = await startWebhookReceiver();
  secrets.put('bsf/webhook', JSON.stringify({ WEBHOOK_SECRET: SECRET }));
  sqs.handle('CreateQueue', { QueueName: 'bsf-status' }, aws.url);
  sqs.handle('CreateQueue', { QueueName: 'bsf-status.fifo', Attributes: { FifoQueue: 'true' } }, aws.url);
  queueUrl = `${aws.url}/000000000000/bsf-status`;
  fifoUrl = `${aws.url}/000000000000/bsf-status.fifo`;
  volume = await mkdtemp(join(tmpdir(), 'bsf-delivery-e2e-'));
});
afterAll(async () => {
  await receiver.close();
  await aws.close();
});

const { handler: initializeHandler } = await import('../functions/initialize.js');
const { handler: checkHandler } = await import('../functions/check.js');

type Response = OperationResult & { delivery?: DeliveryReport };

function backupStorage(name: string): string {
  return [
    'apiVersion: storage.kubestash.com/v1alpha1',
    'kind: BackupStorage',
    'metadata:',
    `  name: ${name}`,
    '  namespace: demo',
    'spec:',
    '  storage:',
    '    provider: local',
    '    local:',
    `      mountPath: ${volume}`,
    `      subPath: ${name}`,
    '      hostPath:',
    `        path: ${volume}`,
    '  deletionPolicy: Delete',
  ].join('\n');
}

function verifies(headers: Record<string, unknown>, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['x-bsf-signature']));
  if (!match) return false;
  return createHmac('sha256', SECRET).update(`${match[1]}.${body}`).digest('hex') === match[2];
}

describe('initialize and check with webhook and queue delivery, through the handlers', () => {
  it('delivers both results to the request’s signed webhook and queue, and reports them under `requested`', async () => {
    const notify = {
      webhook: { url: `${receiver.url}/status`, secret: 'aws-secretsmanager:bsf/webhook' },
      sqs: { queueUrl },
    };
    const initialized = (await initializeHandler(
      { storage: backupStorage('e2e-one'), notify, options: { createBucket: true } } as never,
      lambdaContext(),
    )) as Response;
    const checked = (await checkHandler(
      { storage: backupStorage('e2e-one'), notify } as never,
      lambdaContext(),
    )) as Response;

    for (const [result, operation] of [
      [initialized, 'initialize'],
      [checked, 'check'],
    ] as const) {
      expect(result.status.phase).toBe('Ready');
      // The request's own targets (the deployment names none here).
      expect(result.delivery?.webhook).toBeUndefined();
      expect(result.delivery?.requested?.webhook).toMatchObject({
        delivered: true,
        signed: true,
        attempts: 1,
        target: `${receiver.url}/status`,
      });
      expect(result.delivery?.requested?.sqs).toMatchObject({ delivered: true, target: queueUrl });
      const hook = receiver.requests.find(
        (request) => request.headers['x-bsf-event-id'] === result.delivery?.eventId,
      );
      expect(hook).toBeDefined();
      expect(verifies(hook?.headers ?? {}, hook?.body ?? '')).toBe(true);
      const event = JSON.parse(hook?.body ?? '{}') as Record<string, unknown>;
      expect(event).toMatchObject({
        eventId: result.delivery?.eventId,
        eventType: `${operation}.completed`,
        operation,
        storage: result.storage,
      });
      expect((event.status as { phase: string }).phase).toBe('Ready');
      const message = sqs
        .queue('bsf-status')
        .find((queued) => queued.MessageAttributes.eventId?.StringValue === result.delivery?.eventId);
      expect(message?.Body).toBe(hook?.body);
      expect(message?.MessageAttributes).toMatchObject({
        provider: { DataType: 'String', StringValue: 'local' },
        phase: { DataType: 'String', StringValue: 'Ready' },
        storage: { DataType: 'String', StringValue: 'demo/e2e-one' },
        operation: { DataType: 'String', StringValue: operation },
      });
    }
    expect(initialized.delivery?.eventId).not.toBe(checked.delivery?.eventId);
  });

  it('uses the deployment’s targets when the request names none, over HTTP too', async () => {
    process.env.NOTIFY_WEBHOOK_URL = `${receiver.url}/deployment`;
    process.env.NOTIFY_WEBHOOK_SECRET_REF = 'aws-secretsmanager:bsf/webhook';
    process.env.NOTIFY_SQS_QUEUE_URL = fifoUrl;
    try {
      const response = (await checkHandler(
        httpEvent({ storage: backupStorage('e2e-two') }) as never,
        lambdaContext(),
      )) as { statusCode: number; body: string };
      expect(response.statusCode).toBe(200);
      const result = JSON.parse(response.body) as Response;
      expect(result.status.phase).toBe('NotReady'); // never initialized: no metadata.yaml
      expect(result.delivery?.webhook).toMatchObject({
        delivered: true,
        target: `${receiver.url}/deployment`,
      });
      expect(result.delivery?.sqs).toMatchObject({ delivered: true, target: fifoUrl });
      const [message] = sqs.queue('bsf-status.fifo');
      expect(message).toMatchObject({
        MessageGroupId: 'demo/e2e-two',
        MessageDeduplicationId: result.delivery?.eventId,
      });
      expect(JSON.parse(message?.Body ?? '{}')).toMatchObject({ status: { phase: 'NotReady' } });
    } finally {
      delete process.env.NOTIFY_WEBHOOK_URL;
      delete process.env.NOTIFY_WEBHOOK_SECRET_REF;
      delete process.env.NOTIFY_SQS_QUEUE_URL;
    }
  });

  it('still returns the status when every sink fails, with the reasons in `delivery`', async () => {
    receiver.setFaults(() => ({ kind: 'status', status: 410 }));
    try {
      const result = (await checkHandler(
        {
          storage: backupStorage('e2e-one'),
          notify: {
            webhook: { url: `${receiver.url}/gone`, secret: 'aws-secretsmanager:bsf/webhook' },
            sqs: { queueUrl: `${aws.url}/000000000000/missing` },
          },
        } as never,
        lambdaContext(),
      )) as Response;
      expect(result.status.phase).toBe('Ready');
      expect(result.delivery?.requested?.webhook).toMatchObject({
        delivered: false,
        httpStatus: 410,
        attempts: 1,
      });
      expect(result.delivery?.requested?.sqs).toMatchObject({
        delivered: false,
        error: 'SQS refused the message (QueueDoesNotExist)',
      });

      const noSecret = (await checkHandler(
        {
          storage: backupStorage('e2e-one'),
          notify: { webhook: { url: `${receiver.url}/x`, secret: 'aws-secretsmanager:bsf/absent' } },
        } as never,
        lambdaContext(),
      )) as Response;
      expect(noSecret.status.phase).toBe('Ready');
      expect(noSecret.delivery?.requested?.webhook?.delivered).toBe(false);
      expect(noSecret.delivery?.requested?.webhook?.attempts).toBe(0);
      expect(noSecret.delivery?.requested?.webhook?.error).toMatch(/aws-secretsmanager:bsf\/absent/);
    } finally {
      receiver.setFaults(() => undefined);
    }
  });

  it('refuses a malformed notify section with the field path', async () => {
    const response = (await checkHandler(
      httpEvent({
        storage: backupStorage('e2e-one'),
        notify: { webhook: { url: 'ftp://x' }, email: 'a@b' },
      }) as never,
      lambdaContext(),
    )) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(400);
    const issues = (JSON.parse(response.body) as { error: { issues: { path: string }[] } }).error.issues.map(
      (issue) => issue.path,
    );
    expect(issues).toEqual(expect.arrayContaining(['notify.webhook.url', 'notify.email']));
  });
});
