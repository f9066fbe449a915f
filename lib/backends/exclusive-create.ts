/**
 * Create-if-absent for stores whose server does not enforce it (s3rver ignores `If-None-Match: *`,
 * Swift's s3api answers 501, B2 has no conditional upload), built from plain PUT, HEAD, LIST and DELETE
 * on a store whose listings are strongly consistent (read-after-write for new keys and for deletes).
 *
 * The scheme: creators of `dir/name` announce themselves with claim objects under
 * `dir/.backupstorage-claims-name/<random id>`.
 *
 *  1. If `dir/name` exists, the creator lost (AlreadyExists).
 *  2. If another live claim is listed, it waits and starts again from 1 (it never competes with a claim
 *     it can see). Otherwise it writes its own claim and lists the claims again.
 *  3. Alone: it re-checks `dir/name` (after the listing) and writes it, then removes its claim.
 *  4. Not alone: the smallest claim id is the one winner-to-be. Every other creator removes its own claim
 *     and goes back to 1; the smallest keeps its claim and lists again until it is alone.
 *
 * Safety rests on step 3 alone: a creator writes only after a listing that showed no claim but its own.
 * Of two creators A and B, whichever listed second (say B) listed after A's claim was written, so B saw
 * it, unless A had already removed it; A removes its claim only after writing `dir/name`, so B's re-check,
 * which follows B's listing, sees the object. Step 4 only makes progress deterministic (the smallest id
 * wins instead of everyone backing off), and step 2 keeps waiting creators from disturbing the winner.
 *
 * A creator that dies leaves its claim behind; claims older than STALE_CLAIM_MS are ignored, and a
 * creator gives up (without writing) once it has held its own claim for HOLD_LIMIT_MS, far below that,
 * so a claim considered stale can no longer lead to a write. Claims live beside the object, so
 * prefix-scoped credentials cover them; adapters hide `isClaimKey` keys from their listings.
 */
import { randomUUID } from 'node:crypto';
import { StorageError } from './errors.js';
import { joinKey, type PutResult } from './object-store.js';

/** Every key this scheme writes has a segment starting with this marker. */
export const CLAIM_MARKER = '.backupstorage-claim';
export const STALE_CLAIM_MS = 10 * 60_000;
export const HOLD_LIMIT_MS = 2 * 60_000;
const MAX_ROUNDS = 400;

/** True for claim objects (and capability probes named with `claimSiblingKey`): internal, never listed. */
export function isClaimKey(key: string): boolean {
  return key.split('/').some((segment) => segment.startsWith(CLAIM_MARKER));
}

/** A reserved key next to `key` (same directory, so the same permissions), for an adapter's own probes. */
export function claimSiblingKey(key: string, purpose: string): string {
  const slash = key.lastIndexOf('/');
  return joinKey(slash < 0 ? '' : key.slice(0, slash), `${CLAIM_MARKER}-${purpose}-${randomUUID()}`);
}

export interface ClaimEntry {
  key: string;
  lastModified?: Date;
}

/** The plain operations the scheme needs, each already bound to the caller's deadline. */
export interface ExclusiveCreateIo {
  provider: string;
  exists(key: string): Promise<boolean>;
  /** Unconditional write. */
  write(key: string, body: Uint8Array): Promise<PutResult>;
  /** Every key under a prefix (all pages), unfiltered. */
  listAll(prefix: string): Promise<ClaimEntry[]>;
  remove(key: string): Promise<void>;
  /** Removal that must happen even after the deadline passed (own claim cleanup). */
  removeAfterDeadline(key: string): Promise<void>;
  signal?: AbortSignal;
}

function alreadyExists(io: ExclusiveCreateIo, key: string): StorageError {
  return new StorageError({
    code: 'AlreadyExists',
    subject: 'object',
    provider: io.provider,
    operation: 'put',
    key,
    message: `${key} already exists`,
  });
}

function sleep(io: ExclusiveCreateIo, key: string, ms: number): Promise<void> {
  const { signal } = io;
  const expired = (): StorageError =>
    new StorageError({
      code: 'Timeout',
      provider: io.provider,
      operation: 'put',
      key,
      message: `the deadline passed while waiting for a concurrent creator of ${key}`,
      hint: 'another initialize may be running on the same prefix; retry once it has finished',
    });
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(expired());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(expired());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Jittered, growing pause between rounds: 10 ms doubling up to 400 ms. */
function pause(round: number): number {
  const base = Math.min(400, 10 * 2 ** Math.min(round, 6));
  return base / 2 + Math.random() * base;
}

export async function createExclusively(
  io: ExclusiveCreateIo,
  key: string,
  body: Uint8Array,
): Promise<PutResult> {
  const slash = key.lastIndexOf('/');
  const dir = slash < 0 ? '' : key.slice(0, slash);
  const claimDir = `${joinKey(dir, `${CLAIM_MARKER}s-${key.slice(slash + 1)}`)}/`;
  const ownClaim = `${claimDir}${randomUUID()}`;
  let claimedAt: number | undefined;

  const liveOthers = (claims: ClaimEntry[], now: Date): ClaimEntry[] =>
    claims.filter(
      (claim) =>
        claim.key !== ownClaim &&
        !(claim.lastModified && now.getTime() - claim.lastModified.getTime() > STALE_CLAIM_MS),
    );

  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round > 0) await sleep(io, key, pause(round));
      if (await io.exists(key)) throw alreadyExists(io, key);

      if (claimedAt === undefined) {
        // Step 2: never compete with a claim we can see.
        if (liveOthers(await io.listAll(claimDir), new Date()).length > 0) continue;
        await io.write(ownClaim, new Uint8Array(0));
        claimedAt = Date.now();
      }

      const claims = await io.listAll(claimDir);
      const mine = claims.find((claim) => claim.key === ownClaim);
      // The server's clock (our claim's timestamp) judges staleness where we can.
      const others = liveOthers(claims, mine?.lastModified ?? new Date());
      if (Date.now() - claimedAt > HOLD_LIMIT_MS) break;

      if (mine && others.length === 0) {
        // Step 3: alone; re-check after the listing, then write.
        if (await io.exists(key)) throw alreadyExists(io, key);
        return await io.write(key, body);
      }
      // Step 4: only the smallest claim stays.
      if (!mine || others.some((claim) => claim.key < ownClaim)) {
        await io.remove(ownClaim);
        claimedAt = undefined;
      }
    }
  } finally {
    if (claimedAt !== undefined) await io.removeAfterDeadline(ownClaim).catch(() => undefined);
  }
  throw new StorageError({
    code: 'Unavailable',
    provider: io.provider,
    operation: 'put',
    key,
    retryable: true,
    message: `could not create ${key} exclusively: other creators kept competing`,
    hint: 'another initialize may be running on the same prefix; retry',
  });
}
