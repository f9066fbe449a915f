/**
 * Building blocks of check and initialize: run a store call as an outcome (never a throw), derive
 * reachability and authentication from whatever calls ran, and the write probe.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  ERROR_CODES,
  isStorageError,
  StorageError,
  unknownError,
  type ErrorCode,
  type StorageOperation,
} from '../backends/errors.js';
import { joinKey, type ObjectStore } from '../backends/object-store.js';
import { ConditionType, type ConditionInput, type StatusBuilder } from '../status/conditions.js';
import type { Deadline } from '../runtime/deadline.js';
import { verifyLock, writeLock, type WrittenLock } from '../restic/locks.js';
import { RepositoryError, unlockRepository, type UnlockedRepository } from '../restic/repository.js';
import { UnreadableFileError } from '../restic/unpacked.js';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: StorageError };

/** Runs one store call; every failure comes back classified. */
export async function attempt<T>(
  store: Pick<ObjectStore, 'provider'>,
  operation: StorageOperation,
  call: () => Promise<T>,
  key?: string,
): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    const classified = isStorageError(error)
      ? error.withContext({ provider: store.provider, operation, key })
      : unknownError(error, store.provider, operation, key);
    return { ok: false, error: classified };
  }
}

const NETWORK_CODES = new Set(['Unreachable', 'Timeout', 'TlsError']);

/**
 * BackendReachable and BackendAuthenticated from the outcomes of calls that ran side by side: any answer
 * from the server proves it reachable; any answer other than Unauthenticated proves the credentials.
 */
export function recordConnectivity(status: StatusBuilder, outcomes: Outcome<unknown>[]): void {
  if (outcomes.length === 0) return;
  const errors = outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.error]));
  const answered = outcomes.filter((outcome) => outcome.ok || !NETWORK_CODES.has(outcome.error.code));
  if (answered.length === 0) {
    status.fail(ConditionType.BackendReachable, errors[0] as StorageError);
    status.unknown(ConditionType.BackendAuthenticated, 'NotChecked', 'the backend could not be reached');
    return;
  }
  status.ok(ConditionType.BackendReachable, 'Reachable', 'The backend answered.');
  const unauthenticated = errors.find((error) => error.code === 'Unauthenticated');
  if (unauthenticated) status.fail(ConditionType.BackendAuthenticated, unauthenticated);
  else
    status.ok(ConditionType.BackendAuthenticated, 'Authenticated', 'The backend accepted the credentials.');
}

/** Probe objects live directly under the prefix with a reserved name, so nothing (not even a folder) remains. */
export const PROBE_NAME_PREFIX = '.backupstorage-probe-';

export function isProbeKey(key: string): boolean {
  return (key.split('/').at(-1) ?? '').startsWith(PROBE_NAME_PREFIX);
}

export interface ProbeResult {
  key: string;
  verifiedBy: 'checksum' | 'read-back';
}

/**
 * Puts a unique object under the prefix, verifies it (by the checksum the store returns, else by
 * reading it back) and deletes it, always: also when the put or the verification fails or times out.
 * The delete gets its own deadline from `cleanupDeadline`, which runs past the operation's.
 */
export async function writeProbe(
  store: ObjectStore,
  prefix: string,
  deadline: Deadline,
  cleanupDeadline: Deadline,
): Promise<Outcome<ProbeResult>> {
  const key = joinKey(prefix, `${PROBE_NAME_PREFIX}${randomUUID()}`);
  const body = Buffer.concat([Buffer.from('backupstorage-functions write probe\n'), randomBytes(32)]);
  const md5 = createHash('md5').update(body).digest('base64');
  let written: Outcome<ProbeResult>;
  try {
    written = await attempt(
      store,
      'put',
      async () => {
        const result = await store.put(key, body, {
          signal: deadline.signal(),
          contentType: 'application/octet-stream',
        });
        const returned = store.capabilities.putReturnsChecksum
          ? result.contentMd5 !== undefined
            ? result.contentMd5 === md5
            : result.contentSha1 !== undefined
              ? result.contentSha1.toLowerCase() === createHash('sha1').update(body).digest('hex')
              : undefined
          : undefined;
        if (returned === false)
          throw corrupted(store, key, 'the checksum the store returned does not match what was sent');
        if (returned === true) return { key, verifiedBy: 'checksum' as const };
        const readBack = await store.get(key, { signal: deadline.signal() });
        if (!Buffer.from(readBack).equals(body))
          throw corrupted(store, key, 'the object read back differs from what was written');
        return { key, verifiedBy: 'read-back' as const };
      },
      key,
    );
  } finally {
    const removed = await attempt(
      store,
      'delete',
      () => store.delete(key, { signal: cleanupDeadline.signal() }),
      key,
    );
    // Only a probe that was written can be "written but not deleted"; a failed put keeps its own reason
    // (with write-denying credentials, the cleanup delete is refused too).
    if (!removed.ok && (written! === undefined || written.ok)) {
      written = {
        ok: false,
        error: new StorageError({
          code: removed.error.code,
          provider: store.provider,
          operation: 'delete',
          key,
          message: `the probe object could be written but not deleted: ${removed.error.message}`,
          hint: 'restic and KubeStash need delete permission (locks, pruning); grant delete on the prefix, and remove the leftover probe object',
          cause: removed.error,
        }),
      };
    }
  }
  return written!;
}

function corrupted(store: ObjectStore, key: string, message: string): StorageError {
  return new StorageError({
    code: 'Unknown',
    provider: store.provider,
    operation: 'put',
    key,
    message: `write verification failed: ${message}`,
    hint: 'an S3-compatible store that stores aws-chunked framing or mangles bodies corrupts backups; check the gateway or proxy in front of the store',
  });
}

/** A NotFound whose subject is the bucket/container itself. */
export function isBucketMissing(outcome: Outcome<unknown>): outcome is { ok: false; error: StorageError } {
  return !outcome.ok && outcome.error.code === 'NotFound' && outcome.error.subject === 'bucket';
}

/** What a walk over many directories (inventory, cleanup) tells about reachability and authentication. */
export interface WalkRecord {
  fatal?: StorageError;
  /** Listing calls made, failed ones included, and failures recorded per directory. */
  calls: number;
  failed: number;
  fails: readonly { p: string; code: string; message: string }[];
}

/** The walk's calls as outcomes: one success when any listing answered, plus every recorded failure. */
export function walkOutcomes(walk: WalkRecord): Outcome<unknown>[] {
  const outcomes: Outcome<unknown>[] = [];
  if (walk.fatal) outcomes.push({ ok: false, error: walk.fatal });
  if (walk.calls - walk.failed - (walk.fatal ? 1 : 0) > 0) outcomes.push({ ok: true, value: undefined });
  for (const failure of walk.fails) {
    const code = (ERROR_CODES as readonly string[]).includes(failure.code)
      ? (failure.code as ErrorCode)
      : 'Unknown';
    outcomes.push({ ok: false, error: new StorageError({ code, message: failure.message, key: failure.p }) });
  }
  return outcomes;
}

/** A walk that ran out of time before any listing answered: a Timeout, not a partial result. */
export function timedOutBeforeAnswer(type: string): ConditionInput {
  return {
    type,
    status: 'False',
    reason: 'Timeout',
    message: 'the deadline passed before the backend answered any listing',
    hint: 'check that the endpoint answers, then call again with more time (options.timeoutSeconds, the function timeout)',
  };
}

/** Whether the store lets restic delete its files: a Warning when not (append-only REST servers). */
export const DELETABLE_CONDITION = 'BackendDeletable';

/** What a write probe found, as conditions for check. */
export interface ProbeReport {
  /** The probe's own outcome; absent when it was skipped (`writable` says why). */
  outcome?: Outcome<ProbeResult>;
  /** Replaces the BackendWritable condition the outcome would give (a skipped probe). */
  writable?: ConditionInput;
  /** Further conditions (Warning severity). */
  notes: ConditionInput[];
}

const STALE_LOCK_NOTE =
  'restic ignores a lock older than 30 minutes as stale (a shared lock never blocks backups), and `restic unlock` removes it';

/**
 * The write probe of a store that holds only restic's files (a REST server): a real shared restic
 * lock, sealed with the repository's master key, written, read back and decoded as restic would, and
 * deleted. Beside it, a DELETE of a snapshot ID that cannot exist asks whether the server refuses
 * deletes (append-only mode): a Warning, not a broken storage. Without the password, or without a
 * repository the password opens, nothing is written and the probe is skipped with a Warning (the
 * repository's own condition says what is wrong).
 */
export async function resticWriteProbe(
  store: ObjectStore,
  prefix: string,
  password: string | undefined,
  deadline: Deadline,
  cleanupDeadline: Deadline,
): Promise<ProbeReport> {
  const skipped = (message: string, hint?: string): ProbeReport => ({
    writable: {
      type: ConditionType.BackendWritable,
      status: 'Unknown',
      severity: 'Warning',
      reason: 'Skipped',
      message,
      ...(hint ? { hint } : {}),
    },
    notes: [],
  });
  if (password === undefined) {
    return skipped(
      'Write probe skipped: this store holds only restic files, and its probe (a restic lock) needs the repository password, which the storage secret does not have.',
      'put the repository password under RESTIC_PASSWORD in the storage secret',
    );
  }
  let repository: UnlockedRepository;
  try {
    repository = await unlockRepository(store, prefix, password, { signal: deadline.signal() });
  } catch (error) {
    if (error instanceof RepositoryError)
      return skipped(
        `Write probe skipped: no restic lock can be written without an open repository (${error.message}).`,
      );
    const classified = isStorageError(error)
      ? error.withContext({ provider: store.provider, operation: 'get' })
      : unknownError(error, store.provider, 'get');
    return { outcome: { ok: false, error: classified }, notes: [] };
  }

  const impossible = repository.layout.file('snapshots', randomBytes(32).toString('hex'));
  const deletesRefused = attempt(
    store,
    'delete',
    () => store.delete(impossible, { signal: deadline.signal() }),
    impossible,
  );
  let lock: WrittenLock | undefined;
  const written = await attempt(store, 'put', async () => {
    lock = await writeLock(store, repository, { signal: deadline.signal() });
    try {
      await verifyLock(store, repository, lock, { signal: deadline.signal() });
    } catch (error) {
      if (error instanceof UnreadableFileError)
        throw corrupted(store, lock.key, `the restic lock read back does not open: ${error.message}`);
      throw error;
    }
    return { key: lock.key, verifiedBy: 'read-back' as const };
  });
  const notes: ConditionInput[] = [];
  let outcome: Outcome<ProbeResult> = written;
  const refusal = await deletesRefused;
  if (lock) {
    const key = lock.key;
    const removed = await attempt(
      store,
      'delete',
      () => store.delete(key, { signal: cleanupDeadline.signal() }),
      key,
    );
    if (!removed.ok && removed.error.code === 'PermissionDenied') {
      notes.push({
        type: DELETABLE_CONDITION,
        status: 'False',
        severity: 'Warning',
        reason: 'AppendOnly',
        message: `The server refuses deletes (append-only mode), locks included: the probe's shared lock ${key} was left behind; ${STALE_LOCK_NOTE}.`,
        hint: 'backups work; forget, prune and lock removal must run on the server side (or serve the repository without append-only mode)',
      });
    } else if (!removed.ok && written.ok) {
      outcome = {
        ok: false,
        error: new StorageError({
          code: removed.error.code,
          provider: store.provider,
          operation: 'delete',
          key,
          message: `the probe lock could be written but not deleted: ${removed.error.message}`,
          hint: `restic must remove its locks after every backup; ${STALE_LOCK_NOTE}`,
          cause: removed.error,
        }),
      };
    }
  }
  const refused = !refusal.ok && refusal.error.code === 'PermissionDenied';
  if (notes.length === 0 && written.ok && (refused || refusal.ok)) {
    notes.push(
      refused
        ? {
            type: DELETABLE_CONDITION,
            status: 'False',
            severity: 'Warning',
            reason: 'AppendOnly',
            message:
              'The server refuses to delete restic data (append-only mode) but lets restic remove its locks: backups work, nothing can be forgotten or pruned through it.',
            hint: 'run forget and prune on the server side, or serve the repository without append-only mode when that is wanted',
          }
        : {
            type: DELETABLE_CONDITION,
            status: 'True',
            severity: 'Warning',
            reason: 'Deletable',
            message: 'The server lets restic delete files (forget, prune, unlock).',
          },
    );
  }
  return { outcome, notes };
}
