/**
 * Bounded concurrency under a deadline: at most `concurrency` tasks at once, each with its own deadline
 * carved from what is left; a task that cannot get its minimum budget is not started and is reported
 * through `notReached`, so nothing is silently dropped. A task that outlives its deadline (an SDK that
 * ignores its abort signal) is abandoned through `overran` so it cannot hold up the run.
 */
import { mapLimit } from '../runtime/concurrency.js';
import { Deadline } from '../runtime/deadline.js';

export interface PoolOptions {
  concurrency: number;
  /** The whole run's deadline. */
  deadline: Deadline;
  /** Largest budget one task gets. */
  taskBudgetMs: number;
  /** Smallest budget worth starting a task with. */
  minTaskMs: number;
  /** Extra time past a task's deadline before it is abandoned. */
  graceMs?: number;
}

export interface PoolHandlers<T, R> {
  run(item: T, deadline: Deadline): Promise<R>;
  notReached(item: T): R;
  overran(item: T): R;
}

export async function runPool<T, R>(
  items: readonly T[],
  options: PoolOptions,
  handlers: PoolHandlers<T, R>,
): Promise<R[]> {
  const grace = options.graceMs ?? 250;

  const runOne = async (item: T): Promise<R> => {
    const deadline = options.deadline.within(options.taskBudgetMs);
    let timer: NodeJS.Timeout | undefined;
    const abandon = new Promise<R>((resolve) => {
      timer = setTimeout(() => resolve(handlers.overran(item)), deadline.remainingMs() + grace);
    });
    try {
      return await Promise.race([handlers.run(item, deadline), abandon]);
    } finally {
      clearTimeout(timer);
    }
  };

  return mapLimit(items, options.concurrency, (item) =>
    options.deadline.remainingMs() < options.minTaskMs
      ? Promise.resolve(handlers.notReached(item))
      : runOne(item),
  );
}
