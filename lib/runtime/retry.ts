/**
 * The one backoff of the code base. Storage calls without an SDK retry layer (Swift, REST, B2's calls
 * through `backblaze-b2` with axios-retry switched off) go through it, and so do webhook deliveries,
 * inventory walks, restic's lock waits and S3's answer to a conflicting bucket operation. The S3, Azure
 * and GCS SDKs retry their own requests; a passing reset or 503 ends the same way everywhere.
 *
 * - A call runs at most `attempts` times (default 3). What is worth another attempt: a thrown
 *   StorageError with `retryable`, or a result `retryResult` names (an HTTP 429/5xx answer an adapter
 *   turns into its error after the last attempt).
 * - Between attempts: exponential backoff with full jitter, a random wait in
 *   [0, min(maxDelayMs, baseDelayMs · 2^n)). A Retry-After (429/503) is waited for instead when it is
 *   longer; one longer than `maxRetryAfterMs` is not waited for, the failure is reported at once.
 * - Never past the deadline: no attempt starts once the signal aborted, a wait ends when it aborts, and
 *   a wait that would end after `deadline` (when the caller knows it) is not started. The last failure
 *   (an Unavailable, not a Timeout of the wait) is what the caller gets.
 * - Nested calls do not multiply: a failure an inner `retrying` gave up on is not retried by an outer
 *   one (a login retried inside a data request that is itself retried).
 * - Idempotency is the caller's decision, per operation: `idempotent: false` retries only failures
 *   that prove the request was not processed (connection refused, 429). Reads, deletes, overwriting
 *   PUTs, PUTs with `If-None-Match: *` and uniquely named claim PUTs are idempotent; creating a bucket
 *   whose retry would answer "already exists" is not.
 */
import { sleep } from './deadline.js';

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BASE_DELAY_MS = 100;
export const DEFAULT_MAX_DELAY_MS = 2_000;
/** A server asking for a longer pause than this is reported, not waited for (functions run for seconds). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 5_000;

/** A result that is a passing failure: its Retry-After in ms if any, and whether it proves the request was not acted on. */
export type RetryVerdict = { retryAfterMs?: number; notProcessed?: boolean } | undefined;

export interface RetryOptions<T> {
  /** The call's deadline signal; waits end with it and no attempt starts after it aborted. */
  signal?: AbortSignal;
  /** Epoch ms the whole call must end by, when the caller knows it (a wait that would pass it is skipped). */
  deadline?: number;
  /** False: retry only failures that prove the request was not processed. */
  idempotent: boolean;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
  /**
   * A result that is a retryable failure (e.g. a 503 response): its Retry-After in ms if any, and
   * whether the answer proves the request was not acted on (429), which matters when not idempotent.
   */
  retryResult?: (result: T) => RetryVerdict;
  /** Retry-After carried by a thrown failure (e.g. an SDK error holding the response headers). */
  retryAfterOf?: (error: unknown) => number | undefined;
  /** Overrides the default (retryable StorageErrors) where it answers; attempt is 0-based. */
  retryError?: (error: unknown, attempt: number) => boolean | undefined;
  /** Called before each wait (tests, logs). */
  onRetry?: (attempt: number, delayMs: number) => void;
  random?: () => number;
}

/** The wait before attempt `attempt + 1`: uniform in [0, min(max, base · 2^attempt)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/** A Retry-After header value (delta seconds or an HTTP date) in ms from now; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * The portable error shape (lib/backends/errors.ts's StorageError: `code`, `retryable`), read by its
 * fields so that this module, which the delivery and restic layers use too, sits below the backends.
 */
function portableCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** The default verdict: a failure that says it is worth another attempt (a retryable StorageError). */
export function isRetryableFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/** True when a failure shows the request never reached a server that could have acted on it. */
export function provesNotProcessed(error: unknown): boolean {
  if (portableCode(error) === 'RateLimited') return true;
  for (let cause: unknown = error, depth = 0; cause && depth < 5; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** Failures some `retrying` already gave up on. */
const exhausted = new WeakSet<object>();

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `call` until it succeeds, fails for good, runs out of attempts or would pass the deadline. */
export async function retrying<T>(
  call: (attempt: number) => Promise<T>,
  options: RetryOptions<T>,
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS);
  const { signal } = options;
  for (let attempt = 0; ; attempt += 1) {
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await call(attempt) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const settle = (): T => {
      if (outcome.ok) return outcome.value;
      if (typeof outcome.error === 'object' && outcome.error !== null) exhausted.add(outcome.error);
      throw outcome.error;
    };
    let retryAfterMs: number | undefined;
    if (outcome.ok) {
      const verdict = options.retryResult?.(outcome.value);
      if (!verdict) return outcome.value;
      if (!options.idempotent && !verdict.notProcessed) return outcome.value;
      retryAfterMs = verdict.retryAfterMs;
    } else {
      const { error } = outcome;
      if (typeof error === 'object' && error !== null && exhausted.has(error)) throw error;
      const retryable = options.retryError?.(error, attempt) ?? isRetryableFailure(error);
      if (!retryable) throw error;
      if (!options.idempotent && !provesNotProcessed(error)) throw error;
      retryAfterMs = options.retryAfterOf?.(error);
    }
    if (attempt + 1 >= attempts || signal?.aborted) return settle();
    if (retryAfterMs !== undefined && retryAfterMs > (options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS))
      return settle();
    const delay = Math.max(
      retryAfterMs ?? 0,
      backoffDelay(
        attempt,
        options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
        options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
        options.random,
      ),
    );
    if (options.deadline !== undefined && Date.now() + delay >= options.deadline) return settle();
    options.onRetry?.(attempt, delay);
    try {
      await sleep(delay, signal);
    } catch {
      return settle();
    }
  }
}
