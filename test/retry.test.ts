/**
 * The retry helper for adapters without an SDK retry layer (lib/backends/retry.ts): what is retried,
 * how often, how long it waits (full jitter, Retry-After), and that it never waits past the deadline.
 * The random source is fixed, and waits are observed through onRetry, never timed.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../lib/backends/errors.js';
import {
  DEFAULT_ATTEMPTS,
  backoffDelay,
  parseRetryAfter,
  provesNotProcessed,
  retrying,
} from '../lib/runtime/retry.js';

const unavailable = (cause?: unknown): StorageError =>
  new StorageError({ code: 'Unavailable', message: 'HTTP 503', provider: 'test', cause });
const reset = (): StorageError =>
  new StorageError({
    code: 'Unreachable',
    message: 'reset',
    retryable: true,
    cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
  });
const refused = (): StorageError =>
  new StorageError({
    code: 'Unreachable',
    message: 'refused',
    retryable: true,
    cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
  });

/** A call failing with `failures` in turn, then answering `ok`; counts its attempts. */
function flaky(failures: unknown[]): { call: () => Promise<string>; attempts: () => number } {
  let made = 0;
  return {
    call: async () => {
      const failure = failures[made++];
      if (failure !== undefined) throw failure;
      return 'ok';
    },
    attempts: () => made,
  };
}

const fast = { baseDelayMs: 1, maxDelayMs: 1 };

describe('retrying', () => {
  it('retries retryable failures until the call succeeds', async () => {
    const call = flaky([reset(), unavailable()]);
    await expect(retrying(call.call, { idempotent: true, ...fast })).resolves.toBe('ok');
    expect(call.attempts()).toBe(3);
  });

  it(`gives up after ${DEFAULT_ATTEMPTS} attempts with the last failure`, async () => {
    const last = unavailable();
    const call = flaky([reset(), reset(), last, unavailable()]);
    await expect(retrying(call.call, { idempotent: true, ...fast })).rejects.toBe(last);
    expect(call.attempts()).toBe(DEFAULT_ATTEMPTS);
  });

  it('never retries a failure that is not retryable', async () => {
    const denied = new StorageError({ code: 'PermissionDenied', message: 'no' });
    const call = flaky([denied]);
    await expect(retrying(call.call, { idempotent: true, ...fast })).rejects.toBe(denied);
    expect(call.attempts()).toBe(1);
  });

  it('retries a non-idempotent call only when the failure proves nothing was done', async () => {
    const ambiguous = flaky([reset()]);
    await expect(retrying(ambiguous.call, { idempotent: false, ...fast })).rejects.toBeInstanceOf(
      StorageError,
    );
    expect(ambiguous.attempts()).toBe(1);
    const notSent = flaky([refused(), new StorageError({ code: 'RateLimited', message: '429' })]);
    await expect(retrying(notSent.call, { idempotent: false, ...fast })).resolves.toBe('ok');
    expect(notSent.attempts()).toBe(3);
  });

  it('retries results the caller names (a 503 answer), and returns the last one when attempts run out', async () => {
    const answers = [503, 503, 503, 200];
    let made = 0;
    const result = await retrying(async () => answers[made++] as number, {
      idempotent: true,
      ...fast,
      retryResult: (status) => (status === 503 ? {} : undefined),
    });
    expect(result).toBe(503);
    expect(made).toBe(DEFAULT_ATTEMPTS);
  });

  it('waits with full jitter below the exponential cap', async () => {
    const waits: number[] = [];
    const call = flaky([reset(), reset(), reset(), reset()]);
    await expect(
      retrying(call.call, {
        idempotent: true,
        attempts: 5,
        baseDelayMs: 10,
        maxDelayMs: 30,
        random: () => 0.999,
        onRetry: (_attempt, delay) => waits.push(delay),
      }).catch(() => 'failed'),
    ).resolves.toBe('ok');
    expect(waits).toEqual([9, 19, 29, 29]);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(0);
  });

  it('honours Retry-After, and reports at once when it asks for longer than allowed', async () => {
    const waits: number[] = [];
    const asked = flaky([unavailable({ retryAfter: 20 })]);
    await retrying(asked.call, {
      idempotent: true,
      ...fast,
      retryAfterOf: (error) => ((error as StorageError).cause as { retryAfter: number }).retryAfter,
      onRetry: (_attempt, delay) => waits.push(delay),
    });
    expect(waits).toEqual([20]);
    const tooLong = flaky([unavailable({ retryAfter: 60_000 })]);
    await expect(
      retrying(tooLong.call, {
        idempotent: true,
        ...fast,
        retryAfterOf: (error) => ((error as StorageError).cause as { retryAfter: number }).retryAfter,
      }),
    ).rejects.toBeInstanceOf(StorageError);
    expect(tooLong.attempts()).toBe(1);
  });

  it('never waits past the deadline or the signal, and reports the failure, not the wait', async () => {
    const first = unavailable();
    const late = flaky([first]);
    await expect(
      retrying(late.call, { idempotent: true, baseDelayMs: 50, deadline: Date.now() - 1, random: () => 0.5 }),
    ).rejects.toBe(first);
    expect(late.attempts()).toBe(1);

    const controller = new AbortController();
    const aborted = flaky([unavailable(), unavailable()]);
    const running = retrying(aborted.call, {
      idempotent: true,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
      random: () => 0.5,
      signal: controller.signal,
      onRetry: () => controller.abort(),
    });
    await expect(running).rejects.toMatchObject({ code: 'Unavailable' });
    expect(aborted.attempts()).toBe(1);
  });
});

describe('nested retrying', () => {
  it('does not retry again what an inner retrying gave up on', async () => {
    const inner = flaky([reset(), reset(), reset(), reset(), reset(), reset()]);
    let outer = 0;
    await expect(
      retrying(
        () => {
          outer += 1;
          return retrying(inner.call, { idempotent: true, ...fast });
        },
        { idempotent: true, ...fast },
      ),
    ).rejects.toMatchObject({ code: 'Unreachable' });
    expect(outer).toBe(1);
    expect(inner.attempts()).toBe(DEFAULT_ATTEMPTS);
  });
});

describe('parseRetryAfter and provesNotProcessed', () => {
  it('reads delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('knows a refused connection and a 429 were not acted on, a reset may have been', () => {
    expect(provesNotProcessed(refused())).toBe(true);
    expect(provesNotProcessed(new StorageError({ code: 'RateLimited', message: '429' }))).toBe(true);
    expect(provesNotProcessed(reset())).toBe(false);
    expect(provesNotProcessed(unavailable())).toBe(false);
  });
});
