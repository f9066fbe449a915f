/**
 * Inventory of a storage: which repositories it holds, how many bytes and snapshots each has.
 *
 * - KubeStash (shared/spec/kubestash-layout.md §3): a repository is a directory holding `repository.yaml`;
 *   its snapshots are the Snapshot YAMLs directly in its `snapshots/` directory, and the newest snapshot
 *   time is the newest of their `status.snapshotTime` (each YAML is read: their modification times say
 *   nothing reliable, KubeStash re-uploads a Snapshot's YAML whenever its status changes).
 * - Stash (§4.3): a repository is a restic repository, a directory holding a `config` object next to one
 *   of restic's directories (`keys/`, `data/`, `index/`, `snapshots/`); its snapshots are the files named by
 *   a 64-hex id in its `snapshots/`, the newest snapshot time their newest modification time.
 *
 * A repository's bytes are every object below its directory (nested restic repositories included). The
 * aggregation streams: per directory only counters and the names of its subdirectories are kept, per
 * repository one small record, so memory grows with the number of repositories, not of objects.
 */
import { z } from 'zod';
import { isStorageError, StorageError } from '../backends/errors.js';
import type { ObjectStore } from '../backends/object-store.js';
import type { StorageTarget } from '../config/backend.js';
import type { Deadline } from '../runtime/deadline.js';
import type { Log } from '../runtime/log.js';
import type { ProgressSink } from '../runtime/progress.js';
import { sanitizeText } from '../credentials/redact.js';
import { parseRepositoryYaml, REPOSITORY_FILE, SNAPSHOTS_DIR, snapshotTimeOf } from './kubestash-objects.js';
import { formatBytes } from './size-format.js';
import { walk, walkTaskSchema, type WalkTask, type WalkVisitor } from './walk.js';

export type RepositoryKind = 'kubestash' | 'restic';

/** Objects between two progress log lines. */
export const PROGRESS_EVERY = 5000;
/** Failed directories kept for the report. */
const MAX_FAILURES = 20;
const RESTIC_DIRS = new Set(['keys', 'data', 'index', 'snapshots']);
const RESTIC_ID = /^[0-9a-f]{64}$/;

const repositoryRecord = z.object({
  /** Directory relative to the storage prefix (`` or ending with `/`). */
  d: z.string().max(4096),
  k: z.enum(['kubestash', 'restic']),
  n: z.number().int().nonnegative(),
  b: z.number().int().nonnegative(),
  s: z.number().int().nonnegative(),
  t: z.number().optional(),
  name: z.string().max(1024).optional(),
  ns: z.string().max(1024).optional(),
  path: z.string().max(4096).optional(),
  e: z.string().max(2048).optional(),
});
type RepositoryRecord = z.output<typeof repositoryRecord>;

const dirState = z.object({
  /** Owning repository (index into `repos`). */
  o: z.number().int().nonnegative().optional(),
  /** This directory is the snapshots/ of a KubeStash (`ks`) or restic (`rs`) repository. */
  r: z.enum(['ks', 'rs']).optional(),
  n: z.number().int().nonnegative().optional(),
  b: z.number().int().nonnegative().optional(),
  /** Snapshot files seen, and the newest snapshot time (KubeStash snapshotTime, restic file modification). */
  sn: z.number().int().nonnegative().optional(),
  lt: z.number().optional(),
  /** Subdirectory names. */
  c: z.array(z.string().max(4096)).optional(),
  /** repository.yaml / config seen directly in this directory. */
  y: z.literal(1).optional(),
  cf: z.literal(1).optional(),
});
type DirState = z.output<typeof dirState>;

export const inventoryStateSchema = z.object({
  repos: z.array(repositoryRecord),
  /** Every object listed, and the part of it outside any repository. */
  n: z.number().int().nonnegative(),
  b: z.number().int().nonnegative(),
  un: z.number().int().nonnegative(),
  ub: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
  fails: z.array(z.object({ p: z.string(), code: z.string(), message: z.string() })).max(MAX_FAILURES),
  failed: z.number().int().nonnegative(),
  f: z.array(walkTaskSchema(dirState)),
});
export type InventoryState = z.output<typeof inventoryStateSchema>;

export function initialInventoryState(): InventoryState {
  return { repos: [], n: 0, b: 0, un: 0, ub: 0, calls: 0, fails: [], failed: 0, f: [{ p: '', s: {} }] };
}

export interface InventoryInput {
  store: ObjectStore;
  target: StorageTarget;
  /** The storage's key prefix: `` or ending with `/`. */
  prefix: string;
  deadline: Deadline;
  /** No listing starts after this instant (epoch ms); defaults to shortly before the deadline. */
  stopAt?: number;
  concurrency: number;
  log: Log;
  /** State from a continuation token; a fresh walk when absent. */
  resume?: InventoryState;
  /** Told the running totals after every listing page. */
  progress?: ProgressSink;
}

export interface InventoryRun {
  state: InventoryState;
  complete: boolean;
  /** What stopped the walk (missing bucket, bad credentials, retries exhausted). */
  fatal?: StorageError;
}

/** Soft stop: end in-flight calls' pages, but start none in the last second (or tenth of the budget). */
export function defaultStopAt(deadline: Deadline): number {
  return deadline.at - Math.min(1000, deadline.remainingMs() / 10);
}

function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function maxTime(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** Our own deadline or a retryable failure: let the walk put the directory back instead of recording it. */
function shouldRethrow(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || !isStorageError(error) || error.retryable;
}

export async function runInventory(input: InventoryInput): Promise<InventoryRun> {
  const { target, prefix, log } = input;
  const { store } = input;
  const state: InventoryState = structuredClone(input.resume ?? initialInventoryState());
  let nextProgress = (Math.floor(state.n / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
  const report = (): void =>
    input.progress?.({
      task: 'inventory',
      unit: 'objects',
      done: state.n,
      bytes: state.b,
      calls: state.calls,
    });

  const recordFailure = (dir: string, error: StorageError): void => {
    state.failed += 1;
    if (state.fails.length < MAX_FAILURES) {
      state.fails.push({ p: prefix + dir, code: error.code, message: sanitizeText(error.message) });
    }
  };

  /**
   * status.snapshotTime of one Snapshot YAML; undefined when it has none, vanished meanwhile or cannot be
   * read for good (it is still counted: the listing shows it exists).
   */
  async function snapshotTime(key: string, signal: AbortSignal): Promise<number | undefined> {
    try {
      return snapshotTimeOf(Buffer.from(await store.get(key, { signal })).toString('utf8'));
    } catch (error) {
      if (isStorageError(error, 'NotFound') && error.subject === 'bucket') throw error;
      if (shouldRethrow(error, signal)) throw error;
      return undefined;
    }
  }

  async function readRepository(dir: string, signal: AbortSignal): Promise<RepositoryRecord> {
    const record: RepositoryRecord = { d: dir, k: 'kubestash', n: 0, b: 0, s: 0 };
    try {
      const text = Buffer.from(await store.get(prefix + dir + REPOSITORY_FILE, { signal })).toString('utf8');
      const parsed = parseRepositoryYaml(text);
      if (!parsed.ok) return { ...record, e: parsed.reason };
      return defined({
        ...record,
        name: parsed.identity.name,
        ns: parsed.identity.namespace,
        path: parsed.identity.path,
      });
    } catch (error) {
      if (shouldRethrow(error, signal)) throw error;
      return {
        ...record,
        e: `repository.yaml could not be read: ${sanitizeText((error as StorageError).message)}`,
      };
    }
  }

  const visitor: WalkVisitor<DirState> = {
    async page(task, page, signal) {
      const dir = prefix + task.p;
      const s = task.s;
      const listed = page.objects.filter((object) => object.key.startsWith(dir));
      // KubeStash snapshots: read this page's Snapshot YAMLs (side by side, within maxConnections) first.
      const snapshotYamls = s.r === 'ks' ? listed.filter((object) => object.key !== dir) : [];
      const times = await Promise.all(snapshotYamls.map((object) => snapshotTime(object.key, signal)));

      let objects = 0;
      let bytes = 0;
      let snapshots = snapshotYamls.length;
      let newest = s.lt;
      for (const time of times) newest = maxTime(newest, time);
      let repositoryYaml = s.y;
      let config = s.cf;
      for (const object of listed) {
        const name = object.key.slice(dir.length);
        objects += 1;
        bytes += object.size;
        if (name === REPOSITORY_FILE) repositoryYaml = 1;
        if (name === 'config') config = 1;
        if (s.r === 'rs' && RESTIC_ID.test(name)) {
          snapshots += 1;
          newest = maxTime(newest, object.lastModified?.getTime());
        }
      }
      const children = page.prefixes
        .filter((child) => child.startsWith(dir))
        .map((child) => child.slice(dir.length, -1));
      task.s = defined({
        ...s,
        n: (s.n ?? 0) + objects,
        b: (s.b ?? 0) + bytes,
        sn: s.r ? (s.sn ?? 0) + snapshots : undefined,
        lt: newest,
        c: children.length > 0 ? [...(s.c ?? []), ...children] : s.c,
        y: repositoryYaml,
        cf: config,
      });
      state.n += objects;
      state.b += bytes;
      report();
      if (state.n >= nextProgress) {
        log.info('inventory progress', {
          objects: state.n,
          bytes: state.b,
          repositories: state.repos.length,
          listCalls: state.calls,
        });
        nextProgress = (Math.floor(state.n / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
      }
    },

    async finish(task, signal) {
      const s = task.s;
      const children = s.c ?? [];
      let discovered: RepositoryRecord | undefined;
      if (target.flavor === 'kubestash' && s.y) {
        discovered = await readRepository(task.p, signal);
      } else if (target.flavor === 'stash' && s.cf && children.some((child) => RESTIC_DIRS.has(child))) {
        discovered = { d: task.p, k: 'restic', n: 0, b: 0, s: 0 };
      }

      // From here on nothing awaits: the directory is accounted for in one step.
      const owner = discovered ? state.repos.push(discovered) - 1 : s.o;
      const repository = owner === undefined ? undefined : state.repos[owner];
      if (repository) {
        repository.n += s.n ?? 0;
        repository.b += s.b ?? 0;
        if (s.r) {
          repository.s += s.sn ?? 0;
          const newest = maxTime(repository.t, s.lt);
          if (newest !== undefined) repository.t = newest;
        }
      } else {
        state.un += s.n ?? 0;
        state.ub += s.b ?? 0;
      }
      return children.map((child): WalkTask<DirState> => ({
        p: `${task.p}${child}/`,
        s: defined({
          o: owner,
          r: discovered && child === SNAPSHOTS_DIR ? (discovered.k === 'kubestash' ? 'ks' : 'rs') : undefined,
        }),
      }));
    },

    failed(task, error) {
      recordFailure(task.p, error);
      const repository = task.s.o === undefined ? undefined : state.repos[task.s.o];
      if (repository && repository.e === undefined) {
        repository.e = `${task.p} could not be listed: ${sanitizeText(error.message)}`;
      }
    },
  };

  const result = await walk(state.f, visitor, {
    store,
    root: prefix,
    concurrency: input.concurrency,
    deadline: input.deadline,
    stopAt: input.stopAt ?? defaultStopAt(input.deadline),
    // Counted as they start, so the progress lines above say how many calls were made so far.
    onList: () => {
      state.calls += 1;
      report();
    },
  });
  state.f = result.frontier;
  const run: InventoryRun = { state, complete: result.complete };
  if (result.fatal) run.fatal = result.fatal;
  return run;
}

export interface InventoryRepository {
  name: string;
  namespace: string;
  /** Directory relative to the storage root, as KubeStash writes it (`/demo/postgres`). */
  path: string;
  kind: RepositoryKind;
  size: string;
  bytes: number;
  objects: number;
  snapshotCount: number;
  newestSnapshotTime?: string;
  synced: boolean;
  error?: string;
}

/** KubeStash's `status.repositories[]` item (RepositoryInfo). */
export interface RepositoryInfo {
  name: string;
  namespace: string;
  path: string;
  size: string;
  synced: boolean;
  error?: string;
}

export interface InventoryTotals {
  /** Sum over repositories: KubeStash's status.totalSize. */
  totalBytes: number;
  totalSize: string;
  /** Everything under the prefix, storage metadata and stray objects included. */
  objects: number;
  bytes: number;
  size: string;
  /** Objects outside any repository (metadata.yaml, probes, foreign data). */
  unattributed: { objects: number; bytes: number };
}

function trimSlashes(path: string): string {
  return path.split('/').filter(Boolean).join('/');
}

function describeRepository(record: RepositoryRecord, target: StorageTarget): InventoryRepository {
  const dir = trimSlashes(record.d);
  const segments = dir.split('/').filter(Boolean);
  let name: string;
  if (record.k === 'kubestash') name = record.name ?? segments.at(-1) ?? 'repository';
  else name = dir === '' ? (target.name ?? 'repository') : segments.join('.');
  const path = record.path !== undefined && trimSlashes(record.path) === dir ? record.path : `/${dir}`;
  const repository: InventoryRepository = {
    name,
    namespace: record.ns ?? target.namespace ?? '',
    path,
    kind: record.k,
    size: formatBytes(record.b),
    bytes: record.b,
    objects: record.n,
    snapshotCount: record.s,
    synced: record.e === undefined,
  };
  if (record.t !== undefined) repository.newestSnapshotTime = new Date(record.t).toISOString();
  if (record.e !== undefined) repository.error = record.e;
  return repository;
}

export function describeRepositories(state: InventoryState, target: StorageTarget): InventoryRepository[] {
  return state.repos
    .map((record) => describeRepository(record, target))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function totalsOf(state: InventoryState): InventoryTotals {
  const totalBytes = state.repos.reduce((sum, record) => sum + record.b, 0);
  return {
    totalBytes,
    totalSize: formatBytes(totalBytes),
    objects: state.n,
    bytes: state.b,
    size: formatBytes(state.b),
    unattributed: { objects: state.un, bytes: state.ub },
  };
}

/** The KubeStash-shaped part: what goes into BackupStorage.status.repositories. */
export function asRepositoryInfo(repository: InventoryRepository): RepositoryInfo {
  const info: RepositoryInfo = {
    name: repository.name,
    namespace: repository.namespace,
    path: repository.path,
    size: repository.size,
    synced: repository.synced,
  };
  if (repository.error !== undefined) info.error = repository.error;
  return info;
}

/** Listing workers: the storage's `maxConnections` when it sets one, else a default that suits Lambda. */
export const DEFAULT_CONNECTIONS = 8;
const MAX_CONNECTIONS = 64;

export function walkConcurrency(target: StorageTarget): number {
  const configured = 'maxConnections' in target.backend ? target.backend.maxConnections : undefined;
  return Math.min(MAX_CONNECTIONS, Math.max(1, configured ?? DEFAULT_CONNECTIONS));
}
