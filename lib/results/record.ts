/**
 * The one recording algorithm both stores run (lib/results/store.ts). A storage's events form a log
 * numbered 1, 2, 3…: a writer claims the next number by creating that history item if absent (the
 * store's conditional create), then moves the latest record to it with a write conditioned on the
 * version it read. Whoever finds a claimed number ahead of the latest record finishes that move first
 * (the claim carries the record it leads to), so a writer that died between the two steps never blocks
 * the storage, and every event, hence every transition, lands exactly once in the serial order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  RECENT_EVENT_IDS,
  RECENT_LIMIT,
  type HistoryEntry,
  type RecordInput,
  type RecordOutcome,
  type StorageRecord,
} from './store.js';

/** A claimed history item: the event, and the latest record it leads to. */
export interface Claim {
  entry: HistoryEntry;
  record: StorageRecord;
}

/** The few conditional primitives a store provides; lib/results/record.ts does the rest. */
export interface VersionedLog {
  readLatest(key: string): Promise<StorageRecord | undefined>;
  /** Creates the history item at `claim.entry.version` if it does not exist; false when it does. */
  claim(claim: Claim): Promise<boolean>;
  readClaim(key: string, version: number): Promise<Claim | undefined>;
  /** Replaces the latest record if its version is still `expected` (0: none yet); false otherwise. */
  writeLatest(record: StorageRecord, expected: number): Promise<boolean>;
}

/** Far more than any real contention (50 writers on one storage take about 50 rounds each at worst). */
const MAX_ROUNDS = 2000;

export class RecordConflictError extends Error {
  override name = 'RecordConflictError';
}

/** `<namespace>/<name>` keys give both; other keys (bare backends) have no namespace. */
function nameOf(input: RecordInput): { namespace: string; name: string } {
  if (input.storage?.name)
    return { namespace: input.storage.namespace ?? 'default', name: input.storage.name };
  const match = /^([a-z0-9][-a-z0-9.]*)\/([^/]+)$/.exec(input.key);
  if (match) return { namespace: match[1] as string, name: match[2] as string };
  return { namespace: '', name: input.key };
}

/** The record after `input`, at version `version`, and its history entry. */
export function applyEvent(previous: StorageRecord | undefined, input: RecordInput, version: number): Claim {
  const changed = !previous || previous.phase !== input.phase;
  const entry: HistoryEntry = {
    key: input.key,
    version,
    eventId: input.eventId,
    at: input.at,
    operation: input.operation,
    phase: input.phase,
    transition: changed,
  };
  if (previous) entry.previousPhase = previous.phase;
  if (input.reason !== undefined) entry.reason = input.reason;
  if (input.message !== undefined) entry.message = input.message;

  const { namespace, name } = nameOf(input);
  const manifest = input.manifest ?? previous?.manifest;
  const inventory = input.inventory;
  const record: StorageRecord = {
    key: input.key,
    namespace,
    name,
    provider: input.storage?.provider ?? previous?.provider ?? 'unknown',
    phase: input.phase,
    since: changed ? input.at : (previous?.since ?? input.at),
    lastChecked: input.at,
    lastOperation: input.operation,
    recent: [...(previous?.recent ?? []), { at: input.at, phase: input.phase }].slice(-RECENT_LIMIT),
    version,
    conditions: input.conditions ?? [],
    eventIds: [...(previous?.eventIds ?? []), input.eventId].slice(-RECENT_EVENT_IDS),
  };
  if (previous) record.previousPhase = previous.phase;
  if (input.reason !== undefined) record.reason = input.reason;
  if (input.message !== undefined) record.message = input.message;
  const storage = input.storage ?? previous?.storage;
  if (storage) record.storage = storage;
  if (manifest) record.manifest = manifest;
  if (manifest?.creationTimestamp) record.creationTimestamp = manifest.creationTimestamp;
  const source = input.source ?? previous?.source;
  if (source) record.source = source;
  const repositories = inventory?.repositories ?? previous?.repositories;
  const totalBytes = inventory?.totalBytes ?? previous?.totalBytes;
  if (repositories) {
    record.repositories = repositories;
    record.repositoryCount = repositories.length;
  }
  if (totalBytes !== undefined) record.totalBytes = totalBytes;
  return { entry, record };
}

/** The entry an already-recorded event id produced, for a duplicate's outcome. */
function duplicateOutcome(latest: StorageRecord, claim: Claim | undefined): RecordOutcome {
  const entry: HistoryEntry = claim?.entry ?? {
    key: latest.key,
    version: latest.version,
    eventId: latest.eventIds.at(-1) ?? '',
    at: latest.lastChecked,
    operation: latest.lastOperation,
    phase: latest.phase,
    transition: false,
  };
  return { record: latest, entry, duplicate: true };
}

async function findEntry(
  log: VersionedLog,
  latest: StorageRecord,
  eventId: string,
): Promise<Claim | undefined> {
  // The event is recent (it is in eventIds): look back from the newest for its entry.
  const back = latest.eventIds.length - 1 - latest.eventIds.lastIndexOf(eventId);
  return log.readClaim(latest.key, latest.version - back);
}

/** Records `input` on `log`; a repeated event id returns the original outcome with `duplicate: true`. */
export async function recordEvent(log: VersionedLog, input: RecordInput): Promise<RecordOutcome> {
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const latest = await log.readLatest(input.key);
    const version = latest?.version ?? 0;
    if (latest?.eventIds.includes(input.eventId))
      return duplicateOutcome(latest, await findEntry(log, latest, input.eventId));
    const pending = await log.readClaim(input.key, version + 1);
    if (pending) {
      // Someone claimed the next number and has not (yet) moved the latest record: finish it for them.
      await log.writeLatest(pending.record, version);
      if (pending.entry.eventId === input.eventId) return { ...pending, duplicate: true };
      continue;
    }
    const next = applyEvent(latest, input, version + 1);
    if (await log.claim(next)) {
      // A false here means another writer already finished this same move (the content is identical).
      await log.writeLatest(next.record, version);
      return { ...next, duplicate: false };
    }
    // Lost the race for this number: back off a little, more as contention goes on.
    if (round > 2) await sleep(Math.floor(Math.random() * Math.min(round, 20)));
  }
  throw new RecordConflictError(`could not record ${input.eventId} for ${input.key}: too much contention`);
}
