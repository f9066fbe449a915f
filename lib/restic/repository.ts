/**
 * Initialize and open restic repositories over any ObjectStore, with no restic binary.
 *
 * init: everything expensive (master key, config, scrypt for the key file) is prepared first; then
 * `config` is created with a conditional put. Exactly one concurrent initializer wins that put and
 * alone writes its key file; the others find the winner's repository and open it with their password
 * (waiting briefly for the winner's key file). So one path never holds two configs or keys of two
 * different master keys. An existing repository is opened, never overwritten.
 *
 * open: config (NoRepository when absent), then the first 20 key files (WrongPassword when none opens;
 * the MAC is checked before anything is decrypted), then the config under the master key, then
 * snapshots (count and newest time) and locks (age, host, exclusive, stale).
 */
import { createHash } from 'node:crypto';
import { isAlreadyExists, isStorageError } from '../backends/errors.js';
import { listAll, type ObjectInfo, type ObjectStore } from '../backends/object-store.js';
import { mapLimit } from '../runtime/concurrency.js';
import { randomMasterKey, type CipherKey } from './crypto.js';
import { ConfigError, DEFAULT_VERSION, newConfig, openConfig, sealConfig } from './config.js';
import type { KdfParams } from '../config/kdf-params.js';
import { sleep } from '../runtime/deadline.js';
import { calibratedParams } from './kdf.js';
import { createKeyFile, CorruptKeyError, openKeyFile, parseKeyFile } from './keys.js';
import { idOf, MAX_KEYS, RepositoryLayout, type FileType } from './layout.js';
import { hasDirectories, makeDirectories } from './local-directories.js';
import { decodeUnpacked, parseGoTime, UnreadableFileError } from './unpacked.js';

/** What can be wrong with a repository itself (storage failures stay StorageErrors). */
export type RepositoryProblem =
  | 'NoRepository'
  | 'WrongPassword'
  | 'NoKey'
  | 'CorruptKey'
  | 'CorruptConfig'
  | 'UnsupportedVersion'
  | 'IncompleteRepository';

export class RepositoryError extends Error {
  readonly reason: RepositoryProblem;
  readonly hint: string | undefined;
  constructor(reason: RepositoryProblem, message: string, hint?: string) {
    super(message);
    this.name = 'RepositoryError';
    this.reason = reason;
    this.hint = hint;
  }
}

export interface LockInfo {
  id: string;
  time?: string;
  ageSeconds?: number;
  exclusive: boolean;
  hostname?: string;
  pid?: number;
  /** Older than 30 minutes: `restic unlock` would remove it (we cannot ask the owner's host about its PID). */
  stale: boolean;
  /** The lock file could not be decrypted or parsed. */
  unreadable?: boolean;
}

export interface RepositoryInfo {
  /** Key prefix of the repository (`` for the bucket root). */
  path: string;
  version: number;
  id: string;
  keyCount: number;
  snapshotCount: number;
  newestSnapshotTime?: string;
  /** Snapshot files that did not verify or parse (corruption, or written by a foreign key). */
  unreadableSnapshots: number;
  /** How many snapshot files were read to find the newest time (all of them, or the most recently written). */
  snapshotsRead: number;
  locks: LockInfo[];
  lockCount: number;
}

export interface CallContext {
  /** Aborts every storage call (the operation's deadline). */
  signal?: AbortSignal;
}

export interface OpenOptions extends CallContext {
  /** When `config` exists but `keys/` is still empty, poll this long for a concurrent initializer's key. */
  waitForKeyMs?: number;
  /** Read every snapshot up to this many; beyond it, only the most recently written ones. */
  snapshotReadLimit?: number;
  now?: Date;
}

export interface InitOptions extends OpenOptions {
  /** Repository version to write: 2 (restic ≥ 0.14's default) or 1. */
  version?: 1 | 2;
  /** Fixed scrypt parameters; default: calibrated to restic's 500 ms / 60 MiB. */
  kdf?: KdfParams;
  username?: string;
  hostname?: string;
}

export interface InitResult {
  created: boolean;
  info: RepositoryInfo;
  /** The scrypt parameters of the key file written (only when created). */
  kdf?: KdfParams;
}

const STALE_LOCK_MS = 30 * 60 * 1000;
const MAX_LOCKS_READ = 20;
const DEFAULT_SNAPSHOT_READ_LIMIT = 100;
const READ_CONCURRENCY = 8;

async function getIfExists(
  store: ObjectStore,
  key: string,
  context: CallContext,
): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key, { signal: context.signal });
  } catch (error) {
    if (isStorageError(error, 'NotFound') && error.subject !== 'bucket') return undefined;
    throw error;
  }
}

async function listIds(
  store: ObjectStore,
  layout: RepositoryLayout,
  type: FileType,
  context: CallContext,
): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const object of listAll(store, layout.directory(type), { signal: context.signal })) {
    if (idOf(object.key) !== undefined && object.key.slice(layout.directory(type).length).indexOf('/') < 0)
      found.push(object);
  }
  return found;
}

async function hasAny(
  store: ObjectStore,
  layout: RepositoryLayout,
  type: FileType,
  context: CallContext,
): Promise<boolean> {
  const page = await store.list(layout.directory(type), { limit: 10, signal: context.signal });
  return page.objects.some((object) => idOf(object.key) !== undefined);
}

/** Key files, waiting up to `waitMs` for a first one to appear (a concurrent initializer's). */
async function listKeys(
  store: ObjectStore,
  layout: RepositoryLayout,
  options: OpenOptions,
): Promise<ObjectInfo[]> {
  const until = Date.now() + (options.waitForKeyMs ?? 0);
  let pause = 50;
  for (;;) {
    const keys = await listIds(store, layout, 'keys', options);
    if (keys.length > 0 || Date.now() >= until || options.signal?.aborted) return keys;
    // The caller's deadline ends the wait too (an aborted sleep rejects; the loop then returns what it has).
    await sleep(Math.min(pause, Math.max(1, until - Date.now())), options.signal).catch(() => undefined);
    pause = Math.min(pause * 2, 500);
  }
}

/** Tries the password on the first 20 key files, in listing order, as restic does. */
async function findMasterKey(
  store: ObjectStore,
  keys: ObjectInfo[],
  password: string,
  context: CallContext,
): Promise<CipherKey> {
  for (const object of keys.slice(0, MAX_KEYS)) {
    const bytes = await store.get(object.key, { signal: context.signal });
    let masterKey: CipherKey | undefined;
    try {
      masterKey = await openKeyFile(parseKeyFile(bytes), password);
    } catch (error) {
      if (error instanceof CorruptKeyError) {
        // restic aborts the key search on anything but a MAC mismatch, so a broken key file blocks it too.
        throw new RepositoryError(
          'CorruptKey',
          `key file ${object.key} is unusable: ${error.message}`,
          'restic stops at this key file as well; remove it if another key opens the repository',
        );
      }
      throw error;
    }
    if (masterKey) return masterKey;
  }
  const tried = Math.min(keys.length, MAX_KEYS);
  throw new RepositoryError(
    'WrongPassword',
    `the password opens none of the ${tried} key file${tried === 1 ? '' : 's'} restic would try`,
    keys.length > MAX_KEYS
      ? `restic tries only the first ${MAX_KEYS} key files; check RESTIC_PASSWORD, or remove unused keys (restic key remove)`
      : 'check RESTIC_PASSWORD in the secret: it must be the password the repository was initialized with',
  );
}

async function readSnapshots(
  store: ObjectStore,
  snapshots: ObjectInfo[],
  masterKey: CipherKey,
  version: number,
  options: OpenOptions,
): Promise<{ newest?: Date; unreadable: number; read: number }> {
  const limit = options.snapshotReadLimit ?? DEFAULT_SNAPSHOT_READ_LIMIT;
  // With many snapshots, the newest is among the most recently written files; read only those.
  const chosen =
    snapshots.length <= limit
      ? snapshots
      : [...snapshots]
          .sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0))
          .slice(0, limit);
  let newest: Date | undefined;
  let unreadable = 0;
  await mapLimit(chosen, READ_CONCURRENCY, async (object) => {
    try {
      const bytes = await store.get(object.key, { signal: options.signal });
      const snapshot = decodeUnpacked(idOf(object.key) as string, bytes, masterKey, version) as {
        time?: unknown;
      };
      const time = parseGoTime(snapshot?.time);
      if (!time) throw new UnreadableFileError('the snapshot has no time');
      if (!newest || time > newest) newest = time;
    } catch (error) {
      if (error instanceof UnreadableFileError || isStorageError(error, 'NotFound')) unreadable++;
      else throw error;
    }
  });
  return { newest, unreadable, read: chosen.length };
}

async function readLocks(
  store: ObjectStore,
  locks: ObjectInfo[],
  masterKey: CipherKey,
  version: number,
  options: OpenOptions,
): Promise<LockInfo[]> {
  const now = (options.now ?? new Date()).getTime();
  const read = await mapLimit(
    locks.slice(0, MAX_LOCKS_READ),
    READ_CONCURRENCY,
    async (object): Promise<LockInfo | undefined> => {
      const id = idOf(object.key) as string;
      let bytes: Uint8Array;
      try {
        bytes = await store.get(object.key, { signal: options.signal });
      } catch (error) {
        if (isStorageError(error, 'NotFound')) return undefined; // released while we looked
        throw error;
      }
      try {
        const lock = decodeUnpacked(id, bytes, masterKey, version) as Record<string, unknown>;
        const time = parseGoTime(lock.time);
        const age = time ? now - time.getTime() : undefined;
        return {
          id,
          time: time?.toISOString(),
          ageSeconds: age === undefined ? undefined : Math.max(0, Math.round(age / 1000)),
          exclusive: lock.exclusive === true,
          hostname: typeof lock.hostname === 'string' ? lock.hostname : undefined,
          pid: typeof lock.pid === 'number' ? lock.pid : undefined,
          stale: age === undefined || age > STALE_LOCK_MS,
        };
      } catch (error) {
        if (!(error instanceof UnreadableFileError)) throw error;
        return { id, exclusive: false, stale: true, unreadable: true };
      }
    },
  );
  return read.filter((lock): lock is LockInfo => lock !== undefined);
}

/** A repository opened with a password: what every reader and writer of its files needs. */
export interface UnlockedRepository {
  layout: RepositoryLayout;
  masterKey: CipherKey;
  version: number;
  id: string;
  keyCount: number;
}

/**
 * Unlocks in flight on one store are shared: check opens the repository (the marker) beside a probe
 * that writes a restic lock, and both need the master key, so scrypt runs once. Nothing is kept once
 * an unlock settles (a later open reads the repository again).
 */
const unlocking = new WeakMap<ObjectStore, Map<string, Promise<UnlockedRepository>>>();

/** Config, key files, the master key the password opens, and the config under it (NoRepository, WrongPassword, …). */
export function unlockRepository(
  store: ObjectStore,
  root: string,
  password: string,
  options: OpenOptions = {},
): Promise<UnlockedRepository> {
  let byStore = unlocking.get(store);
  if (!byStore) {
    byStore = new Map();
    unlocking.set(store, byStore);
  }
  const memo = `${new RepositoryLayout(root).root}\0${createHash('sha256').update(password).digest('hex')}`;
  const known = byStore.get(memo);
  if (known) return known;
  const unlocked = readMasterKey(store, root, password, options);
  byStore.set(memo, unlocked);
  const forget = (): void => {
    if (byStore.get(memo) === unlocked) byStore.delete(memo);
  };
  unlocked.then(forget, forget);
  return unlocked;
}

async function readMasterKey(
  store: ObjectStore,
  root: string,
  password: string,
  options: OpenOptions,
): Promise<UnlockedRepository> {
  const layout = new RepositoryLayout(root);
  const sealedConfig = await getIfExists(store, layout.config, options);
  if (sealedConfig === undefined) {
    const keysWithoutConfig = await hasAny(store, layout, 'keys', options);
    throw new RepositoryError(
      'NoRepository',
      keysWithoutConfig
        ? `${layout.config} is missing, though ${layout.directory('keys')} holds key files`
        : `there is no restic repository at ${layout.root || 'the bucket root'} (no config file)`,
      keysWithoutConfig
        ? 'the repository is damaged or only partly copied; restore its config file'
        : 'check the bucket and prefix (and, for KubeStash, the repository path, session and component); run initialize to create the repository',
    );
  }
  if (sealedConfig.length === 0)
    throw new RepositoryError(
      'CorruptConfig',
      `${layout.config} is empty`,
      'restic refuses an empty config file as well',
    );
  const keys = await listKeys(store, layout, options);
  if (keys.length === 0) {
    throw new RepositoryError(
      'NoKey',
      `the repository has a config but no key files under ${layout.directory('keys')}`,
      'without a key file no password can open the repository; if it was just created, another initializer may have failed half way',
    );
  }
  const masterKey = await findMasterKey(store, keys, password, options);
  let config;
  try {
    config = openConfig(sealedConfig, masterKey);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new RepositoryError(
        error.reason,
        `${layout.config}: ${error.message}`,
        error.reason === 'UnsupportedVersion'
          ? 'this repository was written by a newer restic than this function supports'
          : 'the config file is damaged or does not belong to the key files next to it',
      );
    }
    throw error;
  }
  return { layout, masterKey, version: config.version, id: config.id, keyCount: keys.length };
}

/** Opens the repository at `root` with `password` and reports what it holds. */
export async function openRepository(
  store: ObjectStore,
  root: string,
  password: string,
  options: OpenOptions = {},
): Promise<RepositoryInfo> {
  const { layout, masterKey, ...config } = await unlockRepository(store, root, password, options);
  const [snapshots, locks] = await Promise.all([
    listIds(store, layout, 'snapshots', options),
    listIds(store, layout, 'locks', options),
  ]);
  const [snapshotSummary, lockInfos] = await Promise.all([
    readSnapshots(store, snapshots, masterKey, config.version, options),
    readLocks(store, locks, masterKey, config.version, options),
  ]);
  return {
    path: layout.root,
    version: config.version,
    id: config.id,
    keyCount: config.keyCount,
    snapshotCount: snapshots.length,
    newestSnapshotTime: snapshotSummary.newest?.toISOString(),
    unreadableSnapshots: snapshotSummary.unreadable,
    snapshotsRead: snapshotSummary.read,
    locks: lockInfos,
    lockCount: locks.length,
  };
}

/**
 * Creates a repository at `root`, or opens the one already there (also one a concurrent initializer
 * just created). Never overwrites or deletes anything.
 */
export async function initRepository(
  store: ObjectStore,
  root: string,
  password: string,
  options: InitOptions = {},
): Promise<InitResult> {
  const layout = new RepositoryLayout(root);
  const openExisting = async (): Promise<InitResult> => ({
    created: false,
    info: await openRepository(store, root, password, { waitForKeyMs: 5000, ...options }),
  });
  const [existing, hasKeys, hasSnapshots] = await Promise.all([
    getIfExists(store, layout.config, options),
    hasAny(store, layout, 'keys', options),
    hasAny(store, layout, 'snapshots', options),
  ]);
  if (existing !== undefined) return openExisting();
  if (hasKeys || hasSnapshots) {
    // The reads ran side by side: a concurrent initializer may have written its config (always before
    // its key) after our config read answered. A config read issued now sees it.
    if ((await getIfExists(store, layout.config, options)) !== undefined) return openExisting();
    throw new RepositoryError(
      'IncompleteRepository',
      `${layout.root || 'the bucket root'} holds restic ${hasKeys ? 'key' : 'snapshot'} files but no config`,
      'a damaged or partly copied repository is here; it is left untouched. Restore its config, or choose another path',
    );
  }

  // Everything slow happens before the race for `config`, so a winner's key follows its config closely.
  const kdf = options.kdf ?? (await calibratedParams());
  const masterKey = randomMasterKey();
  const config = newConfig(options.version ?? DEFAULT_VERSION);
  const key = await createKeyFile(password, masterKey, kdf, options);

  try {
    await store.put(layout.config, sealConfig(config, masterKey), {
      ifNotExists: true,
      contentType: 'application/octet-stream',
      signal: options.signal,
    });
  } catch (error) {
    if (isAlreadyExists(error)) return openExisting();
    throw error;
  }
  try {
    await store.put(layout.file('keys', key.id), key.bytes, {
      ifNotExists: true,
      contentType: 'application/octet-stream',
      signal: options.signal,
    });
  } catch (error) {
    const message = isStorageError(error) ? error.message : 'unexpected error';
    throw new RepositoryError(
      'IncompleteRepository',
      `the config was written but its key file could not be: ${message}`,
      'the repository cannot be opened without a key; delete its config file and initialize again',
    );
  }
  if (hasDirectories(store)) await makeDirectories(store, layout.directories());
  return {
    created: true,
    kdf,
    info: {
      path: layout.root,
      version: config.version,
      id: config.id,
      keyCount: 1,
      snapshotCount: 0,
      unreadableSnapshots: 0,
      snapshotsRead: 0,
      locks: [],
      lockCount: 0,
    },
  };
}
