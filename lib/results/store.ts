/**
 * Memory of results (docs/console.md): per storage, the latest status and a history of checks and phase
 * transitions. Two implementations share this contract (lib/results/file-store.ts for workstations,
 * lib/results/dynamodb-store.ts for deployed stages) and one algorithm (lib/results/record.ts): each
 * storage's events are applied one at a time, each at the next version number, so concurrent writers
 * never lose a transition and a repeated event id is recorded once.
 */
import type { Phase } from '../status/conditions.js';
import type { Condition } from '../status/conditions.js';
import type { StorageIdentity } from '../status/identity.js';

/** What the manifest said besides the backend, for the console's Basic section. */
export interface ManifestFacts {
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionPolicy?: string;
  creationTimestamp?: string;
}

/** One repository under a storage, as the last complete inventory saw it. */
export interface RepositorySummary {
  name: string;
  namespace: string;
  path: string;
  bytes: number;
  size: string;
  snapshotCount: number;
  newestSnapshotTime?: string;
  synced: boolean;
  error?: string;
}

/**
 * How to run the storage again (the console's "Check now"): the storage as it was given (a manifest,
 * never a secret value), and its endpoint override.
 */
export interface StorageSource {
  storage: unknown;
  endpoint?: string;
}

/** One event to remember: an operation's outcome for one storage. */
export interface RecordInput {
  /** storageKey(): `<namespace>/<name>`, or the normalized identity of a bare backend. */
  key: string;
  /** Idempotency: a second record with the same id changes nothing. */
  eventId: string;
  /** ISO time the result was produced. */
  at: string;
  operation: string;
  phase: Phase;
  /** Why not Ready: the first failing condition's reason. */
  reason?: string;
  message?: string;
  storage?: StorageIdentity;
  conditions?: Condition[];
  manifest?: ManifestFacts;
  source?: StorageSource;
  /** Present only from a complete inventory; a check without inventory keeps the last one. */
  inventory?: { totalBytes: number; repositories: RepositorySummary[] };
}

/** A bar segment of the list's uptime strip. */
export interface RecentCheck {
  at: string;
  phase: Phase;
}

/** What the list page needs of a storage: small, so a list of 10,000 stays cheap to read. */
export interface StorageSummary {
  key: string;
  /** From the identity; `` for a bare backend. */
  namespace: string;
  name: string;
  provider: string;
  phase: Phase;
  /** When the current phase began. */
  since: string;
  previousPhase?: Phase;
  lastChecked: string;
  lastOperation: string;
  reason?: string;
  message?: string;
  totalBytes?: number;
  repositoryCount?: number;
  creationTimestamp?: string;
  /** Oldest first, at most RECENT_LIMIT. */
  recent: RecentCheck[];
  version: number;
}

/** Everything remembered of a storage's latest state. */
export interface StorageRecord extends StorageSummary {
  storage?: StorageIdentity;
  conditions: Condition[];
  manifest?: ManifestFacts;
  source?: StorageSource;
  repositories?: RepositorySummary[];
  /** The last RECENT_EVENT_IDS event ids, for idempotency. */
  eventIds: string[];
}

/** One line of a storage's history: every recorded event, transitions flagged. */
export interface HistoryEntry {
  key: string;
  version: number;
  eventId: string;
  at: string;
  operation: string;
  phase: Phase;
  /** Absent for the first event of a storage. */
  previousPhase?: Phase;
  /** The first event, or a phase different from the previous one. */
  transition: boolean;
  reason?: string;
  message?: string;
}

export interface RecordOutcome {
  record: StorageRecord;
  entry: HistoryEntry;
  /** The event id was already recorded: nothing changed, `entry` is the original. */
  duplicate: boolean;
}

export interface ListOptions {
  /** Only storages whose namespace passes (the caller's grants). */
  namespaces?: (namespace: string) => boolean;
}

export interface ResultsStore {
  /** A name for logs and the console footer (`file:/tmp/…`, `dynamodb:table`). */
  readonly description: string;
  record(input: RecordInput): Promise<RecordOutcome>;
  get(key: string): Promise<StorageRecord | undefined>;
  /** Every storage's summary, in no particular order. */
  list(options?: ListOptions): Promise<StorageSummary[]>;
  /** Newest first. */
  history(key: string, options?: { limit?: number; transitionsOnly?: boolean }): Promise<HistoryEntry[]>;
  close?(): Promise<void>;
}

/** Checks kept for the uptime strip. */
export const RECENT_LIMIT = 30;
/** Event ids kept for idempotency: a redelivery after this many newer events of the same storage records again. */
export const RECENT_EVENT_IDS = 100;

/** The summary part of a record (what list() returns). */
export function summaryOf(record: StorageRecord): StorageSummary {
  const summary: StorageSummary = {
    key: record.key,
    namespace: record.namespace,
    name: record.name,
    provider: record.provider,
    phase: record.phase,
    since: record.since,
    lastChecked: record.lastChecked,
    lastOperation: record.lastOperation,
    recent: record.recent,
    version: record.version,
  };
  if (record.previousPhase) summary.previousPhase = record.previousPhase;
  if (record.reason !== undefined) summary.reason = record.reason;
  if (record.message !== undefined) summary.message = record.message;
  if (record.totalBytes !== undefined) summary.totalBytes = record.totalBytes;
  if (record.repositoryCount !== undefined) summary.repositoryCount = record.repositoryCount;
  if (record.creationTimestamp !== undefined) summary.creationTimestamp = record.creationTimestamp;
  return summary;
}
