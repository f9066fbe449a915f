/**
 * After an operation: send its result to every configured sink, side by side, and say what happened.
 * Delivery never throws and never replaces the result: the caller returns the status either way, with a
 * `delivery` report naming each sink, whether it got the event, and why not.
 */
import { randomUUID } from 'node:crypto';
import { CredentialsError, resolveCredentials } from '../credentials/resolve.js';
import type { OperationResult } from '../operations/result.js';
import type { StorageIdentity } from '../operations/identity.js';
import type { Deadline } from '../runtime/deadline.js';
import type { Log } from '../runtime/log.js';
import { sendToQueue, type QueueOutcome } from './sqs.js';
import {
  chooseTargets,
  deploymentTargets,
  requestWebhookAllowed,
  WEBHOOK_SECRET_KEY,
  type NotifyTargets,
} from './targets.js';
import { deliverWebhook, displayUrl, type RetryPolicy, type WebhookOutcome } from './webhook.js';

export interface DeliveryReport {
  eventId: string;
  webhook?: WebhookOutcome;
  sqs?: QueueOutcome;
}

export interface DeliveryContext {
  deadline: Deadline;
  log: Log;
}

export interface DeliveryOptions {
  /** Targets of the deployment; NOTIFY_* from the environment when not given. */
  deployment?: NotifyTargets;
  policy?: Partial<RetryPolicy>;
  /** The event id (a fresh UUID when not given); a retried fleet message keeps its own. */
  eventId?: string;
}

/** Time kept back from the deadline so the function can still answer after the last attempt. */
const ANSWER_RESERVE_MS = 250;

/** One storage's stable key: its namespace/name, else where its data lives. */
export function storageKey(storage: StorageIdentity): string {
  if (storage.name) return `${storage.namespace ?? 'default'}/${storage.name}`;
  const where = storage.bucket ?? storage.container ?? storage.path ?? storage.endpoint ?? '';
  return `${storage.provider}:${where}/${storage.prefix}`;
}

/** The event every sink receives: the result itself, with the event's id, type and time. */
export function eventBody(result: OperationResult, eventId: string): string {
  return JSON.stringify({
    eventId,
    eventType: `${result.operation}.completed`,
    occurredAt: new Date().toISOString(),
    ...result,
  });
}

async function webhookSecret(
  reference: string,
  deadline: Deadline,
): Promise<{ secret?: string; error?: string }> {
  try {
    const bag = await resolveCredentials(reference, { signal: deadline.signal() });
    const secret = bag.reveal(WEBHOOK_SECRET_KEY);
    if (!secret) return { error: `credentials reference ${reference} has no ${WEBHOOK_SECRET_KEY} key` };
    return { secret };
  } catch (error) {
    if (error instanceof CredentialsError)
      return { error: `webhook secret unavailable: ${error.message} (reference ${error.reference})` };
    return { error: `webhook secret unavailable (reference ${reference})` };
  }
}

async function toWebhook(
  target: NonNullable<NotifyTargets['webhook']>,
  eventId: string,
  eventType: string,
  body: string,
  deadline: Deadline,
  policy: Partial<RetryPolicy> | undefined,
): Promise<WebhookOutcome> {
  let secret: string | undefined;
  if (target.secret) {
    const resolved = await webhookSecret(target.secret, deadline);
    if (resolved.error) {
      return {
        sink: 'webhook',
        target: displayUrl(target.url),
        delivered: false,
        signed: true,
        attempts: 0,
        error: resolved.error,
      };
    }
    secret = resolved.secret;
  }
  return deliverWebhook({ url: target.url, secret, eventId, eventType, body }, { deadline, policy });
}

/** Sends `result` to the chosen sinks; undefined when there are none. */
export async function deliverResult(
  result: OperationResult,
  requested: NotifyTargets | undefined,
  context: DeliveryContext,
  options: DeliveryOptions = {},
): Promise<DeliveryReport | undefined> {
  const deployment = options.deployment ?? deploymentTargets();
  const targets = chooseTargets(requested, deployment);
  if (!targets.webhook && !targets.sqs) return undefined;
  const eventId = options.eventId ?? randomUUID();
  const body = eventBody(result, eventId);
  const deadline = context.deadline.reserve(ANSWER_RESERVE_MS);
  const report: DeliveryReport = { eventId };

  const webhook = targets.webhook;
  const fromRequest =
    webhook !== undefined && webhook === requested?.webhook && webhook.url !== deployment.webhook?.url;
  const [webhookOutcome, queueOutcome] = await Promise.all([
    webhook
      ? fromRequest && !requestWebhookAllowed(webhook.url)
        ? Promise.resolve<WebhookOutcome>({
            sink: 'webhook',
            target: displayUrl(webhook.url),
            delivered: false,
            signed: webhook.secret !== undefined,
            attempts: 0,
            error: 'webhook host is not in NOTIFY_WEBHOOK_ALLOWED_HOSTS',
          })
        : toWebhook(webhook, eventId, `${result.operation}.completed`, body, deadline, options.policy)
      : undefined,
    targets.sqs
      ? sendToQueue(
          targets.sqs.queueUrl,
          {
            body,
            attributes: {
              eventId,
              operation: result.operation,
              provider: result.storage.provider,
              phase: result.status.phase,
              storage: storageKey(result.storage),
              kind: result.storage.kind,
            },
            groupKey: storageKey(result.storage),
            deduplicationId: eventId,
          },
          deadline.signal(),
        )
      : undefined,
  ]);
  if (webhookOutcome) report.webhook = webhookOutcome;
  if (queueOutcome) report.sqs = queueOutcome;
  for (const outcome of [webhookOutcome, queueOutcome]) {
    if (outcome && !outcome.delivered) {
      context.log.warn('status not delivered', {
        sink: outcome.sink,
        target: outcome.target,
        error: outcome.error,
        eventId,
      });
    }
  }
  return report;
}
