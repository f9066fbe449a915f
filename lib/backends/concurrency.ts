/**
 * A bound on calls in flight, as a function: an adapter whose SDK cannot be handed a socket limit (or
 * keeps one pool per process) runs every request through a limiter sized by the backend's
 * `maxConnections`, so a store never has more requests, and so sockets, open at once than allowed.
 * The semaphore itself is lib/runtime/concurrency.ts; a waiter whose signal fires leaves the queue.
 */
import { ConcurrencyLimit } from '../runtime/concurrency.js';

export type Limiter = <T>(task: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

export function createLimiter(maxInFlight: number): Limiter {
  const limit = new ConcurrencyLimit(Math.max(1, Math.floor(maxInFlight)));
  return (task, signal) => limit.run(task, signal);
}

/** Runs `task` for every item (bounded by `limit` when given), waits for all, then throws the first failure if any. */
export async function settleAll<I>(
  items: readonly I[],
  task: (item: I) => Promise<void>,
  limit?: Limiter,
): Promise<void> {
  const results = await Promise.allSettled(
    items.map((item) => (limit ? limit(() => task(item)) : task(item))),
  );
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}
