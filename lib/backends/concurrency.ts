/**
 * A bound on calls in flight: an adapter whose SDK cannot be handed a socket limit (or one that keeps
 * its own pool) runs every request through a limiter sized by the backend's `maxConnections`, so a store
 * never has more requests, and so keep-alive sockets, open at once than the user allowed.
 */

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimiter(maxInFlight: number): Limiter {
  const width = Math.max(1, Math.floor(maxInFlight));
  let active = 0;
  const waiting: (() => void)[] = [];
  // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= width) await new Promise<void>((resolve) => waiting.push(resolve));
    else active += 1;
    try {
      return await task();
    } finally {
      release();
    }
  };
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
