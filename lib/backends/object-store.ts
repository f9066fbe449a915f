/**
 * The one interface every provider implements. It is restic-sized on purpose: what initialize, check,
 * inventory and the restic code need, nothing more. Keys are relative to the bucket/container root
 * (for `local`, to the storage root directory) and use `/` as separator, never a leading `/`.
 */

import type { BackendConfig } from '../config/backend.js';
import type { SecretBag } from '../credentials/secret.js';
import { ConcurrencyLimit, settleAll } from '../runtime/concurrency.js';

export interface CallOptions {
  /** Aborts the call; adapters pass it to their SDK so every network call has a deadline. */
  signal?: AbortSignal;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified?: Date;
  /** Provider's entity tag, when it has one (quotes stripped). */
  etag?: string;
  /** Base64 MD5 of the content, when the provider reports one. */
  contentMd5?: string;
}

export interface PutOptions extends CallOptions {
  /**
   * Create only if no object exists under the key. Exactly one of many concurrent creators succeeds;
   * the others get a StorageError with code AlreadyExists or PreconditionFailed. Adapters whose server
   * ignores or rejects conditional writes implement a fallback that keeps this guarantee and report
   * `capabilities.conditionalWrites = false`.
   */
  ifNotExists?: boolean;
  contentType?: string;
}

export interface PutResult {
  etag?: string;
  /** Base64 MD5 the store computed over what it received; lets a caller verify a write without reading it back. */
  contentMd5?: string;
  /** Hex SHA-1 the store verified the upload against (B2), for the same purpose where no MD5 is returned. */
  contentSha1?: string;
}

export interface ListOptions extends CallOptions {
  /** Continue from a previous page. */
  pageToken?: string;
  /** At most this many entries in the page (the adapter may return fewer). */
  limit?: number;
  /** When set (always `/`), keys below the next separator are folded into `prefixes`. */
  delimiter?: '/';
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Folded "directories", each ending with `/`, when a delimiter was given. */
  prefixes: string[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

export interface StoreCapabilities {
  /** The server itself enforces `ifNotExists` (If-None-Match: *, ifGenerationMatch=0, O_EXCL, …). */
  conditionalWrites: boolean;
  /** `put` returns a content MD5 or SHA-1 the caller can compare against, so a write probe needs no read-back. */
  putReturnsChecksum: boolean;
  /** `deleteMany` removes many keys in one request. */
  batchDelete: boolean;
  /**
   * Calls in flight the store is built for when the storage sets no `maxConnections` (restic's defaults:
   * 5 for GCS and B2). openStore applies the limit once, as a decorator (connection-limit.ts).
   */
  connections: number;
  /**
   * The store holds only restic's own files (`config`, `keys/`, `locks/`, …: a restic REST server), so
   * operations probe with restic files, never a foreign object. Absent: false.
   */
  resticOnly?: boolean;
}

/** A store's capabilities: how many connections it is built for, and what it can do (unnamed: cannot). */
export function storeCapabilities(
  connections: number,
  can: Partial<Omit<StoreCapabilities, 'connections'>> = {},
): StoreCapabilities {
  return { conditionalWrites: false, putReturnsChecksum: false, batchDelete: false, ...can, connections };
}

export interface ObjectStore {
  readonly provider: string;
  /** Bucket/container/root directory this store addresses, for messages and identity. */
  readonly location: string;
  readonly capabilities: StoreCapabilities;

  /** Whether the bucket/container exists. Throws on auth or network failures (never returns false for them). */
  bucketExists(options?: CallOptions): Promise<boolean>;
  /** Creates the bucket/container; AlreadyExists when it is there. */
  createBucket(options?: CallOptions): Promise<void>;

  /** Metadata of one object; NotFound (subject `object`, or `bucket` when the bucket is missing). */
  stat(key: string, options?: CallOptions): Promise<ObjectInfo>;
  /** Whole content of one object. */
  get(key: string, options?: CallOptions): Promise<Uint8Array>;
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<PutResult>;
  /** One page of keys starting with `prefix`, in lexicographic order. A missing bucket is NotFound (subject `bucket`). */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Removes one object. Idempotent: deleting a missing key succeeds. */
  delete(key: string, options?: CallOptions): Promise<void>;
  /** Removes many objects (batched where the provider can). Idempotent like `delete`. */
  deleteMany(keys: readonly string[], options?: CallOptions): Promise<void>;

  /**
   * Optional: learns now, beside the caller's other reads, whatever an `ifNotExists` put into
   * `directory` will need to know (S3: whether the server enforces conditional writes), so that the
   * create adds no round trip of its own. Never throws; a failure leaves the question to the put.
   */
  prepareExclusiveCreate?(directory: string, options?: CallOptions): Promise<void>;

  /**
   * Optional: a store with a directory tree (local) makes directories up front, as `restic init` does
   * for its local backend (lib/restic/local-directories.ts). Existing ones are left as they are.
   */
  makeDirectories?(keys: readonly string[], options?: CallOptions): Promise<void>;

  /** Releases sockets and timers. */
  close(): Promise<void>;
}

/**
 * What opening a store is given besides its backend's configuration. It lives beside the interface, not
 * in the registry, so an adapter imports only the contract and never the module that loads it.
 */
export interface StoreContext {
  credentials: SecretBag;
  /** options.endpoint: overrides or supplies the service endpoint. */
  endpoint?: string;
  /** Bounds the adapter's own set-up calls (token fetches, region discovery). */
  signal?: AbortSignal;
  /** Where the function sees local volumes (an EFS mount in Lambda); see lib/backends/local/store.ts. */
  localVolumeRoot?: string;
  /** LOCAL_SUBPATH_TEMPLATE, expanded with `scope`: keeps tenants apart on a shared volume. */
  localSubPathTemplate?: string;
  /** Deployed stages refuse local storages without LOCAL_VOLUME_ROOT (the caller's mountPath is never trusted there). */
  requireLocalVolumeRoot?: boolean;
  /**
   * The calls in flight the caller will make when the storage sets no `maxConnections` (an inventory
   * walk's workers); otherwise the store's own `capabilities.connections` bounds them.
   */
  connections?: number;
  /** The authorized namespace and tenant of the request (lib/trust/scope.ts). */
  scope?: { namespace: string; tenant?: string };
}

export type StoreFactory<B extends BackendConfig = BackendConfig> = (
  backend: B,
  context: StoreContext,
) => Promise<ObjectStore>;

/** Joins key parts with single slashes, dropping empty parts and stray slashes. */
export function joinKey(...parts: (string | undefined)[]): string {
  return parts
    .filter((part): part is string => part !== undefined && part !== '')
    .join('/')
    .split('/')
    .filter((segment) => segment !== '')
    .join('/');
}

/** A prefix as a key directory: `a/b/` for `a/b`, `` for the root. */
export function asDirectory(prefix: string): string {
  const key = joinKey(prefix);
  return key === '' ? '' : `${key}/`;
}

/** Lists every object under a prefix, page by page, without holding more than one page. */
export async function* listAll(
  store: ObjectStore,
  prefix: string,
  options: Omit<ListOptions, 'pageToken'> = {},
): AsyncGenerator<ObjectInfo> {
  let pageToken: string | undefined;
  do {
    const page = await store.list(prefix, { ...options, pageToken });
    yield* page.objects;
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
}

/** A hex MD5 (an S3 or Swift ETag, B2's contentMd5) as the base64 `contentMd5`; undefined for anything else (multipart or SSE ETags). */
export function md5HexToBase64(hex: string | null | undefined): string | undefined {
  const bare = hex?.replace(/^"|"$/g, '');
  return bare && /^[0-9a-f]{32}$/i.test(bare) ? Buffer.from(bare, 'hex').toString('base64') : undefined;
}

/** How `deleteEach` goes about it. */
export interface DeleteEachOptions {
  /** Deletes in flight at once (default: all; a connection-limited store bounds them itself). */
  width?: number;
  /** Told each key once its delete succeeded, also when others fail (a caller counting what it removed). */
  onDeleted?: (key: string) => void;
}

/**
 * `deleteMany` of a store without batch deletes: one `delete` per key. Every key is tried; the first
 * failure is thrown after all have settled.
 */
export async function deleteEach(
  store: Pick<ObjectStore, 'delete'>,
  keys: readonly string[],
  options: CallOptions = {},
  how: DeleteEachOptions = {},
): Promise<void> {
  const limit = new ConcurrencyLimit(Math.max(1, how.width ?? keys.length));
  await settleAll(keys, async (key) => {
    await limit.run(() => store.delete(key, options));
    how.onDeleted?.(key);
  });
}
