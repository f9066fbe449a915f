/**
 * Delivery and AWS references from the deployment package: the unpacked `check` bundle signs its webhook
 * with a secret read from Secrets Manager, retries a receiver that answers 503 twice, and queues the same
 * event on SQS; S3 credentials come from Secrets Manager and SSM references (contract fakes).
 */
import { createHmac } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from './fakes/aws-json.js';
import { SecretsManagerFake } from './fakes/secretsmanager.js';
import { SqsFake } from './fakes/sqs.js';
import { SsmFake } from './fakes/ssm.js';
import { artifact, invoke, type Artifact, type PackagedFunction } from './support/artifact.js';
import { freshLocation, TARGETS, type HardeningTarget } from './support/hardening-targets.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SECRET = 'artifact-webhook-secret';
const sqs = new SqsFake();
const secrets = new SecretsManagerFake();
const ssm = new SsmFake();
let aws: AwsJsonEndpoint;
let receiver: WebhookReceiver;
let packaged: Artifact;
let awsEnv: Record<string, string>;

beforeAll(async () => {
  packaged = await artifact();
  aws = await startAwsJsonEndpoint([sqs, secrets, ssm]);
  receiver = await startWebhookReceiver();
  secrets.put('bsf/webhook', JSON.stringify({ WEBHOOK_SECRET: SECRET }));
  sqs.handle('CreateQueue', { QueueName: 'bsf-status' }, aws.url);
  awsEnv = {
    AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    AWS_ENDPOINT_URL_SSM: aws.url,
    AWS_ENDPOINT_URL_SQS: aws.url,
    ALLOW_PRIVATE_ENDPOINTS: 'loopback',
  };
}, 300_000);
afterAll(async () => {
  await receiver?.close();
  await aws?.close();
});

const fn = (name: string): PackagedFunction => packaged.functions[name] as PackagedFunction;
const s3 = TARGETS.find((target) => target.provider === 's3') as HardeningTarget;

describe('delivery from the packaged check function', () => {
  it('sends a signed webhook that reaches the receiver after two 503s, and queues the same event', async () => {
    const volume = await mkdtemp(join(tmpdir(), 'bsf-artifact-delivery-'));
    receiver.setFaults((index) => (index < 2 ? { kind: 'status', status: 503 } : undefined));
    const storage = {
      apiVersion: 'storage.kubestash.com/v1alpha1',
      kind: 'BackupStorage',
      metadata: { name: 'delivered', namespace: 'demo' },
      spec: { storage: { provider: 'local', local: { mountPath: volume, subPath: 'delivered' } } },
    };
    const env = {
      ...awsEnv,
      LOCAL_VOLUME_ROOT: volume,
      NOTIFY_WEBHOOK_URL: `${receiver.url}/status`,
      NOTIFY_WEBHOOK_SECRET_REF: 'aws-secretsmanager:bsf/webhook',
      NOTIFY_SQS_QUEUE_URL: `${aws.url}/000000000000/bsf-status`,
    };
    await invoke(fn('initialize'), { storage, options: { createBucket: true } }, env);
    receiver.setFaults((index) => (index < 2 ? { kind: 'status', status: 503 } : undefined));
    const checked = await invoke(fn('check'), { storage }, env);

    expect(checked.error).toBeUndefined();
    expect(checked.result.status.phase).toBe('Ready');
    expect(checked.result.delivery.webhook).toMatchObject({ delivered: true, signed: true, attempts: 3 });
    const attempts = receiver.requests.filter(
      (request) => request.headers['x-bsf-event-id'] === checked.result.delivery.eventId,
    );
    expect(attempts.map((request) => request.fault ?? 'accepted')).toEqual(['status', 'status', 'accepted']);
    const delivered = attempts[2] as (typeof attempts)[number];
    const signature = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(delivered.headers['x-bsf-signature']));
    expect(signature).not.toBeNull();
    const [, timestamp, digest] = signature as RegExpExecArray;
    expect(createHmac('sha256', SECRET).update(`${timestamp}.${delivered.body}`).digest('hex')).toBe(digest);
    expect(JSON.parse(delivered.body)).toMatchObject({ eventType: 'check.completed', operation: 'check' });

    expect(checked.result.delivery.sqs).toMatchObject({ delivered: true });
    const queued = sqs
      .queue('bsf-status')
      .find((message) => message.MessageAttributes.eventId?.StringValue === checked.result.delivery.eventId);
    expect(queued?.Body).toBe(delivered.body);
  });

  for (const [kind, reference] of [
    ['Secrets Manager', 'aws-secretsmanager:bsf/s3-credentials'],
    ['SSM Parameter Store', 'aws-ssm:/bsf/s3-credentials'],
  ] as const) {
    it(`checks an S3 storage whose credentials are a ${kind} reference`, async () => {
      const values = JSON.stringify(s3.secrets());
      if (kind === 'Secrets Manager') secrets.put('bsf/s3-credentials', values);
      else ssm.put('/bsf/s3-credentials', values);
      const request = s3.request(freshLocation(`art-ref-${kind.length}`), reference);
      const initialized = await invoke(fn('initialize'), request, awsEnv);
      expect(initialized.result.status.phase).toBe('Ready');
      const checked = await invoke(fn('check'), { storage: request.storage, credentials: reference }, awsEnv);
      expect(checked.result.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'BackendSecretFound', status: 'True' }),
      );
      expect(checked.result.status.phase).toBe('Ready');
    });
  }
});
