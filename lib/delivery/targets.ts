/**
 * Where statuses go: the request's `notify` section, else the deployment's NOTIFY_* settings, sink by
 * sink (a request naming only a webhook still reaches the deployment's queue).
 */
import { z } from 'zod';

const httpUrl = z
  .string()
  .min(1)
  .max(2048)
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');

export const notifySchema = z.strictObject({
  webhook: z
    .strictObject({
      url: httpUrl,
      /** A credentials reference whose bag holds WEBHOOK_SECRET, e.g. "aws-secretsmanager:bsf/webhook". */
      secret: z
        .string()
        .min(1)
        .max(2048)
        .regex(/^[a-z][a-z0-9-]*(:.*)?$/, 'must be a credentials reference such as "aws-secretsmanager:<id>"')
        .optional(),
    })
    .optional(),
  sqs: z
    .strictObject({
      queueUrl: httpUrl,
    })
    .optional(),
});

export type NotifyTargets = z.output<typeof notifySchema>;

/** The bag key holding the webhook's shared secret. */
export const WEBHOOK_SECRET_KEY = 'WEBHOOK_SECRET';

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

/**
 * NOTIFY_WEBHOOK_ALLOWED_HOSTS (comma-separated) limits the hosts a request may name; the deployment's
 * own URL is always allowed. Unset: any host.
 */
export function requestWebhookAllowed(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const allowed = env.NOTIFY_WEBHOOK_ALLOWED_HOSTS?.split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  if (!allowed || allowed.length === 0) return true;
  try {
    return (
      allowed.includes(new URL(url).host.toLowerCase()) ||
      allowed.includes(new URL(url).hostname.toLowerCase())
    );
  } catch {
    return false;
  }
}

export function chooseTargets(request: NotifyTargets | undefined, deployment: NotifyTargets): NotifyTargets {
  const chosen: NotifyTargets = {};
  const webhook = request?.webhook ?? deployment.webhook;
  const sqs = request?.sqs ?? deployment.sqs;
  if (webhook) chosen.webhook = webhook;
  if (sqs) chosen.sqs = sqs;
  return chosen;
}
