/**
 * After an operation: send its result to every sink, side by side, and say what happened. Delivery
 * never throws and never replaces the result: the caller returns the status either way, with a
 * `delivery` report naming each sink, whether it got the event, and why not.
 *
 * The deployment's own targets get every result (lib/delivery/targets.ts); a request's own targets
 * come in addition, within the deployment's lists, and are reported apart under `requested`. Only the
 * deployment chooses signing secrets: a request's webhook is sent unsigned unless the operator (a
 * direct invoke) names a secret, since the deployment's secret signs what its own receiver trusts and
 * a caller holding signed events could replay them there (docs/delivery.md).
 */
import { randomUUID } from 'node:crypto';
import type { NotifyOn, NotifyTargets } from '../config/notify.js';
import type { RuntimeConfig } from '../config/runtime.js';
import { CredentialsError, resolveCredentials } from '../credentials/resolve.js';
import type { OperationResult } from '../status/result.js';
import type { StorageIdentity } from '../status/identity.js';
import type { Deadline } from '../runtime/deadline.js';
import type { Log } from '../runtime/log.js';
import type { Caller } from '../trust/scope.js';
import { sendToQueue, type QueueMessage, type QueueOrigin, type QueueOutcome } from './sqs.js';
import {
  deploymentTargets,
  requestedQueueProblem,
  requestedTargetRules,
  requestedWebhookProblem,
  WEBHOOK_SECRET_KEY,
} from './targets.js';
import { deliverWebhook, displayUrl, type RetryPolicy, type WebhookOutcome } from './webhook.js';

export interface DeliveryReport {
  eventId: string;
  /** The deployment's webhook (NOTIFY_WEBHOOK_URL): every result goes there. */
  webhook?: WebhookOutcome;
  /** The deployment's queue (NOTIFY_SQS_QUEUE_URL): every result goes there. */
  sqs?: QueueOutcome;
  /** The request's own targets (its `notify` section), sent in addition or refused, with the reason. */
  requested?: { webhook?: WebhookOutcome; sqs?: QueueOutcome };
  /** Targets set to `change` (NOTIFY_ON, notify.on) that this result, no transition, was not sent to. */
  held?: { reason: string; targets: ('deployment' | 'request')[] };
}

export interface DeliveryContext {
  deadline: Deadline;
  log: Log;
  /** The stage (workstation or deployed), the allow-lists of requested targets, NOTIFY_ON. */
  config: Pick<RuntimeConfig, 'workstation' | 'notifySqsAllowedQueues' | 'notifyWebhookAllowedHosts'> &
    Partial<Pick<RuntimeConfig, 'notifyOn'>>;
  /** Who asked; absent: the operator (direct invoke, fleet, CLI). */
  caller?: Caller;
}

export interface DeliveryOptions {
  /** Targets of the deployment; NOTIFY_* from the environment when not given. */
  deployment?: NotifyTargets;
  policy?: Partial<RetryPolicy>;
  /** The event id (a fresh UUID when not given); a retried fleet message keeps its own. */
  eventId?: string;
  /** When the deployment's targets get a result; NOTIFY_ON from the environment when not given. */
  on?: NotifyOn;
}

/**
 * Is this result a phase transition? Results carry `previousPhase` once a results store remembers the
 * storage (lib/results/); a first result, or one from a deployment without a store, counts as one.
 */
export function isTransition(result: OperationResult): boolean {
  return result.previousPhase !== result.status.phase;
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

/** The queue message of one event: the body, and attributes to filter on without parsing it. */
function queueMessage(result: OperationResult, eventId: string, body: string): QueueMessage {
  return {
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
  };
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

/** A webhook outcome for a target that was never tried. */
function notSent(url: string, signed: boolean, error: string): WebhookOutcome {
  return { sink: 'webhook', target: displayUrl(url), delivered: false, signed, attempts: 0, error };
}

interface Send {
  eventId: string;
  eventType: string;
  body: string;
  message: QueueMessage;
  deadline: Deadline;
  policy: Partial<RetryPolicy> | undefined;
}

async function toWebhook(target: NonNullable<NotifyTargets['webhook']>, send: Send): Promise<WebhookOutcome> {
  let secret: string | undefined;
  if (target.secret) {
    const resolved = await webhookSecret(target.secret, send.deadline);
    if (resolved.error) return notSent(target.url, true, resolved.error);
    secret = resolved.secret;
  }
  return deliverWebhook(
    { url: target.url, secret, eventId: send.eventId, eventType: send.eventType, body: send.body },
    { deadline: send.deadline, policy: send.policy },
  );
}

function toQueue(queueUrl: string, send: Send, origin: QueueOrigin): Promise<QueueOutcome> {
  return sendToQueue(queueUrl, send.message, send.deadline.signal(), origin);
}

/** Sends `result` to the deployment's targets and the request's allowed ones; undefined when there are none. */
export async function deliverResult(
  result: OperationResult,
  requested: NotifyTargets | undefined,
  context: DeliveryContext,
  options: DeliveryOptions = {},
): Promise<DeliveryReport | undefined> {
  const allDeployment = options.deployment ?? deploymentTargets();
  const allRequested = requested;
  // `change`: a result that repeats the storage's phase goes nowhere (a broken storage alerts once).
  const steady = !isTransition(result);
  const holdDeployment =
    steady &&
    (options.on ?? context.config.notifyOn ?? 'always') === 'change' &&
    Boolean(allDeployment.webhook || allDeployment.sqs);
  const holdRequested =
    steady && allRequested?.on === 'change' && Boolean(allRequested.webhook || allRequested.sqs);
  const deployment: NotifyTargets = holdDeployment ? {} : allDeployment;
  requested = holdRequested ? undefined : allRequested;
  const eventId = options.eventId ?? randomUUID();
  const held: DeliveryReport['held'] =
    holdDeployment || holdRequested
      ? {
          reason: `no phase transition (still ${result.status.phase}): targets set to notify on change`,
          targets: [
            ...(holdDeployment ? ['deployment' as const] : []),
            ...(holdRequested ? ['request' as const] : []),
          ],
        }
      : undefined;
  if (!deployment.webhook && !deployment.sqs && !requested?.webhook && !requested?.sqs)
    return held ? { eventId, held } : undefined;
  const rules = requestedTargetRules(context.config, context.caller);
  const body = eventBody(result, eventId);
  const send: Send = {
    eventId,
    eventType: `${result.operation}.completed`,
    body,
    message: queueMessage(result, eventId, body),
    deadline: context.deadline.reserve(ANSWER_RESERVE_MS),
    policy: options.policy,
  };

  const ownWebhook = deployment.webhook ? toWebhook(deployment.webhook, send) : undefined;
  const ownQueue = deployment.sqs ? toQueue(deployment.sqs.queueUrl, send, 'deployment') : undefined;

  let theirWebhook: Promise<WebhookOutcome> | undefined;
  const hook = requested?.webhook;
  if (hook) {
    const problem =
      hook.secret !== undefined && !rules.secretsAllowed
        ? 'notify.webhook.secret is taken from the operator only; the deployment chooses signing secrets'
        : requestedWebhookProblem(hook.url, rules);
    if (problem) theirWebhook = Promise.resolve(notSent(hook.url, hook.secret !== undefined, problem));
    else if (ownWebhook && hook.url === deployment.webhook?.url) theirWebhook = ownWebhook;
    else theirWebhook = toWebhook({ url: hook.url, ...(hook.secret ? { secret: hook.secret } : {}) }, send);
  }
  let theirQueue: Promise<QueueOutcome> | undefined;
  const queue = requested?.sqs;
  if (queue) {
    const problem = requestedQueueProblem(queue.queueUrl, deployment.sqs?.queueUrl, rules);
    if (problem)
      theirQueue = Promise.resolve({ sink: 'sqs', target: queue.queueUrl, delivered: false, error: problem });
    else if (ownQueue && queue.queueUrl === deployment.sqs?.queueUrl) theirQueue = ownQueue;
    else theirQueue = toQueue(queue.queueUrl, send, 'request');
  }

  const [webhook, sqs, requestedWebhook, requestedSqs] = await Promise.all([
    ownWebhook,
    ownQueue,
    theirWebhook,
    theirQueue,
  ]);
  const report: DeliveryReport = { eventId };
  if (held) report.held = held;
  if (webhook) report.webhook = webhook;
  if (sqs) report.sqs = sqs;
  if (requestedWebhook || requestedSqs) {
    report.requested = {
      ...(requestedWebhook ? { webhook: requestedWebhook } : {}),
      ...(requestedSqs ? { sqs: requestedSqs } : {}),
    };
  }
  for (const [whose, outcome] of [
    ['deployment', webhook],
    ['deployment', sqs],
    ['request', requestedWebhook],
    ['request', requestedSqs],
  ] as const) {
    if (outcome && !outcome.delivered) {
      context.log.warn('status not delivered', {
        sink: outcome.sink,
        whose,
        target: outcome.target,
        error: outcome.error,
        eventId,
      });
    }
  }
  return report;
}
