/**
 * Writing restic locks (restic-format.md §5, restic's internal/restic/lock.go): a lock is an unpacked
 * file, JSON `{time, exclusive, hostname, username, pid, uid, gid}` sealed with the master key and named
 * by the SHA-256 of the sealed bytes, under `locks/`. A non-exclusive lock is what every backup holds:
 * it blocks only exclusive operations (prune, check), and restic itself ignores a lock older than 30
 * minutes as stale (`restic unlock` removes it). That makes a short-lived shared lock the one file a
 * writer may put into someone's repository to prove it can write, where nothing foreign may go.
 */
import { hostname as hostName } from 'node:os';
import type { CallOptions, ObjectStore } from '../backends/object-store.js';
import { seal } from './crypto.js';
import { fileId } from './layout.js';
import type { UnlockedRepository } from './repository.js';
import { decodeUnpacked, UnreadableFileError } from './unpacked.js';

export interface LockFields {
  hostname?: string;
  username?: string;
  pid?: number;
}

export interface WrittenLock {
  id: string;
  key: string;
}

/** The sealed bytes of a shared lock taken now, and their ID. Stored uncompressed (valid in v1 and v2). */
export function sealLock(
  repository: Pick<UnlockedRepository, 'masterKey'>,
  fields: LockFields = {},
): { id: string; bytes: Buffer } {
  const plaintext = Buffer.from(
    JSON.stringify({
      time: new Date().toISOString(),
      exclusive: false,
      hostname: fields.hostname ?? hostName(),
      username: fields.username ?? 'backupstorage-functions',
      pid: fields.pid ?? process.pid,
      uid: typeof process.getuid === 'function' ? process.getuid() : 0,
      gid: typeof process.getgid === 'function' ? process.getgid() : 0,
    }),
  );
  const bytes = seal(repository.masterKey, plaintext);
  return { id: fileId(bytes), bytes };
}

/** Puts a shared lock into the repository (create-if-absent: its name is its content's hash). */
export async function writeLock(
  store: ObjectStore,
  repository: UnlockedRepository,
  options: CallOptions & LockFields = {},
): Promise<WrittenLock> {
  const { id, bytes } = sealLock(repository, options);
  const key = repository.layout.file('locks', id);
  await store.put(key, bytes, { signal: options.signal, contentType: 'application/octet-stream' });
  return { id, key };
}

/** Reads a lock back and checks it as restic would (name, MAC, JSON with a time); throws UnreadableFileError. */
export async function verifyLock(
  store: ObjectStore,
  repository: UnlockedRepository,
  lock: WrittenLock,
  options: CallOptions = {},
): Promise<void> {
  const bytes = await store.get(lock.key, { signal: options.signal });
  const decoded = decodeUnpacked(lock.id, bytes, repository.masterKey, repository.version) as {
    time?: unknown;
  };
  if (typeof decoded?.time !== 'string') throw new UnreadableFileError('the lock read back has no time');
}
