/**
 * SQS, Secrets Manager and SSM: no server of theirs installs here, so these run the real SDK clients
 * against contract fakes of the AWS JSON protocols (test/fakes/).
 */
import { SQSClient, CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearAwsCredentialCache } from '../lib/credentials/aws.js';
import { CredentialsError, resolveCredentials } from '../lib/credentials/resolve.js';
import { isFifoQueue, messageGroupId, sendBatchToQueue, sendToQueue } from '../lib/delivery/sqs.js';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from './fakes/aws-json.js';
import { SecretsManagerFake } from './fakes/secretsmanager.js';
import { SqsFake } from './fakes/sqs.js';
import { SsmFake } from './fakes/ssm.js';
import { useFakeAwsEnvironment } from './support/aws-env.js';

const sqs = new SqsFake();
const secrets = new SecretsManagerFake();
const ssm = new SsmFake();
let endpoint: AwsJsonEndpoint;
let client: SQSClient;

beforeAll(async () => {
  endpoint = await startAwsJsonEndpoint([sqs, secrets, ssm]);
  useFakeAwsEnvironment(endpoint.url);
  client = new SQSClient({ region: 'us-east-1', endpoint: endpoint.url });
});
afterAll(async () => {
  client.destroy();
  await endpoint.close();
});

async function createQueue(name: string): Promise<string> {
  const created = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: name.endsWith('.fifo') ? { FifoQueue: 'true' } : {},
    }),
  );
  return created.QueueUrl as string;
}

describe('SQS sink (contract fake of the SQS JSON protocol, real @aws-sdk/client-sqs)', () => {
  it('sends the status as the body with provider, phase and storage attributes', async () => {
    const queueUrl = await createQueue('statuses');
    const outcome = await sendToQueue(queueUrl, {
      body: '{"status":{"phase":"Ready"}}',
      attributes: { provider: 'local', phase: 'Ready', storage: 'demo/local-storage', empty: '' },
    });
    expect(outcome).toMatchObject({ sink: 'sqs', delivered: true, target: queueUrl });
    expect(outcome.messageId).toMatch(/^[0-9a-f-]{36}$/);
    const received = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(received.Messages).toHaveLength(1);
    const message = received.Messages?.[0];
    expect(message?.Body).toBe('{"status":{"phase":"Ready"}}');
    expect(message?.MessageAttributes?.provider?.StringValue).toBe('local');
    expect(message?.MessageAttributes?.phase?.StringValue).toBe('Ready');
    expect(message?.MessageAttributes?.storage?.StringValue).toBe('demo/local-storage');
    expect(message?.MessageAttributes?.empty).toBeUndefined();
  });

  it('gives FIFO queues a group per storage and the event id as deduplication id', async () => {
    const queueUrl = await createQueue('statuses.fifo');
    expect(isFifoQueue(queueUrl)).toBe(true);
    const send = (eventId: string, storage: string) =>
      sendToQueue(queueUrl, {
        body: `{"eventId":"${eventId}"}`,
        groupKey: storage,
        deduplicationId: eventId,
        attributes: { storage },
      });
    expect((await send('e-1', 'demo/a')).delivered).toBe(true);
    expect((await send('e-1', 'demo/a')).delivered).toBe(true);
    expect((await send('e-2', 'prod/b b')).delivered).toBe(true);
    const stored = sqs.queue('statuses.fifo');
    expect(stored.map((message) => [message.MessageGroupId, message.MessageDeduplicationId])).toEqual([
      ['demo/a', 'e-1'],
      ['prod/b_b', 'e-2'],
    ]);
    expect(messageGroupId('x'.repeat(300))).toHaveLength(128);
  });

  it('reports a missing queue by its error name, not by throwing', async () => {
    const outcome = await sendToQueue(`${endpoint.url}/000000000000/nope`, { body: '{}' });
    expect(outcome).toMatchObject({ delivered: false, error: 'SQS refused the message (QueueDoesNotExist)' });
  });

  it('sends batches of at most ten and reports entries SQS rejected', async () => {
    const queueUrl = await createQueue('fanout');
    sqs.failEntry = (queue, body) =>
      queue === 'fanout' && body.includes('"n":3')
        ? { code: 'InternalError', senderFault: false }
        : undefined;
    const failures = await sendBatchToQueue(
      queueUrl,
      Array.from({ length: 10 }, (_, n) => ({ body: JSON.stringify({ n }) })),
    );
    sqs.failEntry = () => undefined;
    expect(failures).toEqual([{ index: 3, code: 'InternalError', senderFault: false }]);
    expect(sqs.queue('fanout')).toHaveLength(9);
    await expect(
      sendBatchToQueue(
        queueUrl,
        Array.from({ length: 11 }, () => ({ body: '{}' })),
      ),
    ).rejects.toThrow(RangeError);
    const missing = await sendBatchToQueue(`${endpoint.url}/000000000000/nope`, [
      { body: '{}' },
      { body: '{}' },
    ]);
    expect(missing).toEqual([
      { index: 0, code: 'QueueDoesNotExist', senderFault: false },
      { index: 1, code: 'QueueDoesNotExist', senderFault: false },
    ]);
  });
});

describe('aws-secretsmanager: credentials (contract fake of the Secrets Manager JSON protocol)', () => {
  const value = 'AKIA-not-a-real-key-42';

  it('resolves a JSON secret by name, full ARN and partial ARN into a SecretBag', async () => {
    const arn = secrets.put(
      'bsf/s3-creds',
      JSON.stringify({ AWS_ACCESS_KEY_ID: value, AWS_SECRET_ACCESS_KEY: 'shh-secret', PORT: 9000 }),
    );
    for (const reference of [
      'aws-secretsmanager:bsf/s3-creds',
      `aws-secretsmanager:${arn}`,
      `aws-secretsmanager:${arn.slice(0, -7)}`,
    ]) {
      const bag = await resolveCredentials(reference);
      expect(bag.keys()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'PORT']);
      expect(bag.reveal('AWS_ACCESS_KEY_ID')).toBe(value);
      expect(bag.reveal('PORT')).toBe('9000');
      expect(bag.source).toBe(reference);
      expect(JSON.stringify(bag)).not.toContain(value);
    }
  });

  it('caches a resolved secret for the warm function', async () => {
    clearAwsCredentialCache();
    secrets.put('bsf/cached', JSON.stringify({ WEBHOOK_SECRET: 'abcd1234' }));
    const before = secrets.reads;
    const bags = await Promise.all([1, 2, 3].map(() => resolveCredentials('aws-secretsmanager:bsf/cached')));
    await resolveCredentials('aws-secretsmanager:bsf/cached');
    expect(secrets.reads - before).toBe(1);
    expect(bags.every((bag) => bag.reveal('WEBHOOK_SECRET') === 'abcd1234')).toBe(true);
  });

  it('names the reference, never the value, when a secret is missing, not JSON, binary or denied', async () => {
    secrets.put('bsf/plain', `password=${value}`);
    secrets.put('bsf/array', JSON.stringify([value]));
    secrets.put('bsf/binary', Buffer.from(value));
    secrets.put('bsf/denied', JSON.stringify({ A: value }));
    secrets.denied.add('bsf/denied');
    const cases: [string, string, RegExp][] = [
      ['aws-secretsmanager:bsf/missing', 'NotFound', /bsf\/missing does not exist/],
      ['aws-secretsmanager:bsf/plain', 'Malformed', /is not JSON/],
      ['aws-secretsmanager:bsf/array', 'Malformed', /not an object/],
      ['aws-secretsmanager:bsf/binary', 'Malformed', /binary secret/],
      ['aws-secretsmanager:bsf/denied', 'Unavailable', /AccessDenied/],
      ['aws-secretsmanager:', 'InvalidReference', /needs a secret name/],
    ];
    for (const [reference, code, message] of cases) {
      const error = await resolveCredentials(reference).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error).toMatchObject({ code, reference });
      expect((error as Error).message).toMatch(message);
      expect(`${(error as Error).message} ${(error as CredentialsError).hint ?? ''}`).not.toContain(value);
    }
    // A failure is not cached: once the secret exists, the same reference resolves.
    secrets.put('bsf/missing', JSON.stringify({ K: 'v' }));
    expect((await resolveCredentials('aws-secretsmanager:bsf/missing')).reveal('K')).toBe('v');
  });
});

describe('aws-ssm: credentials (contract fake of the SSM JSON protocol)', () => {
  it('resolves a SecureString JSON parameter (decrypted) into a SecretBag', async () => {
    ssm.put(
      '/bsf/azure',
      JSON.stringify({ AZURE_ACCOUNT_NAME: 'devstoreaccount1', AZURE_ACCOUNT_KEY: 'key==' }),
    );
    const bag = await resolveCredentials('aws-ssm:/bsf/azure');
    expect(bag.reveal('AZURE_ACCOUNT_KEY')).toBe('key==');
    const call = endpoint.calls.find((seen) => seen.target === 'AmazonSSM.GetParameter');
    expect(call?.input).toEqual({ Name: '/bsf/azure', WithDecryption: true });
  });

  it('names the reference when the parameter is missing or not JSON', async () => {
    ssm.put('/bsf/not-json', 'just text', 'String');
    await expect(resolveCredentials('aws-ssm:/bsf/none')).rejects.toMatchObject({
      code: 'NotFound',
      reference: 'aws-ssm:/bsf/none',
    });
    await expect(resolveCredentials('aws-ssm:/bsf/not-json')).rejects.toMatchObject({
      code: 'Malformed',
      message: 'aws-ssm:/bsf/not-json is not JSON',
    });
  });
});
