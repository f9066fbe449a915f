/**
 * Create-if-absent for stores whose server does not enforce it (s3rver ignores `If-None-Match: *`,
 * Swift's s3api answers 501, Swift's own check is not atomic), built from plain PUT, LIST and DELETE on
 * a store whose listings are strongly consistent: a listing shows every object whose write completed
 * before it started and none whose delete completed before it started.
 *
 * The scheme: creators of `dir/name` announce themselves with claim objects beside it,
 * `dir/name.backupstorage-claim-<random id>`, so that one listing of the prefix `dir/name` (delimiter
 * `/`) shows both whether `dir/name` exists and every claim on it. Each round starts with that listing.
 *
 *  0. The first round begins with writing a claim, without a listing first: callers create what they
 *     have just found absent, so the object rarely exists and a listing first is rarely worth its round
 *     trip. Every later round starts with the listing.
 *  1. If `dir/name` is listed, the creator lost (AlreadyExists).
 *  2. Holding no claim: if another live claim is listed, it waits and starts again from 1 (it never
 *     competes with a claim it can see). Otherwise it writes its own claim and lists again (and applies
 *     1 to that listing).
 *  3. Alone in a listing made after its claim was written (its own claim listed, no other live claim,
 *     no `dir/name`): it writes `dir/name`, then removes its claim.
 *  4. Not alone: the smallest claim id is the one winner-to-be. Every other creator removes its own claim
 *     and goes back to 1; the smallest keeps its claim and lists again until it is alone.
 *
 * Safety rests on step 3 alone: a creator writes only right after a listing, made while it held a claim,
 * that showed no other live claim and no `dir/name`. Of two writers A and B, let B be the one whose
 * deciding listing started second. A's claim was written before A's deciding listing, so before B's,
 * and A keeps it until after its write of `dir/name`. So B's listing showed A's claim (B does not write),
 * or A had removed it, which A does only after writing `dir/name`, and then B's listing showed
 * `dir/name` (B does not write either). Because the same listing answers both questions, no separate
 * existence check is needed after it; a check made beside it (in parallel) would not do, as it may be
 * answered before the listing. Step 4 only makes progress deterministic (the smallest id wins instead
 * of everyone backing off), and step 2 keeps waiting creators from disturbing the winner.
 *
 * A creator that dies leaves its claim behind; claims older than STALE_CLAIM_MS are ignored, and a
 * creator gives up (without writing) once it has held its own claim for HOLD_LIMIT_MS, far below that,
 * so a claim considered stale can no longer lead to a write. Claims live beside the object, so
 * prefix-scoped credentials cover them; adapters hide `isClaimKey` keys from their listings.
 *
 * Without contention a create costs 4 sequential requests: PUT claim, list, PUT, DELETE claim.
 */
import { randomUUID } from 'node:crypto';
import { alreadyExists, StorageError } from './errors.js';
import {
  joinKey,
  type CallOptions,
  type ListOptions,
  type ListPage,
  type PutResult,
} from './object-store.js';
import { sleep } from '../runtime/deadline.js';

/** Every key this scheme writes has a segment starting with this marker. */
export const CLAIM_MARKER = '.backupstorage-claim';
export const STALE_CLAIM_MS = 10 * 60_000;
export const HOLD_LIMIT_MS = 2 * 60_000;
const MAX_ROUNDS = 400;

/** Joins a key and a random id into the name of a claim on that key. */
const CLAIM_SUFFIX = `${CLAIM_MARKER}-`;

/** True for claim objects (and capability probes named with `claimSiblingKey`): internal, never listed. */
export function isClaimKey(key: string): boolean {
  return key.split('/').some((segment) => segment.includes(CLAIM_MARKER));
}

/** The prefix every claim on `key` starts with. */
export function claimPrefix(key: string): string {
  return `${key}${CLAIM_SUFFIX}`;
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
  /** Unconditional write. */
  write(key: string, body: Uint8Array): Promise<PutResult>;
  /**
   * Every object key starting with `prefix` (all pages), unfiltered; with a delimiter, only those with
   * no delimiter after the prefix (folded prefixes are left out).
   */
  listAll(prefix: string, delimiter?: '/'): Promise<ClaimEntry[]>;
  remove(key: string): Promise<void>;
  /** Removal that must happen even after the deadline passed (own claim cleanup). */
  removeAfterDeadline(key: string): Promise<void>;
  signal?: AbortSignal;
}

/** A claim's own removal may take this long once the caller's deadline has passed. */
const CLEANUP_TIMEOUT_MS = 10_000;

/** What a store lends the scheme: its plain write, its page listing as the server gives it, its delete. */
export interface ClaimingStore {
  provider: string;
  signal?: AbortSignal;
  write(key: string, body: Uint8Array): Promise<PutResult>;
  /** One page, claim objects included. */
  listPage(prefix: string, options: ListOptions): Promise<ListPage>;
  delete(key: string, options: CallOptions): Promise<void>;
}

/** The scheme's operations over a store's own. */
export function claimIo(store: ClaimingStore): ExclusiveCreateIo {
  const { signal } = store;
  return {
    provider: store.provider,
    signal,
    write: (key, body) => store.write(key, body),
    listAll: async (prefix, delimiter) => {
      const entries: ClaimEntry[] = [];
      let pageToken: string | undefined;
      do {
        const page = await store.listPage(prefix, { signal, pageToken, delimiter });
        entries.push(...page.objects.map(({ key, lastModified }) => ({ key, lastModified })));
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
      return entries;
    },
    remove: (key) => store.delete(key, { signal }),
    removeAfterDeadline: (key) => store.delete(key, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) }),
  };
}

/** Refuses a caller's write into the claim namespace: it could pose as another creator's claim. */
export function refuseClaimKey(provider: string, key: string): void {
  if (!isClaimKey(key)) return;
  throw new StorageError({
    code: 'InvalidConfig',
    provider,
    operation: 'put',
    key,
    message: `key "${key}" uses a name reserved for create-if-absent claims`,
  });
}

/** A page as callers see it: claim objects are the scheme's own and never listed. */
export function withoutClaims(page: ListPage): ListPage {
  return {
    objects: page.objects.filter((object) => !isClaimKey(object.key)),
    prefixes: page.prefixes.filter((folded) => !isClaimKey(folded)),
    ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}),
  };
}

/** Waits `ms` between rounds; the deadline ending the wait is a Timeout naming the contended key. */
function pauseFor(io: ExclusiveCreateIo, key: string, ms: number): Promise<void> {
  return sleep(ms, io.signal).catch(() => {
    throw new StorageError({
      code: 'Timeout',
      provider: io.provider,
      operation: 'put',
      key,
      message: `the deadline passed while waiting for a concurrent creator of ${key}`,
      hint: 'another initialize may be running on the same prefix; retry once it has finished',
    });
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
  const claims = claimPrefix(key);
  const ownClaim = `${claims}${randomUUID()}`;
  let claimedAt: number | undefined;

  /** One listing: whether `key` exists, and the claims on it. */
  const survey = async (): Promise<ClaimEntry[]> => {
    const entries = await io.listAll(key, '/');
    if (entries.some((entry) => entry.key === key)) throw alreadyExists(io.provider, { key });
    return entries.filter((entry) => entry.key.startsWith(claims));
  };
  const liveOthers = (listed: ClaimEntry[], now: Date): ClaimEntry[] =>
    listed.filter(
      (claim) =>
        claim.key !== ownClaim &&
        !(claim.lastModified && now.getTime() - claim.lastModified.getTime() > STALE_CLAIM_MS),
    );

  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let listed: ClaimEntry[];
      if (round === 0) {
        // The first claim goes out before any listing: callers create what they have just seen absent,
        // so a first survey would nearly always be a wasted round trip (safety rests on step 3 alone).
        await io.write(ownClaim, new Uint8Array(0));
        claimedAt = Date.now();
        listed = await survey();
      } else {
        await pauseFor(io, key, pause(round));
        listed = await survey();
        if (claimedAt === undefined) {
          // Step 2: never compete with a claim we can see.
          if (liveOthers(listed, new Date()).length > 0) continue;
          await io.write(ownClaim, new Uint8Array(0));
          claimedAt = Date.now();
          listed = await survey();
        }
      }

      const mine = listed.find((claim) => claim.key === ownClaim);
      // The server's clock (our claim's timestamp) judges staleness where we can.
      const others = liveOthers(listed, mine?.lastModified ?? new Date());
      if (Date.now() - claimedAt > HOLD_LIMIT_MS) break;

      // Step 3: alone, and the same listing showed no `key`.
      if (mine && others.length === 0) return await io.write(key, body);
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
