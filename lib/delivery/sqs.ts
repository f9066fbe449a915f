/**
 * SQS: one status per message (SendMessage) or up to ten per call (SendMessageBatch, the fleet fan-out).
 * The SDK is imported on first use, so functions that never queue do not pay for it. Its endpoint is the
 * queue URL's host (the SDK's default), or AWS_ENDPOINT_URL_SQS. FIFO queues (`.fifo`) get a message
 * group per storage, so one storage's statuses stay in order, and an explicit deduplication id.
 *
 * A queue a request named (lib/delivery/targets.ts decides which it may name) is sent to by a client
 * whose agents pass the endpoint guard: the SDK signs with the function's own role and sends its
 * session token to the queue URL's host, so no spelling of loopback, unspecified or metadata addresses
 * may be that host unless the deployment allows the class. The deployment's own queue goes through the
 * deployment's agents (lib/net/deployment-agents.ts), outside the endpoint rules: an SQS interface
 * endpoint in the VPC resolves to private addresses.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { deploymentRequestHandler } from '../net/deployment-agents.js';
import { endpointRefusalOf, guardAgent } from '../net/endpoint-guard.js';
import { functionRegion } from '../runtime/aws-region.js';
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';

/** Whose queue: the deployment's own (NOTIFY_SQS_QUEUE_URL, the fleet's) or one a request named. */
export type QueueOrigin = 'deployment' | 'request';

export interface QueueOutcome {
  sink: 'sqs';
  /** The queue's URL (it holds no secret). */
  target: string;
  delivered: boolean;
  messageId?: string;
  error?: string;
}

export interface QueueMessage {
  body: string;
  /** String attributes (provider, phase, storage …); empty values are left out. */
  attributes?: Record<string, string | undefined>;
  /** FIFO only: the message group (one per storage). */
  groupKey?: string;
  /** FIFO only: the deduplication id (the event id). */
  deduplicationId?: string;
}

export interface BatchEntryFailure {
  index: number;
  code: string;
  /** SQS says the sender is at fault: sending the same entry again will fail again. */
  senderFault: boolean;
}

/** SendMessageBatch's limit. */
export const SQS_BATCH_LIMIT = 10;

const clients = new Map<string, Promise<SQSClient>>();

export function isFifoQueue(queueUrl: string): boolean {
  return queueUrl.endsWith('.fifo');
}

/** `https://sqs.<region>.amazonaws.com/...` names its region; anything else uses the function's. */
export function queueRegion(queueUrl: string): string {
  const match = /^https?:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//.exec(queueUrl);
  return match?.[1] ?? functionRegion();
}

function sqsClient(region: string, origin: QueueOrigin): Promise<SQSClient> {
  const key = `${origin}:${region}`;
  let client = clients.get(key);
  if (!client) {
    client = import('@aws-sdk/client-sqs').then(
      ({ SQSClient: Client }) =>
        new Client({
          region,
          requestHandler:
            origin === 'request'
              ? {
                  httpAgent: guardAgent(new HttpAgent({ keepAlive: true }), 'address'),
                  httpsAgent: guardAgent(new HttpsAgent({ keepAlive: true }), 'address'),
                }
              : deploymentRequestHandler(),
        }),
    );
    clients.set(key, client);
  }
  return client;
}

/** Message group ids allow letters, digits and ASCII punctuation, up to 128 characters. */
export function messageGroupId(key: string): string {
  const cleaned = key.replace(/[^\x21-\x7e]/g, '_');
  return cleaned.length > 128 ? cleaned.slice(0, 128) : cleaned || 'default';
}

function messageAttributes(
  attributes: Record<string, string | undefined> = {},
): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes)
      .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
      .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

function fifoFields(
  queueUrl: string,
  message: QueueMessage,
): { MessageGroupId?: string; MessageDeduplicationId?: string } {
  if (!isFifoQueue(queueUrl)) return {};
  return {
    MessageGroupId: messageGroupId(message.groupKey ?? 'default'),
    ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId.slice(0, 128) } : {}),
  };
}

/** The SDK error's name only: SQS messages can quote the request, names cannot. */
export function awsErrorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^[A-Za-z0-9.]{1,80}$/.test(name) ? name : 'Error';
}

/** Why a send failed, for the delivery report: the guard's reason, else the SDK error's name. */
function sendFailure(error: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return 'the queue did not answer before the deadline';
  const refusal = endpointRefusalOf(error);
  if (refusal) return `the queue URL is not allowed: ${refusal.reason} (${refusal.hint})`;
  return `SQS refused the message (${awsErrorName(error)})`;
}

export async function sendToQueue(
  queueUrl: string,
  message: QueueMessage,
  signal?: AbortSignal,
  origin: QueueOrigin = 'deployment',
): Promise<QueueOutcome> {
  const outcome: QueueOutcome = { sink: 'sqs', target: queueUrl, delivered: false };
  try {
    const [{ SendMessageCommand }, client] = await Promise.all([
      import('@aws-sdk/client-sqs'),
      sqsClient(queueRegion(queueUrl), origin),
    ]);
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: message.body,
        MessageAttributes: messageAttributes(message.attributes),
        ...fifoFields(queueUrl, message),
      }),
      { abortSignal: signal },
    );
    outcome.delivered = true;
    if (sent.MessageId) outcome.messageId = sent.MessageId;
  } catch (error) {
    outcome.error = sendFailure(error, signal);
  }
  return outcome;
}

/**
 * Sends up to SQS_BATCH_LIMIT messages in one call. Entries SQS rejects come back as failures; a failed
 * call fails every entry with the error's name.
 */
export async function sendBatchToQueue(
  queueUrl: string,
  messages: readonly QueueMessage[],
  signal?: AbortSignal,
): Promise<BatchEntryFailure[]> {
  if (messages.length === 0) return [];
  if (messages.length > SQS_BATCH_LIMIT)
    throw new RangeError(`at most ${SQS_BATCH_LIMIT} messages per batch`);
  try {
    const [{ SendMessageBatchCommand }, client] = await Promise.all([
      import('@aws-sdk/client-sqs'),
      sqsClient(queueRegion(queueUrl), 'deployment'),
    ]);
    const result = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({
          Id: String(index),
          MessageBody: message.body,
          MessageAttributes: messageAttributes(message.attributes),
          ...fifoFields(queueUrl, message),
        })),
      }),
      { abortSignal: signal },
    );
    return (result.Failed ?? []).map((failure) => ({
      index: Number(failure.Id),
      code: failure.Code ?? 'Error',
      senderFault: failure.SenderFault === true,
    }));
  } catch (error) {
    const code = signal?.aborted ? 'Timeout' : awsErrorName(error);
    return messages.map((_, index) => ({ index, code, senderFault: false }));
  }
}
