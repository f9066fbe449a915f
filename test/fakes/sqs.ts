/**
 * Contract fake of Amazon SQS over its JSON protocol (awsJson1_0, awsQueryCompatible), following the API
 * reference: CreateQueue, GetQueueUrl, SendMessage, SendMessageBatch (at most 10 distinct entry ids),
 * ReceiveMessage with a visibility timeout, DeleteMessage, GetQueueAttributes. Bodies carry
 * MD5OfMessageBody (the SDK checks it) and MD5OfMessageAttributes (the documented encoding). FIFO
 * queues need a MessageGroupId and drop a repeated MessageDeduplicationId within five minutes.
 * `failEntry` injects per-entry batch failures.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsFault, requireString, type AwsJsonService } from './aws-json.js';

interface AttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export interface FakeMessage {
  MessageId: string;
  Body: string;
  MessageAttributes: Record<string, AttributeValue>;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
  receiveCount: number;
  invisibleUntil: number;
  receiptHandle?: string;
}

interface Queue {
  name: string;
  url: string;
  fifo: boolean;
  messages: FakeMessage[];
  dedup: Map<string, number>;
}

const NON_EXISTENT = 'AWS.SimpleQueueService.NonExistentQueue;Sender';
const DEDUP_WINDOW_MS = 5 * 60 * 1000;

export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** SQS's documented MD5 over message attributes: sorted by name, length-prefixed fields, transport byte. */
export function md5OfAttributes(attributes: Record<string, AttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const field = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const value = attributes[name] as AttributeValue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      field(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      field(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

export class SqsFake implements AwsJsonService {
  readonly targetPrefix = 'AmazonSQS';
  readonly contentType = 'application/x-amz-json-1.0';
  readonly errorNamespace = 'com.amazonaws.sqs';
  readonly #queues = new Map<string, Queue>();
  /** Entries (by queue and body) for which SendMessageBatch reports a failure instead of accepting. */
  failEntry: (queue: string, body: string) => { code: string; senderFault: boolean } | undefined = () =>
    undefined;

  queue(name: string): FakeMessage[] {
    const queue = this.#queues.get(name);
    if (!queue) throw new Error(`no queue ${name}`);
    return queue.messages;
  }

  #byUrl(input: Record<string, unknown>): Queue {
    const url = requireString(input, 'QueueUrl', 'AWS.SimpleQueueService.MissingParameter;Sender');
    const name = url.split('/').pop() ?? '';
    const queue = this.#queues.get(name);
    if (!queue)
      throw new AwsFault('QueueDoesNotExist', 'The specified queue does not exist.', 400, NON_EXISTENT);
    return queue;
  }

  #accept(
    queue: Queue,
    entry: Record<string, unknown>,
  ): {
    MessageId: string;
    MD5OfMessageBody: string;
    MD5OfMessageAttributes?: string;
    SequenceNumber?: string;
  } {
    const body = entry.MessageBody;
    if (typeof body !== 'string' || body === '') {
      throw new AwsFault(
        'MissingParameter',
        'The request must contain the parameter MessageBody.',
        400,
        'AWS.SimpleQueueService.MissingParameter;Sender',
      );
    }
    if (Buffer.byteLength(body) > 256 * 1024)
      throw new AwsFault('InvalidParameterValue', 'Message must be shorter than 262144 bytes.');
    const attributes = (entry.MessageAttributes ?? {}) as Record<string, AttributeValue>;
    if (Object.keys(attributes).length > 10)
      throw new AwsFault('InvalidParameterValue', 'Number of message attributes exceeds 10.');
    for (const [name, value] of Object.entries(attributes)) {
      if (!/^(String|Number|Binary)(\..+)?$/.test(value.DataType ?? '')) {
        throw new AwsFault(
          'InvalidParameterValue',
          `The message attribute '${name}' has an invalid message attribute type.`,
        );
      }
      if (value.StringValue === '' && value.BinaryValue === undefined) {
        throw new AwsFault(
          'InvalidParameterValue',
          `The message attribute '${name}' must contain a non-empty value.`,
        );
      }
    }
    const groupId = entry.MessageGroupId as string | undefined;
    const dedupId = entry.MessageDeduplicationId as string | undefined;
    if (queue.fifo) {
      if (!groupId)
        throw new AwsFault(
          'MissingParameter',
          'The request must contain the parameter MessageGroupId.',
          400,
          'AWS.SimpleQueueService.MissingParameter;Sender',
        );
      if (!dedupId) {
        throw new AwsFault(
          'InvalidParameterValue',
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
      if (groupId.length > 128 || !/^[\x21-\x7e]+$/.test(groupId))
        throw new AwsFault('InvalidParameterValue', 'MessageGroupId is invalid');
    } else if (groupId !== undefined && dedupId !== undefined) {
      throw new AwsFault(
        'InvalidParameterValue',
        'The request include parameter that is not valid for this queue type',
      );
    }
    const md5Attributes = md5OfAttributes(attributes);
    const messageId = randomUUID();
    const reply = {
      MessageId: messageId,
      MD5OfMessageBody: md5Hex(body),
      ...(md5Attributes ? { MD5OfMessageAttributes: md5Attributes } : {}),
    };
    const now = Date.now();
    if (queue.fifo && dedupId) {
      const seen = queue.dedup.get(dedupId);
      if (seen !== undefined && now - seen < DEDUP_WINDOW_MS) return reply;
      queue.dedup.set(dedupId, now);
    }
    queue.messages.push({
      MessageId: messageId,
      Body: body,
      MessageAttributes: attributes,
      ...(groupId ? { MessageGroupId: groupId } : {}),
      ...(dedupId ? { MessageDeduplicationId: dedupId } : {}),
      receiveCount: 0,
      invisibleUntil: 0,
    });
    return queue.fifo ? { ...reply, SequenceNumber: String(queue.messages.length).padStart(20, '0') } : reply;
  }

  handle(operation: string, input: Record<string, unknown>, endpoint: string): unknown {
    switch (operation) {
      case 'CreateQueue': {
        const name = requireString(input, 'QueueName', 'AWS.SimpleQueueService.MissingParameter;Sender');
        const attributes = (input.Attributes ?? {}) as Record<string, string>;
        const fifo = attributes.FifoQueue === 'true';
        if (fifo !== name.endsWith('.fifo'))
          throw new AwsFault(
            'InvalidParameterValue',
            'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix',
          );
        if (!this.#queues.has(name)) {
          this.#queues.set(name, {
            name,
            url: `${endpoint}/000000000000/${name}`,
            fifo,
            messages: [],
            dedup: new Map(),
          });
        }
        return { QueueUrl: this.#queues.get(name)?.url };
      }
      case 'GetQueueUrl': {
        const queue = this.#queues.get(
          requireString(input, 'QueueName', 'AWS.SimpleQueueService.MissingParameter;Sender'),
        );
        if (!queue)
          throw new AwsFault('QueueDoesNotExist', 'The specified queue does not exist.', 400, NON_EXISTENT);
        return { QueueUrl: queue.url };
      }
      case 'SendMessage':
        return this.#accept(this.#byUrl(input), input);
      case 'SendMessageBatch': {
        const queue = this.#byUrl(input);
        const entries = (input.Entries ?? []) as Record<string, unknown>[];
        if (entries.length === 0)
          throw new AwsFault(
            'EmptyBatchRequest',
            'There should be at least one SendMessageBatchRequestEntry in the request.',
            400,
            'AWS.SimpleQueueService.EmptyBatchRequest;Sender',
          );
        if (entries.length > 10)
          throw new AwsFault(
            'TooManyEntriesInBatchRequest',
            `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
            400,
            'AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender',
          );
        const ids = entries.map((entry) => entry.Id);
        if (new Set(ids).size !== ids.length)
          throw new AwsFault(
            'BatchEntryIdsNotDistinct',
            'Two or more batch entries in the request have the same Id.',
            400,
            'AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender',
          );
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const entry of entries) {
          const injected = this.failEntry(queue.name, String(entry.MessageBody ?? ''));
          if (injected) {
            Failed.push({
              Id: entry.Id,
              Code: injected.code,
              Message: 'injected failure',
              SenderFault: injected.senderFault,
            });
            continue;
          }
          try {
            Successful.push({ Id: entry.Id, ...this.#accept(queue, entry) });
          } catch (error) {
            if (!(error instanceof AwsFault)) throw error;
            Failed.push({ Id: entry.Id, Code: error.code, Message: error.message, SenderFault: true });
          }
        }
        return { Successful, Failed };
      }
      case 'ReceiveMessage': {
        const queue = this.#byUrl(input);
        const max = Number(input.MaxNumberOfMessages ?? 1);
        if (!Number.isInteger(max) || max < 1 || max > 10)
          throw new AwsFault(
            'InvalidParameterValue',
            'Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.',
          );
        const visibility = Number(input.VisibilityTimeout ?? 30) * 1000;
        const now = Date.now();
        const batch = queue.messages.filter((message) => message.invisibleUntil <= now).slice(0, max);
        return {
          Messages: batch.map((message) => {
            message.receiveCount += 1;
            message.invisibleUntil = now + visibility;
            message.receiptHandle = `${message.MessageId}#${randomUUID()}`;
            const md5Attributes = md5OfAttributes(message.MessageAttributes);
            return {
              MessageId: message.MessageId,
              ReceiptHandle: message.receiptHandle,
              MD5OfBody: md5Hex(message.Body),
              Body: message.Body,
              Attributes: {
                ApproximateReceiveCount: String(message.receiveCount),
                SentTimestamp: String(now),
                ...(message.MessageGroupId ? { MessageGroupId: message.MessageGroupId } : {}),
              },
              ...(Object.keys(message.MessageAttributes).length > 0
                ? { MessageAttributes: message.MessageAttributes, MD5OfMessageAttributes: md5Attributes }
                : {}),
            };
          }),
        };
      }
      case 'DeleteMessage': {
        const queue = this.#byUrl(input);
        const handle = requireString(
          input,
          'ReceiptHandle',
          'AWS.SimpleQueueService.MissingParameter;Sender',
        );
        const index = queue.messages.findIndex((message) => message.receiptHandle === handle);
        if (index < 0)
          throw new AwsFault(
            'ReceiptHandleIsInvalid',
            'The input receipt handle is invalid.',
            400,
            'ReceiptHandleIsInvalid;Sender',
          );
        queue.messages.splice(index, 1);
        return {};
      }
      case 'GetQueueAttributes': {
        const queue = this.#byUrl(input);
        return {
          Attributes: {
            ApproximateNumberOfMessages: String(queue.messages.length),
            FifoQueue: String(queue.fifo),
          },
        };
      }
      default:
        throw new AwsFault(
          'UnknownOperationException',
          `operation ${operation} is not implemented by this fake`,
        );
    }
  }
}
