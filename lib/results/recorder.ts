/**
 * From an operation's result to what the store remembers, and back: `rememberResult` records it and
 * returns the result with `previousPhase` and `since`. Recording never fails an operation: a store that
 * cannot be written is a warning, and the result goes out without memory (so it is delivered as a
 * transition, never silently held back).
 */
import { parseYamlDocument } from '../config/manifests.js';
import { storageKey } from '../delivery/deliver.js';
import type { OperationResult } from '../status/result.js';
import type { Log } from '../runtime/log.js';
import { notReadyReason } from '../status/conditions.js';
import type {
  ManifestFacts,
  RecordInput,
  RecordOutcome,
  RepositorySummary,
  ResultsStore,
  StorageSource,
} from './store.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** Annotations kubectl keeps for itself: large and of no use to a person reading the console. */
const NOISY_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

function asDocument(storage: unknown): unknown {
  if (typeof storage !== 'string') return storage;
  try {
    return parseYamlDocument(storage, 'storage');
  } catch {
    return undefined;
  }
}

/** Labels, annotations, UID, deletion policy and creation time of a manifest (nothing for other shapes). */
export function manifestFacts(storage: unknown): ManifestFacts | undefined {
  const doc = asDocument(storage);
  if (!isRecord(doc)) return undefined;
  const metadata = isRecord(doc.metadata) ? doc.metadata : undefined;
  const spec = isRecord(doc.spec) ? doc.spec : undefined;
  const facts: ManifestFacts = {};
  if (typeof metadata?.uid === 'string') facts.uid = metadata.uid;
  const labels = stringMap(metadata?.labels);
  if (labels) facts.labels = labels;
  const annotations = stringMap(metadata?.annotations);
  if (annotations) {
    for (const name of NOISY_ANNOTATIONS) delete annotations[name];
    if (Object.keys(annotations).length > 0) facts.annotations = annotations;
  }
  if (typeof metadata?.creationTimestamp === 'string') facts.creationTimestamp = metadata.creationTimestamp;
  const policy = spec?.deletionPolicy ?? (spec?.wipeOut === true ? 'WipeOut' : undefined);
  if (typeof policy === 'string') facts.deletionPolicy = policy;
  return Object.keys(facts).length > 0 ? facts : undefined;
}

/** The storage as given, without what the cluster adds (status, managedFields): enough to run it again. */
export function storageSource(storage: unknown, endpoint?: string): StorageSource {
  const doc = asDocument(storage);
  let kept: unknown = doc;
  if (isRecord(doc)) {
    const { status: _status, ...rest } = doc;
    if (isRecord(rest.metadata)) {
      const {
        managedFields: _managed,
        resourceVersion: _version,
        generation: _generation,
        ...metadata
      } = rest.metadata;
      const annotations = stringMap(metadata.annotations);
      if (annotations) for (const name of NOISY_ANNOTATIONS) delete annotations[name];
      kept = { ...rest, metadata: { ...metadata, ...(annotations ? { annotations } : {}) } };
    } else kept = rest;
  }
  return { storage: kept, ...(endpoint ? { endpoint } : {}) };
}

interface InventoryLike {
  complete?: boolean;
  totalBytes?: number;
  repositories?: RepositorySummary[];
}

function inventoryOf(result: OperationResult): RecordInput['inventory'] {
  const report = result.inventory as InventoryLike | undefined;
  if (!report?.complete || !report.repositories) return undefined;
  const repositories = report.repositories.map((repository) => {
    const summary: RepositorySummary = {
      name: repository.name,
      namespace: repository.namespace,
      path: repository.path,
      bytes: repository.bytes,
      size: repository.size,
      snapshotCount: repository.snapshotCount,
      synced: repository.synced,
    };
    if (repository.newestSnapshotTime) summary.newestSnapshotTime = repository.newestSnapshotTime;
    if (repository.error) summary.error = repository.error;
    return summary;
  });
  return { totalBytes: report.totalBytes ?? repositories.reduce((sum, r) => sum + r.bytes, 0), repositories };
}

export interface RememberOptions {
  eventId: string;
  /** The storage as the request or the fleet gave it. */
  storage?: unknown;
  endpoint?: string;
  log: Log;
}

/** The record of an operation's result. */
export function recordInputOf(result: OperationResult, options: Omit<RememberOptions, 'log'>): RecordInput {
  const why = notReadyReason(result.status);
  const input: RecordInput = {
    key: storageKey(result.storage),
    eventId: options.eventId,
    at: result.status.lastValidationTime,
    operation: result.operation,
    phase: result.status.phase,
    storage: result.storage,
    conditions: result.status.conditions,
    ...(why ? { reason: why.reason, message: why.message } : {}),
  };
  if (options.storage !== undefined) {
    const facts = manifestFacts(options.storage);
    if (facts) input.manifest = facts;
    input.source = storageSource(options.storage, options.endpoint);
  }
  const inventory = inventoryOf(result);
  if (inventory) input.inventory = inventory;
  return input;
}

/** Records `input`; undefined (and a warning) when the store fails. */
export async function recordSafely(
  store: ResultsStore | undefined,
  input: RecordInput,
  log: Log,
): Promise<RecordOutcome | undefined> {
  if (!store) return undefined;
  try {
    return await store.record(input);
  } catch (error) {
    log.warn('result not recorded', {
      store: store.description,
      storage: input.key,
      error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'error',
    });
    return undefined;
  }
}

/** Records the result and returns it knowing its previous phase; unchanged when there is no store. */
export async function rememberResult(
  store: ResultsStore | undefined,
  result: OperationResult,
  options: RememberOptions,
): Promise<OperationResult> {
  const outcome = await recordSafely(store, recordInputOf(result, options), options.log);
  if (!outcome) return result;
  return {
    ...result,
    ...(outcome.entry.previousPhase ? { previousPhase: outcome.entry.previousPhase } : {}),
    since: outcome.record.since,
  };
}
