/**
 * Posts one event to a webhook, signed (lib/delivery/signing.ts), and retries what is worth retrying:
 * network errors, attempt timeouts, 429 and 5xx, with exponential backoff and full jitter, honouring
 * Retry-After, and never past the deadline it is given. Other 4xx are final (the receiver said no).
 * Redirects are followed only to the same origin and only when they keep the method (307/308), so a
 * signed status never lands on a host the deployment did not name.
 */
import packageJson from '../../package.json' with { type: 'json' };
import type { Deadline } from '../runtime/deadline.js';
import { sleep } from '../runtime/deadline.js';
import { backoffDelay, parseRetryAfter } from '../runtime/retry.js';
import { signatureHeader } from './signing.js';
import { endpointRefusalOf } from '../net/endpoint-guard.js';
import { guardedDispatcher } from '../net/guarded-fetch.js';

export const USER_AGENT = `backupstorage-functions/${packageJson.version}`;

export interface RetryPolicy {
  /** First backoff ceiling; doubles every attempt up to maxDelayMs (full jitter below the ceiling). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts, first included; the deadline usually ends retries first. */
  maxAttempts: number;
  /** One attempt's own timeout (a receiver that hangs is retried). */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxAttempts: 20,
  attemptTimeoutMs: 5000,
};

export interface WebhookEvent {
  url: string;
  /** The shared secret, revealed only here; unsigned when absent. */
  secret?: string;
  eventId: string;
  eventType: string;
  body: string;
}

export interface WebhookOutcome {
  sink: 'webhook';
  /** The URL without userinfo, query or fragment. */
  target: string;
  delivered: boolean;
  signed: boolean;
  attempts: number;
  /** The last HTTP status received, if any. */
  httpStatus?: number;
  error?: string;
}

export interface WebhookOptions {
  deadline: Deadline;
  policy?: Partial<RetryPolicy>;
  /** [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

const MAX_REDIRECTS = 3;

/** The URL as it may be shown: no credentials, query or fragment. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

/** Why a webhook URL is unusable, or undefined when it is fine. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http(s) URL';
  if (parsed.username || parsed.password) return 'must not carry credentials; sign with "secret" instead';
  return undefined;
}

type AttemptResult =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number }
  | { kind: 'final'; status?: number; error: string };

function classifyStatus(response: Response): AttemptResult {
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 429 || status >= 500) {
    return {
      kind: 'retry',
      status,
      error: `receiver answered ${status}`,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after') ?? undefined),
    };
  }
  return { kind: 'final', status, error: `receiver refused the event (${status})` };
}

function networkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return code ? `network error (${code})` : 'network error';
}

async function attemptOnce(
  event: WebhookEvent,
  url: string,
  signal: AbortSignal,
): Promise<AttemptResult & { location?: string }> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'x-bsf-event-id': event.eventId,
    'x-bsf-event-type': event.eventType,
    'x-bsf-timestamp': String(timestamp),
  };
  if (event.secret !== undefined)
    headers['x-bsf-signature'] = signatureHeader(event.secret, timestamp, event.body);
  const dispatcher = await guardedDispatcher();
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: event.body,
    redirect: 'manual',
    signal,
    // Connects only where the endpoint guard allows, on every attempt and redirect hop.
    dispatcher,
  });
  // The body is never read: drain it so the connection can be reused.
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 300 && response.status < 400) {
    return {
      kind: 'final',
      status: response.status,
      error: `redirect (${response.status})`,
      location: response.headers.get('location') ?? undefined,
    };
  }
  return classifyStatus(response);
}

/** Where a redirect may be followed to, or why not. */
function redirectTarget(
  from: string,
  status: number,
  location: string | undefined,
): { url?: string; error?: string } {
  if (!location) return { error: `redirect (${status}) without a Location` };
  const target = new URL(location, from);
  if (target.origin !== new URL(from).origin)
    return { error: `redirect (${status}) to another host not followed (${target.host})` };
  if (status !== 307 && status !== 308)
    return { error: `redirect (${status}) would change the method; configure the final URL` };
  return { url: target.href };
}

/** Delivers one event, or says why not. Never throws. */
export async function deliverWebhook(event: WebhookEvent, options: WebhookOptions): Promise<WebhookOutcome> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const random = options.random ?? Math.random;
  const outcome: WebhookOutcome = {
    sink: 'webhook',
    target: displayUrl(event.url),
    delivered: false,
    signed: event.secret !== undefined,
    attempts: 0,
  };
  const problem = webhookUrlProblem(event.url);
  if (problem) return { ...outcome, error: `webhook URL ${problem}` };

  let url = event.url;
  let redirects = 0;
  while (outcome.attempts < policy.maxAttempts) {
    if (options.deadline.expired()) {
      outcome.error = `${outcome.error ? `${outcome.error}; ` : ''}no time left for another attempt`;
      return outcome;
    }
    outcome.attempts += 1;
    const attemptSignal = options.deadline.within(policy.attemptTimeoutMs).signal();
    let result: AttemptResult & { location?: string };
    try {
      result = await attemptOnce(event, url, attemptSignal);
    } catch (error) {
      const timedOut = attemptSignal.aborted;
      const refusal = endpointRefusalOf(error);
      result = {
        kind: refusal ? 'final' : 'retry',
        error: refusal
          ? `the webhook URL is not allowed: ${refusal.reason} (${refusal.hint})`
          : timedOut
            ? 'the receiver did not answer in time'
            : networkError(error),
      };
    }
    if (result.status !== undefined) outcome.httpStatus = result.status;
    if (result.kind === 'delivered') {
      delete outcome.error;
      outcome.delivered = true;
      return outcome;
    }
    if (
      result.location !== undefined ||
      (result.status !== undefined && result.status >= 300 && result.status < 400)
    ) {
      const next = redirectTarget(url, result.status ?? 0, result.location);
      if (next.error || redirects >= MAX_REDIRECTS) {
        outcome.error = next.error ?? 'too many redirects';
        return outcome;
      }
      redirects += 1;
      url = next.url as string;
      continue;
    }
    outcome.error = result.error;
    if (result.kind === 'final') return outcome;
    const jittered = backoffDelay(outcome.attempts - 1, policy.baseDelayMs, policy.maxDelayMs, random);
    const wait = result.retryAfterMs !== undefined ? Math.max(result.retryAfterMs, jittered) : jittered;
    if (wait >= options.deadline.remainingMs()) {
      outcome.error = `${result.error}; the next attempt (in ${wait} ms) would be past the deadline`;
      return outcome;
    }
    try {
      await sleep(wait, options.deadline.signal());
    } catch {
      return outcome;
    }
  }
  outcome.error = `${outcome.error ?? 'not delivered'}; gave up after ${outcome.attempts} attempts`;
  return outcome;
}
