/**
 * Where statuses go. The deployment's own targets (NOTIFY_WEBHOOK_URL, NOTIFY_SQS_QUEUE_URL) receive
 * every result, whatever a request says: they are the audit trail, and no caller can keep an operation
 * out of it. A request's `notify` section adds its own targets, within what the deployment allows:
 * a webhook host in NOTIFY_WEBHOOK_ALLOWED_HOSTS, a queue that is the deployment's own or matches
 * NOTIFY_SQS_ALLOWED_QUEUES. An unset list lets the operator (direct invokes) and the workstation name
 * any target, and HTTP callers on a deployed stage none.
 */
import type { NotifyTargets } from '../config/notify.js';
import type { RuntimeConfig } from '../config/runtime.js';
import { hostMatches, urlPort } from '../net/endpoint-guard.js';
import { matchesPattern } from '../trust/patterns.js';
import type { Caller } from '../trust/scope.js';

/** The bag key holding the webhook's shared secret. */
export const WEBHOOK_SECRET_KEY = 'WEBHOOK_SECRET';

export const WEBHOOK_HOSTS_SETTING = 'NOTIFY_WEBHOOK_ALLOWED_HOSTS';
export const QUEUES_SETTING = 'NOTIFY_SQS_ALLOWED_QUEUES';

/** The deployment's own targets: NOTIFY_WEBHOOK_URL, NOTIFY_WEBHOOK_SECRET_REF, NOTIFY_SQS_QUEUE_URL. */
export function deploymentTargets(env: NodeJS.ProcessEnv = process.env): NotifyTargets {
  const targets: NotifyTargets = {};
  if (env.NOTIFY_WEBHOOK_URL) {
    targets.webhook = {
      url: env.NOTIFY_WEBHOOK_URL,
      ...(env.NOTIFY_WEBHOOK_SECRET_REF ? { secret: env.NOTIFY_WEBHOOK_SECRET_REF } : {}),
    };
  }
  if (env.NOTIFY_SQS_QUEUE_URL) targets.sqs = { queueUrl: env.NOTIFY_SQS_QUEUE_URL };
  return targets;
}

/** What a request's own targets may be, for one caller of one deployment. */
export interface RequestedTargetRules {
  /** No list set: any target (the operator, the workstation) or none (HTTP callers on a deployed stage). */
  openByDefault: boolean;
  /** NOTIFY_WEBHOOK_ALLOWED_HOSTS: host patterns, optionally with a port. */
  webhookAllowedHosts?: readonly string[];
  /** NOTIFY_SQS_ALLOWED_QUEUES: queue URL patterns (`https://sqs.*.amazonaws.com/123456789012/bsf-*`). */
  sqsAllowedQueues?: readonly string[];
  /** Only the operator may name a signing secret; for everyone else the deployment chooses (none). */
  secretsAllowed: boolean;
}

/** The rules for `caller` (absent: the operator) under the deployment's `config`. */
export function requestedTargetRules(
  config: Pick<RuntimeConfig, 'workstation' | 'notifySqsAllowedQueues' | 'notifyWebhookAllowedHosts'>,
  caller: Caller | undefined,
): RequestedTargetRules {
  const operator = caller === undefined || caller.kind === 'operator';
  const webhookAllowedHosts = config.notifyWebhookAllowedHosts;
  return {
    openByDefault: operator || config.workstation,
    ...(webhookAllowedHosts ? { webhookAllowedHosts } : {}),
    ...(config.notifySqsAllowedQueues ? { sqsAllowedQueues: config.notifySqsAllowedQueues } : {}),
    secretsAllowed: operator,
  };
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Why a request's webhook may not be used, or undefined when it may. */
export function requestedWebhookProblem(url: string, rules: RequestedTargetRules): string | undefined {
  const parsed = parseUrl(url);
  if (!parsed) return 'the webhook URL is not a URL';
  if (rules.webhookAllowedHosts) {
    return hostMatches(rules.webhookAllowedHosts, parsed.hostname, urlPort(parsed))
      ? undefined
      : `webhook host ${parsed.host} is not in ${WEBHOOK_HOSTS_SETTING}`;
  }
  return rules.openByDefault
    ? undefined
    : `this deployment takes no webhook from requests (${WEBHOOK_HOSTS_SETTING} is not set); the deployment's own targets got the status`;
}

/**
 * Does `url` match a queue URL pattern? Scheme and path compare as text (`*` any run), the host as a
 * host pattern, so a `*` in the host can never reach into the path (`https://sqs.*.amazonaws.com/…`
 * does not match `https://sqs.evil.example/x.amazonaws.com/…`).
 */
export function queueMatches(pattern: string, url: URL): boolean {
  const parts = /^(https?):\/\/([^/]+)(\/.*)?$/i.exec(pattern.trim());
  if (!parts) return false;
  const [, scheme = '', host = '', path = '/'] = parts;
  return (
    `${scheme.toLowerCase()}:` === url.protocol &&
    hostMatches([host], url.hostname, urlPort(url)) &&
    matchesPattern(path, url.pathname)
  );
}

/** Why a request's queue may not be used, or undefined when it may (the deployment's own queue always may). */
export function requestedQueueProblem(
  queueUrl: string,
  deploymentQueue: string | undefined,
  rules: RequestedTargetRules,
): string | undefined {
  if (queueUrl === deploymentQueue) return undefined;
  const parsed = parseUrl(queueUrl);
  if (!parsed) return 'the queue URL is not a URL';
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    return 'the queue URL must not carry credentials, a query or a fragment';
  if (rules.sqsAllowedQueues) {
    return rules.sqsAllowedQueues.some((pattern) => queueMatches(pattern, parsed))
      ? undefined
      : `queue ${parsed.origin}${parsed.pathname} is neither the deployment's queue nor in ${QUEUES_SETTING}`;
  }
  return rules.openByDefault
    ? undefined
    : `this deployment takes no queue from requests (${QUEUES_SETTING} is not set); the deployment's own targets got the status`;
}
