/**
 * Backblaze B2 over its native API, with `backblaze-b2`. Stash's `b2 {bucket, prefix, maxConnections}`
 * with B2_ACCOUNT_ID (an application key id, or the account id for the master key) and B2_ACCOUNT_KEY.
 *
 * - Application keys restricted to one bucket (and a name prefix) work: the bucket comes from the
 *   authorize answer's `allowed`, so such a key never lists buckets (B2 refuses an unfiltered
 *   b2_list_buckets for it: restic#1907, rclone#2923); an unrestricted key lists with a bucketName
 *   filter. A key restricted to another bucket or prefix than the config names is PermissionDenied
 *   with a hint naming what it allows.
 * - The token is reused while the function is warm (auth.ts) and the key authorized
 *   again once when B2 answers expired_auth_token.
 * - `maxConnections` (default 5, `capabilities.connections`) bounds the calls in flight, applied where
 *   the store is opened (../connection-limit.ts).
 * - B2 has no conditional upload; `ifNotExists` keeps its one-winner guarantee with the version scheme
 *   described at `#settleCreate`. `conditionalWrites` is false.
 * - delete removes every version of the name (B2 keeps all versions; a hide marker would leave the data
 *   billed and visible to version listings, and restic expects removed files gone): by the file ids the
 *   store's own uploads returned when it wrote the name, else after listing the name's versions.
 * - B2 verifies the SHA-1 sent with each upload and answers with it: `put` returns it as `contentSha1`
 *   (`putReturnsChecksum`), so check's write probe needs no read-back.
 * - Round trips (bench/RESULTS.md): the bucket id and a pool of upload URLs are kept beside the token
 *   while warm (caches.ts), and a name this store uploaded is deleted by the file ids its uploads
 *   returned, without listing its versions. A warm check is a PUT then a DELETE.
 *
 * `backblaze-b2` keeps one axios instance module-wide (each `new B2()` replaces it), so this adapter
 * never relies on how that instance was configured: the deadline signal and the retry policy travel
 * with every request. axios-retry is off on every request; passing faults (resets, 408/429/5xx) are
 * retried here instead (retry.ts), per operation: authorize, lookups, listings, downloads, upload URLs
 * and version deletes are idempotent; an upload is retried on a fresh upload URL as B2 asks, and a
 * name whose upload may have landed unseen is deleted by listing its versions; a bucket create is
 * retried only when the failure proves B2 did not act on it.
 */
import { createHash } from 'node:crypto';
import B2 from 'backblaze-b2';
import type { B2Backend } from '../../config/backend.js';
import {
  authorization,
  authorizeUrlFor,
  credentialIdentity,
  describeAllowed,
  scopeProblem,
  type B2Authorization,
} from './auth.js';
import {
  cachedBucketId,
  forgetBucketId,
  rememberBucketId,
  returnUploadTarget,
  takeUploadTarget,
  type UploadTarget,
} from './caches.js';
import { b2FailureOf, b2RetryAfterOf, b2Error, type B2ErrorContext } from './errors.js';
import { settleAll } from '../../runtime/concurrency.js';
import { rememberBounded } from '../../runtime/memo.js';
import {
  alreadyExists,
  deleteIdempotently,
  isMissingObject,
  missingBucket,
  StorageError,
  type StorageOperation,
} from '../errors.js';
import type * as Store from '../object-store.js';
import { deleteEach, md5HexToBase64, storeCapabilities } from '../object-store.js';
import { provesNotProcessed, retrying } from '../../runtime/retry.js';
import { sleep } from '../../runtime/deadline.js';
import { guardGlobalAgents, storageAgents } from '../../net/endpoint-guard.js';

const PROVIDER = 'b2';
const DEFAULT_MAX_CONNECTIONS = 5;
const DEFAULT_PAGE = 1000;
/** b2_list_file_names / b2_list_file_versions accept at most this many per call. */
const MAX_PAGE = 10_000;
/** See #settleCreate: B2's upload timestamps have millisecond resolution. */
const SETTLE_MS = 5;
/** Names whose uploads' file ids one store remembers for delete (a check uploads one, initialize a few). */
const MAX_UPLOADED_NAMES = 1000;

interface B2File {
  fileId: string | null;
  fileName: string;
  action: string;
  contentLength: number;
  contentSha1?: string | null;
  contentMd5?: string | null;
  uploadTimestamp: number;
}

function files(data: unknown): { files: B2File[]; nextFileName: string | null; nextFileId: string | null } {
  const body = (data ?? {}) as { files?: unknown; nextFileName?: unknown; nextFileId?: unknown };
  return {
    files: Array.isArray(body.files) ? (body.files as B2File[]) : [],
    nextFileName: typeof body.nextFileName === 'string' ? body.nextFileName : null,
    nextFileId: typeof body.nextFileId === 'string' ? body.nextFileId : null,
  };
}

/** An upload failure after which B2 may hold a version whose file id this store never learnt. */
function mayHaveStored(error: unknown, mapped: StorageError): boolean {
  if (provesNotProcessed(mapped)) return false;
  const answered = b2FailureOf(error);
  return !answered || answered.status === 408 || answered.status >= 500;
}

export class B2Store implements Store.ObjectStore {
  readonly provider = PROVIDER;
  readonly capabilities = storeCapabilities(DEFAULT_MAX_CONNECTIONS, { putReturnsChecksum: true });
  readonly location: string;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #client: B2;
  readonly #keyId: string;
  readonly #key: string;
  readonly #authorizeUrl: string;
  /** Keys the caches in caches.ts (bucket ids, upload URLs); a hash, no key material. */
  readonly #identity: string;
  #lookup: Promise<string | undefined> | undefined;
  /** File ids of the versions this store uploaded, per name, oldest first: delete needs no listing. */
  readonly #uploaded = new Map<string, string[]>();
  /** Names with an upload attempt that failed after it may have stored a version this store never saw. */
  readonly #uncertain = new Set<string>();

  constructor(options: { bucket: string; prefix?: string; keyId: string; key: string; endpoint?: string }) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.location = options.bucket;
    this.#keyId = options.keyId;
    this.#key = options.key;
    this.#authorizeUrl = authorizeUrlFor(options.endpoint);
    this.#identity = credentialIdentity(this.#authorizeUrl, options.keyId, options.key);
    this.#client = new B2({
      applicationKeyId: options.keyId,
      applicationKey: options.key,
      retry: { retries: 0 },
    });
  }

  /**
   * Per-request axios settings: the deadline, no hidden retries (a retried POST is not idempotent),
   * and the guarded storage agents, so the authorize URL and the API, download and upload URLs B2
   * hands back connect only where the endpoint guard (and ENDPOINT_ALLOWED_HOSTS) allows.
   */
  #axios(signal: AbortSignal | undefined): Record<string, unknown> {
    const agents = storageAgents();
    return { signal, 'axios-retry': { retries: 0 }, httpAgent: agents.http, httpsAgent: agents.https };
  }

  #context(
    operation: StorageOperation,
    extra: Partial<B2ErrorContext> = {},
    auth?: B2Authorization,
  ): B2ErrorContext {
    return {
      operation,
      secrets: [this.#key, this.#keyId],
      allowedText: auth ? describeAllowed(auth.allowed) : undefined,
      ...extra,
    };
  }

  async #authorize(
    operation: StorageOperation,
    signal: AbortSignal | undefined,
    stale?: string,
  ): Promise<B2Authorization> {
    try {
      const auth = await retrying(
        () =>
          authorization(
            {
              client: this.#client,
              authorizeUrl: this.#authorizeUrl,
              keyId: this.#keyId,
              key: this.#key,
              axios: this.#axios(signal),
            },
            stale,
          ).catch((error: unknown) =>
            Promise.reject(b2Error(error, this.#context(operation, { authorizing: true }))),
          ),
        { signal, idempotent: true, retryAfterOf: b2RetryAfterOf },
      );
      // The cached authorization may come from another store's client.
      this.#client.authorizationToken = auth.authorizationToken;
      this.#client.apiUrl = auth.apiUrl;
      this.#client.downloadUrl = auth.downloadUrl;
      this.#client.accountId = auth.accountId;
      return auth;
    } catch (error) {
      throw b2Error(error, this.#context(operation, { authorizing: true }));
    }
  }

  /**
   * One API request under the connection bound, authorized, mapped through the error table. On
   * expired_auth_token the key is authorized again and the request repeated, once. Passing faults are
   * retried (retry.ts); `idempotent: false` only where a repeat could answer differently.
   */
  async #call<T>(
    operation: StorageOperation,
    signal: AbortSignal | undefined,
    request: (client: B2, axios: Record<string, unknown>, auth: B2Authorization) => Promise<T>,
    extra: Partial<B2ErrorContext> = {},
    idempotent = true,
  ): Promise<T> {
    let auth = await this.#authorize(operation, signal);
    let renewed = false;
    return retrying(
      async () => {
        for (;;) {
          try {
            return await request(this.#client, this.#axios(signal), auth);
          } catch (error) {
            if (!renewed && b2FailureOf(error)?.code === 'expired_auth_token') {
              renewed = true;
              auth = await this.#authorize(operation, signal, auth.authorizationToken);
              continue;
            }
            throw this.#noteMissingBucket(b2Error(error, this.#context(operation, extra, auth)));
          }
        }
      },
      { signal, idempotent, retryAfterOf: b2RetryAfterOf },
    );
  }

  /**
   * The bucket id, from the key's own restriction when it has one, else from the warm cache, else a
   * bucketName-filtered listing. The key's scope is checked every time (its authorization is cached).
   */
  async #resolveBucket(
    operation: StorageOperation,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    // Concurrent first calls share one lookup; a miss or failure is not remembered.
    this.#lookup ??= this.#lookupBucket(operation, signal).finally(() => {
      this.#lookup = undefined;
    });
    return this.#lookup;
  }

  async #lookupBucket(
    operation: StorageOperation,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const auth = await this.#authorize(operation, signal);
    const problem = scopeProblem(auth.allowed, this.#bucket, this.#prefix);
    if (problem) {
      throw new StorageError({
        code: 'PermissionDenied',
        provider: PROVIDER,
        operation,
        message: problem,
        hint: `the key allows ${describeAllowed(auth.allowed)}; use a key for bucket "${this.#bucket}" covering the prefix "${this.#prefix}", or point the storage at what the key allows`,
      });
    }
    // A key restricted to a deleted bucket was refused by scopeProblem: a restriction names a live bucket.
    if (auth.allowed.bucketId) return auth.allowed.bucketId;
    const cached = cachedBucketId(this.#identity, this.#bucket);
    if (cached) return cached;
    const response = await this.#call(
      operation,
      signal,
      (client, axios) => client.getBucket({ bucketName: this.#bucket, axios }),
      {
        notFoundSubject: 'bucket',
      },
    );
    const buckets =
      ((response.data ?? {}) as { buckets?: { bucketId?: string; bucketName?: string }[] }).buckets ?? [];
    const found = buckets.find((bucket) => bucket.bucketName === this.#bucket)?.bucketId;
    if (found) rememberBucketId(this.#identity, this.#bucket, found);
    return found;
  }

  /** A bucket B2 no longer knows by its cached id is looked up again by the next call. */
  #noteMissingBucket(error: StorageError): StorageError {
    if (error.code === 'NotFound' && error.subject === 'bucket') forgetBucketId(this.#identity, this.#bucket);
    return error;
  }

  #missingBucket(operation: StorageOperation, key?: string): StorageError {
    return missingBucket(
      PROVIDER,
      { operation, key },
      `B2 bucket "${this.#bucket}"`,
      'create the bucket in the Backblaze console, or call initialize with options.createBucket (needs a key with writeBuckets that is not restricted to a bucket)',
    );
  }

  async #bucketIdFor(
    operation: StorageOperation,
    signal: AbortSignal | undefined,
    key?: string,
  ): Promise<string> {
    const id = await this.#resolveBucket(operation, signal);
    if (!id) throw this.#missingBucket(operation, key);
    return id;
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
    return (await this.#resolveBucket('bucketExists', options.signal)) !== undefined;
  }

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
    if (await this.bucketExists(options)) {
      throw alreadyExists(PROVIDER, { bucket: `B2 bucket "${this.#bucket}"` });
    }
    try {
      // Not idempotent: a repeat after a create whose answer was lost would say duplicate_bucket_name.
      const response = await this.#call(
        'createBucket',
        options.signal,
        (client, axios) => client.createBucket({ bucketName: this.#bucket, bucketType: 'allPrivate', axios }),
        {},
        false,
      );
      const id = ((response.data ?? {}) as { bucketId?: string }).bucketId;
      if (id) rememberBucketId(this.#identity, this.#bucket, id);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'AlreadyExists') {
        // B2 bucket names are global: a name taken by another account is not this storage's bucket.
        if (await this.bucketExists(options)) throw error;
        throw new StorageError({
          code: 'InvalidConfig',
          provider: PROVIDER,
          operation: 'createBucket',
          message: `the B2 bucket name "${this.#bucket}" is taken by another account`,
          hint: 'B2 bucket names are unique across all accounts; choose another bucket name',
          cause: error,
        });
      }
      throw error;
    }
  }

  /** The newest visible version of one name, or undefined. */
  async #visible(
    bucketId: string,
    key: string,
    operation: StorageOperation,
    signal: AbortSignal | undefined,
  ): Promise<B2File | undefined> {
    const response = await this.#call(
      operation,
      signal,
      (client, axios) =>
        client.listFileNames({ bucketId, startFileName: key, prefix: key, maxFileCount: 1, axios }),
      { key },
    );
    return files(response.data).files.find((file) => file.fileName === key && file.action === 'upload');
  }

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    const bucketId = await this.#bucketIdFor('stat', options.signal, key);
    const file = await this.#visible(bucketId, key, 'stat', options.signal);
    if (!file) {
      throw new StorageError({
        code: 'NotFound',
        subject: 'object',
        provider: PROVIDER,
        operation: 'stat',
        key,
        message: `${key} does not exist`,
      });
    }
    return {
      key,
      size: file.contentLength,
      lastModified: new Date(file.uploadTimestamp),
      contentMd5: md5HexToBase64(file.contentMd5),
    };
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
    await this.#bucketIdFor('get', options.signal, key);
    const response = await this.#call(
      'get',
      options.signal,
      (client, axios) =>
        client.downloadFileByName({
          bucketName: this.#bucket,
          fileName: key,
          responseType: 'arraybuffer',
          axios,
        }),
      { key, notFoundSubject: 'object' },
    );
    const data = response.data;
    if (Buffer.isBuffer(data)) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw new StorageError({
      code: 'Unknown',
      provider: PROVIDER,
      operation: 'get',
      key,
      message: 'B2 download returned no binary body',
    });
  }

  /** A free upload URL for the bucket: from the warm pool, else a fresh one from b2_get_upload_url. */
  async #uploadTarget(bucketId: string, key: string, signal: AbortSignal | undefined): Promise<UploadTarget> {
    const pooled = takeUploadTarget(this.#identity, bucketId);
    if (pooled) return pooled;
    const response = await this.#call(
      'put',
      signal,
      (client, axios) => client.getUploadUrl({ bucketId, axios }),
      { key, notFoundSubject: 'bucket' },
    );
    const { uploadUrl, authorizationToken } = (response.data ?? {}) as Partial<UploadTarget>;
    if (typeof uploadUrl !== 'string' || typeof authorizationToken !== 'string') {
      throw new StorageError({
        code: 'Unknown',
        provider: PROVIDER,
        operation: 'put',
        key,
        message: 'b2_get_upload_url answered without uploadUrl or authorizationToken',
      });
    }
    return { uploadUrl, authorizationToken };
  }

  /**
   * Uploads one version on a free upload URL (`first`, when the caller fetched one ahead). Passing
   * faults (broken connection, 408, 429, 5xx) are retried on a fresh upload URL, as B2 asks; a 401 (the
   * upload URL's token) once. A URL goes back to the pool only after an upload on it succeeded. A
   * failure that may have stored a version (anything but a refused connection or a 429) marks the name
   * uncertain, so delete lists its versions instead of trusting the file ids it knows.
   */
  async #upload(
    bucketId: string,
    key: string,
    body: Buffer,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
    first?: Promise<UploadTarget>,
  ): Promise<B2File> {
    const sha1 = createHash('sha1').update(body).digest('hex');
    return retrying(
      async (attempt) => {
        const target = await (attempt === 0 && first ? first : this.#uploadTarget(bucketId, key, signal));
        try {
          const response = await this.#client.uploadFile({
            uploadUrl: target.uploadUrl,
            uploadAuthToken: target.authorizationToken,
            fileName: key,
            data: body,
            hash: sha1,
            mime: contentType ?? 'b2/x-auto',
            axios: this.#axios(signal),
          });
          returnUploadTarget(this.#identity, bucketId, target);
          return response.data as B2File;
        } catch (error) {
          const mapped = this.#noteMissingBucket(b2Error(error, this.#context('put', { key })));
          if (mayHaveStored(error, mapped)) this.#uncertain.add(key);
          throw mapped;
        }
      },
      {
        signal,
        idempotent: true,
        retryAfterOf: b2RetryAfterOf,
        retryError: (error, attempt) =>
          attempt === 0 && error instanceof StorageError && b2FailureOf(error.cause)?.status === 401
            ? true
            : undefined,
      },
    );
  }

  /** Remembers the versions of a name this store uploaded (or saw under its own), so delete needs no listing. */
  #rememberUpload(key: string, fileIds: (string | null)[]): void {
    const known = fileIds.filter((fileId): fileId is string => !!fileId);
    if (known.length === 0) return;
    const merged = [...new Set([...(this.#uploaded.get(key) ?? []), ...known])];
    rememberBounded(this.#uploaded, key, merged, MAX_UPLOADED_NAMES);
  }

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
    const { signal } = options;
    const bucketId = await this.#bucketIdFor('put', signal, key);
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let first: Promise<UploadTarget> | undefined;
    if (options.ifNotExists) {
      // The upload URL is fetched beside the existence check, not after it.
      first = this.#uploadTarget(bucketId, key, signal);
      const [visible, target] = await Promise.allSettled([
        this.#visible(bucketId, key, 'put', signal),
        first,
      ]);
      if (visible.status === 'rejected') {
        if (target.status === 'fulfilled') returnUploadTarget(this.#identity, bucketId, target.value);
        throw visible.reason;
      }
      if (visible.value) {
        if (target.status === 'fulfilled') returnUploadTarget(this.#identity, bucketId, target.value);
        throw alreadyExists(PROVIDER, { key });
      }
    }
    const uploaded = await this.#upload(bucketId, key, data, options.contentType, signal, first);
    this.#rememberUpload(
      key,
      options.ifNotExists ? await this.#settleCreate(bucketId, key, uploaded, signal) : [uploaded.fileId],
    );
    const sha1 = uploaded.contentSha1?.toLowerCase();
    return {
      contentMd5: md5HexToBase64(uploaded.contentMd5),
      // "none" for large files, "unverified:…" for uploads sent without a checksum: not a checksum.
      contentSha1: sha1 && /^[0-9a-f]{40}$/.test(sha1) ? sha1 : undefined,
    };
  }

  /**
   * Create-if-absent without server support. B2 keeps every version of a name with the millisecond it
   * was uploaded and lists versions of a name strongly consistently, so after uploading its own version
   * each creator lists the name's live versions (those newer than its newest hide marker) and the
   * earliest one wins: smallest (uploadTimestamp, fileId). Every other creator deletes its own version
   * and gets AlreadyExists, so once the losers are done the winner's version is the only one (until
   * then a download by name may return a loser's content, which describes the same storage).
   *
   * Why everyone agrees: a creator pauses SETTLE_MS after its upload answered before listing, so its
   * listing reaches B2 at a later millisecond than its own upload. A version it cannot see was therefore
   * uploaded later and carries a larger timestamp: a creator that sees itself earliest is earliest of
   * all, and a creator that sees an earlier version is not. Equal timestamps only occur between versions
   * that every later listing shows, where the fileId decides the same way for all. (The residual risk
   * is clock skew between B2's own servers, which B2 does not document; the existence check before the
   * upload keeps the window to creators that started at the same moment.)
   */
  async #settleCreate(
    bucketId: string,
    key: string,
    mine: B2File,
    signal: AbortSignal | undefined,
  ): Promise<string[]> {
    await sleep(SETTLE_MS, signal).catch((error: unknown) =>
      Promise.reject(b2Error(error, this.#context('put', { key }))),
    );
    const versions = await this.#versions(bucketId, key, 'put', signal);
    const newestHide = versions.findIndex((version) => version.action === 'hide');
    const live = (newestHide < 0 ? versions : versions.slice(0, newestHide)).filter(
      (version) => version.action === 'upload',
    );
    const earliest = live.reduce<B2File | undefined>(
      (best, version) =>
        !best ||
        version.uploadTimestamp < best.uploadTimestamp ||
        (version.uploadTimestamp === best.uploadTimestamp && (version.fileId ?? '') < (best.fileId ?? ''))
          ? version
          : best,
      undefined,
    );
    if (earliest?.fileId === mine.fileId) {
      // The winner's name: its version, and the hidden versions and hide markers below it (the losers'
      // live versions are their own to delete), so delete needs no listing.
      const hidden = newestHide < 0 ? [] : versions.slice(newestHide);
      return [
        mine.fileId as string,
        ...hidden.flatMap((version) => (version.fileId ? [version.fileId] : [])),
      ];
    }
    try {
      await this.#call(
        'put',
        signal,
        (client, axios) => client.deleteFileVersion({ fileId: mine.fileId as string, fileName: key, axios }),
        { key },
      );
    } catch (error) {
      // Gone already: a retried delete whose first attempt removed it (its answer lost).
      if (isMissingObject(error)) throw alreadyExists(PROVIDER, { key });
      const cause = error as StorageError;
      throw new StorageError({
        code: cause.code,
        provider: PROVIDER,
        operation: 'put',
        key,
        message: `${key} was created concurrently, and this caller's extra version could not be removed: ${cause.message}`,
        hint: `remove the newest version of ${key} (file id ${mine.fileId}) so the first one is served again`,
        cause: error,
      });
    }
    throw alreadyExists(PROVIDER, { key });
  }

  /** Every version of one name, newest first (all pages). */
  async #versions(
    bucketId: string,
    key: string,
    operation: StorageOperation,
    signal: AbortSignal | undefined,
  ): Promise<B2File[]> {
    const found: B2File[] = [];
    let startFileName = key;
    let startFileId: string | undefined;
    for (;;) {
      const response = await this.#call(
        operation,
        signal,
        (client, axios) =>
          // backblaze-b2 does not pass `prefix`; it travels in the request body through axiosOverride.
          client.listFileVersions({
            bucketId,
            startFileName,
            startFileId,
            maxFileCount: DEFAULT_PAGE,
            axios,
            axiosOverride: { data: { prefix: key } },
          }),
        { key },
      );
      const page = files(response.data);
      const ofKey = page.files.filter((file) => file.fileName === key);
      found.push(...ofKey);
      if (ofKey.length < page.files.length || page.nextFileName !== key || !page.nextFileId) return found;
      startFileName = page.nextFileName;
      startFileId = page.nextFileId;
    }
  }

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    const bucketId = await this.#bucketIdFor('list', options.signal, prefix);
    const maxFileCount = Math.min(MAX_PAGE, Math.max(1, options.limit ?? DEFAULT_PAGE));
    const response = await this.#call(
      'list',
      options.signal,
      (client, axios) =>
        client.listFileNames({
          bucketId,
          prefix,
          delimiter: options.delimiter,
          startFileName: options.pageToken,
          maxFileCount,
          axios,
        }),
      { key: prefix, notFoundSubject: 'bucket' },
    );
    const page = files(response.data);
    const objects: Store.ObjectInfo[] = [];
    const prefixes: string[] = [];
    for (const file of page.files) {
      if (file.action === 'folder') prefixes.push(file.fileName);
      else if (file.action === 'upload') {
        objects.push({
          key: file.fileName,
          size: file.contentLength,
          lastModified: new Date(file.uploadTimestamp),
          contentMd5: md5HexToBase64(file.contentMd5),
        });
      }
    }
    return { objects, prefixes, nextPageToken: page.nextFileName ?? undefined };
  }

  /**
   * Removes every version of the name. A name this store uploaded is deleted by the file ids its uploads
   * returned (and, for a create-if-absent, the hidden versions its version listing saw), without listing
   * it again; any other name's versions are listed first. Not seen that way: versions someone else
   * uploads under a name this store wrote with a plain put. Nothing here does that (plain puts are
   * probes with unique names; everything else is created with ifNotExists).
   */
  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    const { signal } = options;
    // A name with an upload that may have landed unseen is listed: its versions may be more than known.
    const own = this.#uncertain.has(key) ? undefined : this.#uploaded.get(key);
    const fileIds =
      own ??
      (await this.#versions(await this.#bucketIdFor('delete', signal, key), key, 'delete', signal)).map(
        (version) => version.fileId as string,
      );
    await settleAll(fileIds, (fileId) => this.#deleteVersion(key, fileId, signal));
    if (own && this.#uploaded.get(key) === own) this.#uploaded.delete(key);
    if (!own) {
      this.#uploaded.delete(key);
      this.#uncertain.delete(key);
    }
  }

  async #deleteVersion(key: string, fileId: string, signal: AbortSignal | undefined): Promise<void> {
    // A version removed meanwhile by someone else is deleted all the same.
    await deleteIdempotently(() =>
      this.#call(
        'delete',
        signal,
        (client, axios) => client.deleteFileVersion({ fileId, fileName: key, axios }),
        { key },
      ),
    );
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    await deleteEach(this, keys, options);
  }

  /** Nothing to release: sockets, the token, bucket ids and upload URLs stay warm for the next invocation. */
  async close(): Promise<void> {
    this.#uploaded.clear();
    this.#uncertain.clear();
  }
}

function requireSecret(context: Store.StoreContext, name: 'B2_ACCOUNT_ID' | 'B2_ACCOUNT_KEY'): string {
  const value = context.credentials.reveal(name)?.trim();
  if (!value) {
    throw new StorageError({
      code: 'InvalidConfig',
      provider: PROVIDER,
      operation: 'connect',
      message: `the storage secret has no ${name}`,
      hint: 'a B2 secret holds B2_ACCOUNT_ID (the application key id, or the account id for the master key) and B2_ACCOUNT_KEY',
    });
  }
  return value;
}

/** No network here: the key is authorized on the first call, so its failures are that call's status. */
export async function createStore(
  backend: B2Backend,
  context: Store.StoreContext,
): Promise<Store.ObjectStore> {
  // Every request carries the storage agents (#axios); the global agents are guarded too, as a backstop.
  guardGlobalAgents();
  return new B2Store({
    bucket: backend.bucket,
    prefix: backend.prefix,
    keyId: requireSecret(context, 'B2_ACCOUNT_ID'),
    key: requireSecret(context, 'B2_ACCOUNT_KEY'),
    endpoint: context.endpoint,
  });
}
