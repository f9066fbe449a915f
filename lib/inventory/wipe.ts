/**
 * WipeOut: delete everything under a storage's prefix, the way KubeStash's cleanup job does for a
 * BackupStorage with `deletionPolicy: WipeOut` and Stash's operator for a Repository with `wipeOut: true`
 * (shared/spec/kubestash-layout.md §2.4, §4.5). The guard decides from the request alone, before any
 * call to the backend; the deletion reuses the inventory's parallel, resumable walk.
 */
import { z } from 'zod';
import { RequestError, type FieldIssue } from '../config/request-error.js';
import { isMissingObject, type StorageError } from '../backends/errors.js';
import { deleteEach, joinKey, type ObjectInfo, type ObjectStore } from '../backends/object-store.js';
import { backendLocation, backendPrefix, type StorageTarget } from '../config/backend.js';
import type { Deadline } from '../runtime/deadline.js';
import type { Log } from '../runtime/log.js';
import type { ProgressSink } from '../runtime/progress.js';
import { sanitizeText } from '../credentials/redact.js';
import { PROGRESS_EVERY, defaultStopAt } from './inventory.js';
import { walk, walkTaskSchema, type WalkVisitor } from './walk.js';

/** Providers whose storages are never wiped: Stash's validator forbids wipeOut for local and B2 (§4.5). */
const WIPE_FORBIDDEN_PROVIDERS = new Set(['local', 'b2']);
const MAX_FAILURES = 20;

/** What a caller must repeat as `options.confirm`: exactly what would be deleted, `<bucket|container>/<prefix>`. */
export function wipeOutConfirmation(target: StorageTarget): string {
  return joinKey(backendLocation(target.backend), backendPrefix(target.backend));
}

function policyField(target: StorageTarget): string {
  switch (target.kind) {
    case 'BackupStorage':
      return 'storage.spec.deletionPolicy';
    case 'Repository':
    case 'Restic':
      return 'storage.spec.wipeOut';
    case 'Backend':
      return 'storage';
    default:
      return 'storage.deletionPolicy';
  }
}

function prefixField(target: StorageTarget): string {
  const provider = target.backend.provider;
  switch (target.kind) {
    case 'BackupStorage':
      return `storage.spec.storage.${provider}.prefix`;
    case 'Repository':
    case 'Restic':
      return `storage.spec.backend.${provider}.prefix`;
    case 'Backend':
      return `storage.${provider}.prefix`;
    default:
      return 'storage.prefix';
  }
}

function forbidden(message: string, issue: FieldIssue): RequestError {
  return new RequestError('Forbidden', message, [issue]);
}

/**
 * Throws unless the storage may be wiped and the request confirms it. Refusals the storage's own
 * definition causes (policy, provider, empty prefix) are 403 Forbidden; a missing or wrong confirmation
 * is 400 InvalidRequest on `options.confirm`. Either way nothing was called on the backend.
 */
export function assertWipeOutAllowed(target: StorageTarget, confirm: string | undefined): void {
  const provider = target.backend.provider;
  if (WIPE_FORBIDDEN_PROVIDERS.has(provider)) {
    throw forbidden(`cleanup is not available for ${provider} storage`, {
      path: 'storage',
      message: `Stash forbids wipeOut for ${[...WIPE_FORBIDDEN_PROVIDERS].join(' and ')} backends; remove the data with the provider's own tools`,
    });
  }
  if (target.deletionPolicy !== 'WipeOut') {
    const how =
      target.flavor === 'kubestash'
        ? 'set spec.deletionPolicy: WipeOut on the BackupStorage'
        : target.kind === 'Backend'
          ? 'send the Stash Repository (with spec.wipeOut: true), not its bare backend'
          : 'set spec.wipeOut: true on the Repository';
    throw forbidden(
      `cleanup refused: the storage's deletion policy keeps its data (${target.deletionPolicy ?? 'Delete'})`,
      {
        path: policyField(target),
        message: `only a WipeOut storage is cleaned up; ${how}`,
      },
    );
  }
  if (backendPrefix(target.backend) === '') {
    throw forbidden(
      'cleanup refused: the storage has no prefix, so it would delete the whole bucket or container',
      {
        path: prefixField(target),
        message:
          'cleanup never deletes a whole bucket or container; only storages with a prefix can be wiped',
      },
    );
  }
  const expected = wipeOutConfirmation(target);
  if (confirm === undefined) {
    throw new RequestError(
      'InvalidRequest',
      `cleanup deletes everything under ${expected}; confirm it with options.confirm`,
      [
        {
          path: 'options.confirm',
          message: `required: repeat "${expected}" (bucket or container, then prefix)`,
        },
      ],
    );
  }
  if (joinKey(confirm) !== expected) {
    throw new RequestError(
      'InvalidRequest',
      'options.confirm does not name this storage; nothing was deleted',
      [
        {
          path: 'options.confirm',
          message: 'must repeat the storage’s bucket or container and prefix exactly',
        },
      ],
    );
  }
}

const wipeDir = z.object({ c: z.array(z.string().max(4096)).optional() });
type WipeDir = z.output<typeof wipeDir>;

export const wipeStateSchema = z.object({
  n: z.number().int().nonnegative(),
  b: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
  fails: z.array(z.object({ p: z.string(), code: z.string(), message: z.string() })).max(MAX_FAILURES),
  failed: z.number().int().nonnegative(),
  f: z.array(walkTaskSchema(wipeDir)),
});
export type WipeState = z.output<typeof wipeStateSchema>;

export function initialWipeState(): WipeState {
  return { n: 0, b: 0, calls: 0, fails: [], failed: 0, f: [{ p: '', s: {} }] };
}

export interface WipeInput {
  store: ObjectStore;
  /** The storage's key prefix, ending with `/` (never empty: the guard refuses that). */
  prefix: string;
  deadline: Deadline;
  stopAt?: number;
  concurrency: number;
  log: Log;
  resume?: WipeState;
  /** Told the running totals after every deleted page. */
  progress?: ProgressSink;
}

export interface WipeRun {
  state: WipeState;
  /** The walk finished and a final listing found nothing left under the prefix. */
  complete: boolean;
  /** The walk finished but objects are still there (written meanwhile, or listings lagging behind deletes). */
  leftovers: boolean;
  fatal?: StorageError;
}

export async function runWipe(input: WipeInput): Promise<WipeRun> {
  const { prefix, log } = input;
  const { store } = input;
  if (prefix === '' || !prefix.endsWith('/'))
    throw new Error('runWipe needs a non-empty prefix ending with "/"');
  const state: WipeState = structuredClone(input.resume ?? initialWipeState());
  let nextProgress = (Math.floor(state.n / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
  const report = (): void =>
    input.progress?.({ task: 'cleanup', unit: 'objects', done: state.n, bytes: state.b, calls: state.calls });

  /**
   * Deletes a page's objects and counts what is gone, also when some deletes fail: the walk lists the
   * page again before retrying it, and objects deleted by the failed attempt are no longer listed. Where
   * the store has no batch delete, each key is its own delete (in its own connection slot) and counts
   * when it succeeds; a key whose delete failed counts when a stat finds it gone (a delete the server
   * did but whose answer was lost). A batch request counts when it succeeded.
   */
  const deleteCounting = async (objects: readonly ObjectInfo[], signal: AbortSignal): Promise<void> => {
    const sizes = new Map(objects.map((object) => [object.key, object.size]));
    const counted = new Set<string>();
    const count = (key: string): void => {
      if (counted.has(key)) return;
      counted.add(key);
      state.n += 1;
      state.b += sizes.get(key) ?? 0;
    };
    const keys = [...sizes.keys()];
    try {
      if (keys.length === 0) return;
      if (store.capabilities.batchDelete) {
        await store.deleteMany(keys, { signal });
        keys.forEach(count);
        return;
      }
      await deleteEach(store, keys, { signal }, { onDeleted: count }).catch(async (error: unknown) => {
        const unsure = keys.filter((key) => !counted.has(key));
        await Promise.all(
          unsure.map((key) =>
            store.stat(key, { signal }).then(
              () => undefined,
              (missing: unknown) => {
                if (isMissingObject(missing)) count(key);
              },
            ),
          ),
        );
        throw error;
      });
    } finally {
      report();
    }
  };

  const visitor: WalkVisitor<WipeDir> = {
    async page(task, page, signal) {
      const dir = prefix + task.p;
      // Only keys below the prefix directory: `a/` never reaches `ab/`, whatever a listing returns.
      const objects = page.objects.filter(
        (object) => object.key.startsWith(dir) && object.key.startsWith(prefix),
      );
      await deleteCounting(objects, signal);
      const children = page.prefixes
        .filter((child) => child.startsWith(dir))
        .map((child) => child.slice(dir.length, -1));
      if (children.length > 0) task.s = { c: [...(task.s.c ?? []), ...children] };
      if (state.n >= nextProgress) {
        log.info('cleanup progress', {
          deletedObjects: state.n,
          deletedBytes: state.b,
          listCalls: state.calls,
        });
        nextProgress = (Math.floor(state.n / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
      }
    },
    async finish(task) {
      return (task.s.c ?? []).map((child) => ({ p: `${task.p}${child}/`, s: {} }));
    },
    failed(task, error) {
      state.failed += 1;
      if (state.fails.length < MAX_FAILURES) {
        state.fails.push({ p: prefix + task.p, code: error.code, message: sanitizeText(error.message) });
      }
    },
  };

  const stopAt = input.stopAt ?? defaultStopAt(input.deadline);
  const result = await walk(state.f, visitor, {
    store,
    root: prefix,
    concurrency: input.concurrency,
    deadline: input.deadline,
    stopAt,
    onList: () => {
      state.calls += 1;
      report();
    },
  });
  state.f = result.frontier;
  const run: WipeRun = { state, complete: false, leftovers: false };
  if (result.fatal) run.fatal = result.fatal;
  if (!result.complete) return run;

  // Objects written during the walk, or listings that lag behind deletes (Swift), leave something behind:
  // then the next call starts over from the prefix.
  if (Date.now() >= stopAt) {
    state.f = [{ p: '', s: {} }];
    return run;
  }
  state.calls += 1;
  report();
  const rest = await store
    .list(prefix, { limit: 1, signal: input.deadline.signal() })
    .catch((error: unknown) => {
      log.warn('cleanup: final listing failed', { code: (error as StorageError).code });
      return undefined;
    });
  if (rest === undefined || rest.objects.length > 0) {
    state.f = [{ p: '', s: {} }];
    run.leftovers = rest !== undefined;
    return run;
  }
  run.complete = true;
  return run;
}
