/**
 * A parallel, resumable walk over the "directories" under a root prefix. Each directory is listed with
 * a `/` delimiter, so independent subtrees (KubeStash repositories, restic's 256 `data/xx/` shards) are
 * listed side by side by at most `concurrency` workers. Directories are taken last-in-first-out (depth
 * first), which keeps the set of pending directories small: it is what a continuation token carries.
 *
 * The walk is deadline-aware: no call starts after `stopAt`; a call cut off by the hard deadline loses
 * only its own page, because a task's state changes only after a page has been fully handled. What is
 * left is returned as the `frontier`, to be passed to the next walk.
 */
import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import { isStorageError, StorageError, unknownError, type ErrorCode } from '../backends/errors.js';
import type { ListPage, ObjectStore } from '../backends/object-store.js';
import { sleep, type Deadline } from '../runtime/deadline.js';
import { backoffDelay } from '../runtime/retry.js';

/** A listing that failed on a passing fault waits the shared backoff (full jitter) before it is asked again. */
const WALK_RETRY_BASE_MS = 200;
const WALK_RETRY_MAX_MS = 3_200;

export interface WalkTask<S> {
  /** Directory relative to the walk root: `` (the root itself) or a path ending with `/`. */
  p: string;
  /** Page token of the next listing page, when the listing was interrupted. */
  t?: string;
  /** Set once the listing is done and only `finish` remains. */
  l?: 1;
  /** The visitor's state for this directory (JSON-serializable). */
  s: S;
}

export interface WalkVisitor<S> {
  /**
   * Handles one listing page of `task`. Do the async work first and update `task.s` only after it, in
   * one synchronous step: a page that throws must leave no trace, because it will be listed again.
   */
  page(task: WalkTask<S>, page: ListPage, signal: AbortSignal): Promise<void>;
  /** After the last page: the subdirectories to walk next. Same rule for state updates. */
  finish(task: WalkTask<S>, signal: AbortSignal): Promise<WalkTask<S>[]>;
  /** A directory that failed for good (after retries); it is dropped from the walk. */
  failed?(task: WalkTask<S>, error: StorageError): void;
}

export interface WalkOptions {
  store: ObjectStore;
  /** Key prefix the walk is rooted at: `` or ending with `/`. */
  root: string;
  concurrency: number;
  /** Calls in flight are aborted at this deadline. */
  deadline: Deadline;
  /** No call starts after this instant (epoch ms); the rest becomes the frontier. */
  stopAt: number;
  pageSize?: number;
  /** Attempts for a retryable failure (RateLimited, Unavailable, a timeout that is not ours). */
  attempts?: number;
  /** Called as each listing call starts, so a caller's counters are current mid-walk (progress lines). */
  onList?: () => void;
}

export interface WalkFailure {
  prefix: string;
  error: StorageError;
}

export interface WalkResult<S> {
  /** Nothing is left to walk (failed directories are reported in `failures`, not left pending). */
  complete: boolean;
  /** Directories still to walk; pass them to the next walk to resume. Empty when complete. */
  frontier: WalkTask<S>[];
  failures: WalkFailure[];
  /** A failure that stopped the whole walk (missing bucket, bad credentials, unreachable endpoint). */
  fatal?: StorageError;
  /** Listing calls made. */
  calls: number;
}

const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_ATTEMPTS = 3;
/** Failures that no other directory would escape: stop the walk and keep its frontier. */
const FATAL_CODES: ReadonlySet<ErrorCode> = new Set([
  'Unauthenticated',
  'Unreachable',
  'TlsError',
  'InvalidConfig',
]);

/**
 * A relative directory as a continuation token may carry it. Object stores allow any key, so only what
 * could climb out of the root on a filesystem is refused: `.`/`..` segments and NUL (the local
 * adapter refuses absolute keys itself).
 */
export const relativeDirectory = z
  .string()
  .max(4096)
  .refine(
    (value) =>
      value === '' ||
      (value.endsWith('/') &&
        !value.includes('\0') &&
        value.split('/').every((segment) => segment !== '.' && segment !== '..')),
    'must be a relative directory ending with "/"',
  );

export function walkTaskSchema<S extends z.ZodType>(state: S) {
  return z.object({
    p: relativeDirectory,
    t: z.string().max(8192).optional(),
    l: z.literal(1).optional(),
    s: state,
  });
}

function classify(store: ObjectStore, error: unknown, prefix: string): StorageError {
  return isStorageError(error)
    ? error.withContext({ provider: store.provider, operation: 'list', key: prefix })
    : unknownError(error, store.provider, 'list', prefix);
}

export async function walk<S>(
  frontier: readonly WalkTask<S>[],
  visitor: WalkVisitor<S>,
  options: WalkOptions,
): Promise<WalkResult<S>> {
  const { store, root, deadline } = options;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  // The top of the stack is the end of the array: children are pushed last, so they are walked first.
  const stack: WalkTask<S>[] = [...frontier].reverse();
  const failures: WalkFailure[] = [];
  let fatal: StorageError | undefined;
  let stopped = false;
  let active = 0;
  let calls = 0;
  const waiting: (() => void)[] = [];
  const wakeAll = (): void => {
    for (const resume of waiting.splice(0)) resume();
  };
  const timeIsUp = (): boolean => Date.now() >= options.stopAt || deadline.expired();

  /** Lists and finishes one directory; returns its children, or undefined when it was put back. */
  async function run(task: WalkTask<S>): Promise<WalkTask<S>[] | undefined> {
    let failuresInARow = 0;
    for (;;) {
      if (stopped || fatal !== undefined || timeIsUp()) return undefined;
      const signal = deadline.signal();
      // One signal is shared by every call a page makes (reads, deletes), each waiting with a listener.
      setMaxListeners(0, signal);
      try {
        if (!task.l) {
          calls += 1;
          options.onList?.();
          const page = await store.list(root + task.p, {
            delimiter: '/',
            limit: pageSize,
            signal,
            ...(task.t === undefined ? {} : { pageToken: task.t }),
          });
          await visitor.page(task, page, signal);
          if (page.nextPageToken === undefined) {
            delete task.t;
            task.l = 1;
          } else {
            task.t = page.nextPageToken;
          }
          failuresInARow = 0;
          continue;
        }
        return await visitor.finish(task, signal);
      } catch (error) {
        const classified = classify(store, error, root + task.p);
        // Our own deadline cut the call short: not a failure of the directory, just the end of this walk.
        if (timeIsUp() || signal.aborted) return undefined;
        if (
          FATAL_CODES.has(classified.code) ||
          (classified.code === 'NotFound' && classified.subject === 'bucket')
        ) {
          fatal ??= classified;
          return undefined;
        }
        failuresInARow += 1;
        if (classified.retryable && failuresInARow < attempts) {
          try {
            await sleep(
              backoffDelay(failuresInARow - 1, WALK_RETRY_BASE_MS, WALK_RETRY_MAX_MS),
              deadline.signal(),
            );
          } catch {
            return undefined;
          }
          continue;
        }
        if (classified.retryable) {
          // Still failing after retries: keep it for the next walk rather than losing the directory.
          fatal ??= classified;
          return undefined;
        }
        failures.push({ prefix: root + task.p, error: classified });
        visitor.failed?.(task, classified);
        return [];
      }
    }
  }

  async function worker(): Promise<void> {
    for (;;) {
      if (stopped || fatal) return;
      const task = stack.pop();
      if (task === undefined) {
        if (active === 0) {
          wakeAll();
          return;
        }
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      active += 1;
      try {
        const children = await run(task);
        if (children === undefined) {
          stack.push(task);
          stopped = true;
        } else {
          for (let index = children.length - 1; index >= 0; index -= 1)
            stack.push(children[index] as WalkTask<S>);
        }
      } finally {
        active -= 1;
        wakeAll();
      }
    }
  }

  const width = Math.max(1, Math.floor(options.concurrency));
  await Promise.all(Array.from({ length: width }, () => worker()));
  const remaining = [...stack].reverse();
  const result: WalkResult<S> = { complete: remaining.length === 0, frontier: remaining, failures, calls };
  if (fatal) result.fatal = fatal;
  return result;
}
