/**
 * KubeStash's marker: `<prefix>/metadata.yaml` (BackendMeta). initialize writes it with a conditional
 * create and never rewrites it; an existing one that describes this storage (or that KubeStash wrote
 * itself) is accepted, one that another storage wrote is a Conflict, and a prefix holding foreign data
 * but no metadata.yaml is refused unless the request says `options.adopt`.
 */
import { isAlreadyExists } from '../../backends/errors.js';
import { joinKey, type ListPage } from '../../backends/object-store.js';
import { METADATA_FILE, ownerOf, parseBackendMeta, renderBackendMeta } from '../../layout/kubestash.js';
import { ConditionType, KubeStashReason } from '../../status/conditions.js';
import { attempt, isProbeKey, type Outcome } from '../probes.js';
import type { MarkerScope, StorageMarker } from './marker.js';

type MetadataRead = Outcome<Uint8Array>;

function metadataKey(scope: MarkerScope): string {
  return joinKey(scope.prefix, METADATA_FILE);
}

function readMetadata(scope: MarkerScope): Promise<MetadataRead> {
  const key = metadataKey(scope);
  return attempt(scope.store, 'get', () => scope.store.get(key, { signal: scope.deadline.signal() }), key);
}

function initialized(scope: MarkerScope, message: string): void {
  scope.status.ok(ConditionType.BackendInitialized, KubeStashReason.BackendInitializationSucceeded, message);
}

function notInitialized(scope: MarkerScope, reason: string, message: string, hint?: string): void {
  scope.status.set({ type: ConditionType.BackendInitialized, status: 'False', reason, message, hint });
}

/**
 * Judges an existing metadata.yaml for this storage: sets MetadataValid and BackendInitialized.
 * Returns whether it is acceptable as this storage's marker.
 */
function judgeExisting(scope: MarkerScope, bytes: Uint8Array): boolean {
  const parsed = parseBackendMeta(Buffer.from(bytes).toString('utf8'));
  const key = metadataKey(scope);
  if (!parsed.valid) {
    scope.status.set({
      type: ConditionType.MetadataValid,
      status: 'False',
      reason: 'MetadataCorrupt',
      message: `${key} is not a KubeStash BackendMeta: ${parsed.reason}`,
      hint: `inspect ${key}; it is left untouched. Remove or fix it only if you know nothing else owns this prefix`,
    });
    notInitialized(scope, KubeStashReason.BackendInitializationFailed, `${key} exists but is not valid`);
    return false;
  }
  const self = ownerOf(scope.request.storage);
  if (parsed.owner !== undefined && parsed.owner !== self) {
    scope.status.ok(ConditionType.MetadataValid, 'MetadataValid', `${key} is a valid BackendMeta.`);
    notInitialized(
      scope,
      'Conflict',
      `this prefix was initialized by ${parsed.owner}, not by ${self}`,
      'two BackupStorages must not share a bucket prefix; give this one its own prefix, or, if the other storage no longer exists, initialize under its name',
    );
    return false;
  }
  scope.status.ok(ConditionType.MetadataValid, 'MetadataValid', `${key} is a valid BackendMeta.`);
  return true;
}

export const backendMetaMarker: StorageMarker<MetadataRead> = {
  prefetch: readMetadata,

  async initialize(scope, prefetched, listing) {
    const key = metadataKey(scope);
    const outcomes: Outcome<unknown>[] = [prefetched];
    if (prefetched.ok) {
      if (judgeExisting(scope, prefetched.value))
        initialized(scope, `Backend already initialized: ${key} describes this storage.`);
      return outcomes;
    }
    if (prefetched.error.code !== 'NotFound') {
      notInitialized(
        scope,
        prefetched.error.code,
        `cannot read ${key}: ${prefetched.error.message}`,
        prefetched.error.hint,
      );
      return outcomes;
    }
    const foreign = foreignObjects(listing);
    if (foreign.length > 0 && !scope.request.options.adopt) {
      notInitialized(
        scope,
        'PrefixNotEmpty',
        `the prefix holds data but no ${METADATA_FILE} (for example ${foreign[0]})`,
        'choose an empty prefix, or set options.adopt to initialize over the existing data (nothing is overwritten or deleted)',
      );
      return outcomes;
    }
    const body = Buffer.from(renderBackendMeta(scope.request.storage));
    const created = await attempt(
      scope.store,
      'put',
      () =>
        scope.store.put(key, body, {
          ifNotExists: true,
          contentType: 'application/yaml',
          signal: scope.deadline.signal(),
        }),
      key,
    );
    outcomes.push(created);
    if (created.ok) {
      scope.status.ok(ConditionType.MetadataValid, 'MetadataValid', `${key} written.`);
      initialized(scope, 'Successfully initialized backend.');
      return outcomes;
    }
    if (!isAlreadyExists(created.error)) {
      notInitialized(
        scope,
        created.error.code,
        `cannot write ${key}: ${created.error.message}`,
        created.error.hint,
      );
      return outcomes;
    }
    // Another initializer won the race: accept its marker if it describes this storage.
    const reread = await readMetadata(scope);
    outcomes.push(reread);
    if (reread.ok) {
      if (judgeExisting(scope, reread.value))
        initialized(scope, `Backend initialized by a concurrent call: ${key} describes this storage.`);
    } else {
      notInitialized(
        scope,
        reread.error.code,
        `cannot read ${key} after a concurrent create: ${reread.error.message}`,
        reread.error.hint,
      );
    }
    return outcomes;
  },

  async verify(scope) {
    const read = await readMetadata(scope);
    const key = metadataKey(scope);
    if (read.ok) {
      if (judgeExisting(scope, read.value)) initialized(scope, `${key} describes this storage.`);
    } else if (read.error.code === 'NotFound') {
      const bucketMissing = read.error.subject === 'bucket';
      scope.status.set({
        type: ConditionType.MetadataValid,
        status: 'False',
        reason: 'NotFound',
        message: bucketMissing ? read.error.message : `${key} does not exist`,
        hint: bucketMissing ? read.error.hint : 'run initialize for this storage',
      });
      notInitialized(
        scope,
        KubeStashReason.BackendInitializationFailed,
        `the storage is not initialized (${key} is missing)`,
        'run initialize for this storage',
      );
    } else {
      scope.status.fail(ConditionType.MetadataValid, read.error, `cannot read ${key}`);
      notInitialized(
        scope,
        KubeStashReason.BackendInitializationFailed,
        `cannot read ${key}: ${read.error.message}`,
        read.error.hint,
      );
    }
    return [read];
  },
};

/** Keys under the prefix that are neither our marker nor a probe of ours. */
function foreignObjects(listing: Outcome<ListPage>): string[] {
  if (!listing.ok) return [];
  return [
    ...listing.value.objects
      .map((object) => object.key)
      .filter((key) => !isProbeKey(key) && key.split('/').at(-1) !== METADATA_FILE),
    ...listing.value.prefixes,
  ];
}
