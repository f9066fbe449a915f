/**
 * Google Cloud Storage, through @google-cloud/storage 7.x (the JSON API).
 *
 * Credentials: `GOOGLE_SERVICE_ACCOUNT_JSON_KEY` (the key JSON itself) and `GOOGLE_PROJECT_ID`, as in a
 * KubeStash/Stash storage secret. Without a key the client uses Application Default Credentials
 * (workload identity, the metadata server, GOOGLE_APPLICATION_CREDENTIALS). `options.endpoint` becomes
 * the SDK's `apiEndpoint` (private or sovereign endpoints, emulators). A plain-http endpoint without a key
 * is anonymous, as emulators expect; access tokens never travel in cleartext except to a loopback host.
 *
 * Quirks kept inside this file:
 * - GCS answers 403, not 404, for a missing object when the caller may not list the bucket
 *   (no `storage.objects.list`), so a 403 on stat/get may mean "not found"; it stays PermissionDenied and
 *   the hint says so.
 * - A caller with only object roles (roles/storage.objectAdmin) may not read bucket metadata, so a 403 on
 *   the bucket check falls back to listing one object before it is believed.
 * - Retries: the SDK retries reads, lists, bucket calls and deletes on 408/429/5xx, at most MAX_RETRIES
 *   times within RETRY_TOTAL_SECONDS. Deletes are safe to repeat because a missing key counts as deleted.
 *   Uploads are single multipart requests, which the SDK retries only inside `File.save()`: the
 *   adapter retries them itself (lib/runtime/retry.ts), and a retried `ifGenerationMatch=0` upload
 *   answered 412 is checked against the stored MD5, so our own earlier attempt that landed unseen is
 *   still ours, not a conflict. The strategy is RetryAlways because under RetryConditional 7.x switches
 *   retries off on the client's shared options around each unconditional delete and save, and
 *   concurrent calls (deleteMany, check's parallel probes) can leave them off for good; `File.save()`
 *   is avoided for the same reason (and it takes no abort signal).
 * - The SDK takes no AbortSignal: each call settles when its signal fires (downloads and uploads are also
 *   destroyed), and every HTTP request is bounded by REQUEST_TIMEOUT_MS.
 */
import { createHash, createPrivateKey } from 'node:crypto';
import {
  IdempotencyStrategy,
  Storage,
  type File,
  type FileMetadata,
  type StorageOptions,
} from '@google-cloud/storage';
import type { GcsBackend } from '../../config/backend.js';
import type { SecretBag } from '../../credentials/secret.js';
import { untilAborted } from '../../runtime/abortable.js';
import { sanitizeText } from '../../credentials/redact.js';
import {
  classifyTransportError,
  isAlreadyExists,
  StorageError,
  type StorageErrorInit,
  type StorageOperation,
} from '../errors.js';
import type {
  CallOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
} from '../object-store.js';
import type { StoreContext } from '../object-store.js';
import { retrying } from '../../runtime/retry.js';
import { guardGlobalAgents } from '../../net/endpoint-guard.js';

const PROVIDER = 'gcs';
export const KEY_SECRET = 'GOOGLE_SERVICE_ACCOUNT_JSON_KEY';
export const PROJECT_SECRET = 'GOOGLE_PROJECT_ID';
/** restic's default for `gs.connections`, which KubeStash's maxConnections sets. */
export const DEFAULT_MAX_CONNECTIONS = 5;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RETRIES = 2;
const RETRY_TOTAL_SECONDS = 20;
const PAGE_LIMIT = 1000;

export type GcsAuthMode = 'service-account' | 'application-default' | 'anonymous';

/** The fields of a service-account key the SDK needs; the rest of the JSON is passed through. */
interface ServiceAccountKey {
  type?: string;
  client_email: string;
  private_key: string;
  project_id?: string;
  universe_domain?: string;
  [field: string]: unknown;
}

function invalidConfig(message: string, hint: string): StorageError {
  return new StorageError({ code: 'InvalidConfig', provider: PROVIDER, operation: 'connect', message, hint });
}

const KEY_HINT = `put the service account's JSON key file, unchanged, in the secret as ${KEY_SECRET} (kubectl create secret generic … --from-file=${KEY_SECRET}=key.json), or remove the key to use workload identity`;

/**
 * Parses and checks a service-account key. Every failure names what is wrong and never a part of the
 * key: JSON.parse messages quote the input, so they are not used.
 */
export function parseServiceAccountKey(raw: string): ServiceAccountKey {
  const text = raw.trim();
  if (text === '') throw invalidConfig(`${KEY_SECRET} is empty`, KEY_HINT);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidConfig(`${KEY_SECRET} is not JSON (a base64-encoded or truncated key?)`, KEY_HINT);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidConfig(`${KEY_SECRET} is JSON but not an object`, KEY_HINT);
  }
  const key = parsed as Record<string, unknown>;
  if (key.type !== undefined && key.type !== 'service_account') {
    throw invalidConfig(
      `${KEY_SECRET} is a "${typeof key.type === 'string' ? key.type.slice(0, 40) : typeof key.type}" credential, not a service_account key`,
      KEY_HINT,
    );
  }
  const missing = ['client_email', 'private_key'].filter(
    (field) => typeof key[field] !== 'string' || key[field] === '',
  );
  if (missing.length > 0) throw invalidConfig(`${KEY_SECRET} is missing ${missing.join(' and ')}`, KEY_HINT);
  try {
    createPrivateKey(key.private_key as string);
  } catch {
    throw invalidConfig(`${KEY_SECRET} has a private_key that is not a PEM private key`, KEY_HINT);
  }
  for (const field of ['project_id', 'universe_domain'] as const) {
    if (key[field] !== undefined && typeof key[field] !== 'string')
      throw invalidConfig(`${KEY_SECRET} has a non-string ${field}`, KEY_HINT);
  }
  return key as ServiceAccountKey;
}

/** `options.endpoint` as an API endpoint: an http(s) origin plus optional path, without trailing slash. */
function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalidConfig(
      'options.endpoint is not a URL',
      'give the API endpoint as https://host[:port], e.g. https://storage.googleapis.com',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidConfig(
      `options.endpoint has scheme ${url.protocol} (http or https expected)`,
      'give the API endpoint as https://host[:port]',
    );
  }
  if (url.username || url.password || url.search) {
    throw invalidConfig(
      'options.endpoint must not carry credentials or a query',
      'give the API endpoint as https://host[:port]',
    );
  }
  return url;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

export interface GcsClientSettings {
  mode: GcsAuthMode;
  options: StorageOptions;
  projectId?: string;
  /** Revealed secret values, for scrubbing SDK text. */
  secrets: string[];
}

/** Secret + endpoint → the SDK's options. Throws InvalidConfig for a bad key or endpoint. */
export function clientSettings(credentials: SecretBag, endpoint: string | undefined): GcsClientSettings {
  const rawKey = credentials.reveal(KEY_SECRET);
  const key = rawKey === undefined ? undefined : parseServiceAccountKey(rawKey);
  const projectId = credentials.reveal(PROJECT_SECRET)?.trim() || key?.project_id || undefined;
  const url = endpoint === undefined ? undefined : parseEndpoint(endpoint);
  const plainHttp = url?.protocol === 'http:';
  if (key && plainHttp && !isLoopback(url.hostname)) {
    throw invalidConfig(
      'options.endpoint is plain http: the service account’s access tokens would travel in cleartext',
      'use an https endpoint (a loopback http endpoint is accepted for a local proxy)',
    );
  }
  const mode: GcsAuthMode = key ? 'service-account' : plainHttp ? 'anonymous' : 'application-default';
  const options: StorageOptions = {
    projectId,
    // Authenticate on custom endpoints too (private and sovereign endpoints need it); emulators get none.
    useAuthWithCustomEndpoint: mode !== 'anonymous',
    timeout: REQUEST_TIMEOUT_MS,
    retryOptions: {
      autoRetry: true,
      maxRetries: MAX_RETRIES,
      retryDelayMultiplier: 2,
      maxRetryDelay: 2,
      totalTimeout: RETRY_TOTAL_SECONDS,
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
    userAgent: 'backupstorage-functions',
  };
  if (url) options.apiEndpoint = url.href.replace(/\/+$/, '');
  if (key) {
    options.credentials = key;
    // A key from another universe (sovereign clouds) must be used there; the SDK checks they agree.
    if (key.universe_domain) options.universeDomain = key.universe_domain;
  }
  const secrets = [rawKey, key?.private_key].filter((value): value is string => value !== undefined);
  return { mode, options, projectId, secrets };
}

// ---- the one error table ----------------------------------------------------------------------------

interface GcsFailure {
  status?: number;
  reason?: string;
  message: string;
}

/** Status, first reason and message of an SDK error; media downloads put the raw JSON body in `message`. */
function describeFailure(error: unknown): GcsFailure {
  const err = error as {
    code?: unknown;
    message?: unknown;
    errors?: { reason?: unknown; message?: unknown }[];
  };
  let message = typeof err.message === 'string' ? err.message : '';
  let reason = typeof err.errors?.[0]?.reason === 'string' ? err.errors[0].reason : undefined;
  // HTTP statuses only: DOMException (abort, timeout) has a small legacy numeric `code` too.
  const rawStatus =
    typeof err.code === 'number' ? err.code : typeof err.code === 'string' ? Number(err.code) : NaN;
  let status = Number.isInteger(rawStatus) && rawStatus >= 100 && rawStatus <= 599 ? rawStatus : undefined;
  if (message.startsWith('{')) {
    try {
      const body = JSON.parse(message) as {
        error?: { code?: number; message?: string; errors?: { reason?: string }[] };
      };
      message = body.error?.message ?? message;
      reason = reason ?? body.error?.errors?.[0]?.reason;
      status = status ?? body.error?.code;
    } catch {
      // Not the JSON error body after all; keep the text as it is.
    }
  }
  return { status, reason, message };
}

const OBJECT_OPERATIONS: ReadonlySet<StorageOperation> = new Set(['stat', 'get', 'put', 'delete']);
const MISSING_BUCKET = /bucket does not exist/i;

/**
 * The one table from SDK/HTTP failures to portable codes. `mode` picks the authentication hint;
 * `secrets` are scrubbed from any GCS text that is kept.
 */
export function mapGcsError(
  error: unknown,
  context: {
    operation: StorageOperation;
    key?: string;
    bucket: string;
    mode: GcsAuthMode;
    secrets: readonly string[];
  },
): StorageError {
  if (error instanceof StorageError) return error;
  const { operation, key, bucket, mode } = context;
  const base = { provider: PROVIDER, operation, key, cause: error };
  const failure = describeFailure(error);
  const gcsText = sanitizeText(failure.message, context.secrets);
  const make = (init: Omit<StorageErrorInit, 'provider' | 'operation' | 'key' | 'cause'>): StorageError =>
    new StorageError({ ...base, ...init });
  const authHint =
    mode === 'service-account'
      ? `the service-account key in ${KEY_SECRET} was refused: check that the key and its service account still exist and are enabled`
      : mode === 'application-default'
        ? `no usable Application Default Credentials: bind the function to a Google service account (workload identity) or put a key in the secret as ${KEY_SECRET}`
        : `the endpoint requires credentials: put a service-account key in the secret as ${KEY_SECRET}`;

  // google-auth-library: ADC found nothing, or the token endpoint refused the key.
  if (/could not load the default credentials/i.test(failure.message)) {
    return make({
      code: 'Unauthenticated',
      message: 'no Application Default Credentials were found',
      hint: authHint,
    });
  }
  const grant = (error as { response?: { data?: { error?: unknown } } }).response?.data?.error;
  if (grant === 'invalid_grant' || grant === 'invalid_client' || grant === 'unauthorized_client') {
    return make({
      code: 'Unauthenticated',
      message: `Google refused the service-account key (${grant})`,
      hint: authHint,
    });
  }
  if (/universe domain/i.test(failure.message)) {
    return make({
      code: 'InvalidConfig',
      message: gcsText,
      hint: 'the key’s universe_domain and the endpoint must belong to the same Google Cloud universe',
    });
  }
  // node-fetch timeouts carry a type, not an errno code.
  const fetchType = (error as { type?: unknown }).type;
  if (fetchType === 'request-timeout' || fetchType === 'body-timeout') {
    return make({
      code: 'Timeout',
      message: `a request to GCS took longer than ${REQUEST_TIMEOUT_MS / 1000} s`,
      hint: 'check the network path to the endpoint',
    });
  }
  if (failure.status === undefined) {
    const transport = classifyTransportError(error);
    if (transport) return make(transport);
  }

  switch (failure.status) {
    case 400:
      return make({
        code: 'InvalidConfig',
        message: `GCS rejected the request: ${gcsText}`,
        hint: 'check the bucket name and prefix against GCS naming rules',
      });
    case 401:
      return make({
        code: 'Unauthenticated',
        message: `GCS did not accept the credentials (${failure.reason ?? '401'})`,
        hint: authHint,
      });
    case 403:
      return make({
        code: 'PermissionDenied',
        subject: OBJECT_OPERATIONS.has(operation) ? 'object' : 'bucket',
        message: `access denied: ${gcsText}`,
        hint:
          operation === 'stat' || operation === 'get'
            ? `GCS also answers 403 for an object that does not exist when the caller may not list the bucket, so this may be a missing object; grant roles/storage.objectAdmin (which includes storage.objects.list) on ${bucket} to tell the two apart`
            : `grant the service account roles/storage.objectAdmin on bucket ${bucket} (and roles/storage.admin to create buckets)`,
      });
    case 404:
      if (MISSING_BUCKET.test(failure.message) || !OBJECT_OPERATIONS.has(operation)) {
        return make({
          code: 'NotFound',
          subject: 'bucket',
          message: `bucket ${bucket} does not exist`,
          hint: 'check the bucket name (and the project); initialize with options.createBucket creates it',
        });
      }
      return make({ code: 'NotFound', subject: 'object', message: `${key ?? 'object'} does not exist` });
    case 409:
      return make({
        code: 'AlreadyExists',
        subject: operation === 'createBucket' ? 'bucket' : 'object',
        message:
          operation === 'createBucket'
            ? `bucket ${bucket} already exists (${gcsText})`
            : `${key ?? 'object'} already exists`,
      });
    case 412:
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `${key ?? 'object'} already exists or changed (precondition failed)`,
      });
    case 429:
      return make({
        code: 'RateLimited',
        message: `GCS rate limit (${failure.reason ?? '429'})`,
        hint: 'GCS allows about one write per second to one object and limits bucket operations per project; retry later',
      });
    default:
      if (failure.status !== undefined && failure.status >= 500) {
        return make({
          code: 'Unavailable',
          message: `GCS is unavailable (${failure.status} ${failure.reason ?? ''})`.trim(),
          retryable: true,
          hint: 'a transient GCS failure; retry',
        });
      }
      // node-fetch does not follow a redirect with a streamed upload body; any redirect means the
      // endpoint is not the JSON API itself.
      if (
        (error as { type?: unknown }).type === 'unsupported-redirect' ||
        (failure.status !== undefined && failure.status >= 300 && failure.status < 400)
      ) {
        return make({
          code: 'InvalidConfig',
          message: `the endpoint answered with a redirect during ${operation}`,
          hint: 'point options.endpoint at the GCS JSON API itself, not at a proxy that redirects',
        });
      }
      return make({
        code: 'Unknown',
        message: `unexpected GCS error${failure.status ? ` (${failure.status})` : ''} during ${operation}`,
      });
  }
}

// ---- the store ---------------------------------------------------------------------------------------

function objectInfo(key: string, metadata: FileMetadata): ObjectInfo {
  const updated = metadata.updated ?? metadata.timeCreated;
  return {
    key,
    size: Number(metadata.size ?? 0),
    lastModified: updated ? new Date(updated) : undefined,
    etag: metadata.etag,
    contentMd5: metadata.md5Hash,
  };
}

export class GcsStore implements ObjectStore {
  readonly provider = PROVIDER;
  readonly capabilities = {
    conditionalWrites: true,
    putReturnsChecksum: true,
    batchDelete: false,
    connections: DEFAULT_MAX_CONNECTIONS,
  };
  readonly location: string;
  readonly mode: GcsAuthMode;
  readonly #storage: Storage;
  readonly #bucketName: string;
  readonly #projectId: string | undefined;
  readonly #secrets: string[];

  constructor(bucket: string, settings: GcsClientSettings) {
    this.#bucketName = bucket;
    this.location = `gs://${bucket}`;
    this.mode = settings.mode;
    this.#projectId = settings.projectId;
    this.#secrets = settings.secrets;
    this.#storage = new Storage(settings.options);
  }

  #file(key: string): File {
    return this.#storage.bucket(this.#bucketName).file(key);
  }

  /** Runs one SDK call within the caller's deadline, mapping its failure. */
  async #call<T>(
    operation: StorageOperation,
    key: string | undefined,
    signal: AbortSignal | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await untilAborted(run(), signal);
    } catch (error) {
      throw this.#map(error, operation, key);
    }
  }

  #map(error: unknown, operation: StorageOperation, key?: string): StorageError {
    return mapGcsError(error, {
      operation,
      key,
      bucket: this.#bucketName,
      mode: this.mode,
      secrets: this.#secrets,
    });
  }

  async bucketExists(options: CallOptions = {}): Promise<boolean> {
    try {
      const [exists] = await this.#call('bucketExists', undefined, options.signal, () =>
        this.#storage.bucket(this.#bucketName).exists(),
      );
      return exists;
    } catch (error) {
      // Object-only roles may not read bucket metadata; listing tells whether the bucket is there.
      if (!(error instanceof StorageError) || error.code !== 'PermissionDenied') throw error;
      try {
        await this.list('', { limit: 1, signal: options.signal });
        return true;
      } catch (listError) {
        if (
          listError instanceof StorageError &&
          listError.code === 'NotFound' &&
          listError.subject === 'bucket'
        )
          return false;
        throw error;
      }
    }
  }

  async createBucket(options: CallOptions = {}): Promise<void> {
    if (this.mode === 'anonymous' && !this.#projectId) {
      throw new StorageError({
        code: 'InvalidConfig',
        provider: PROVIDER,
        operation: 'createBucket',
        message: 'creating a bucket needs a project, and none is known',
        hint: `put the project id in the secret as ${PROJECT_SECRET}`,
      });
    }
    await this.#call('createBucket', undefined, options.signal, () =>
      this.#storage.createBucket(this.#bucketName),
    );
  }

  async stat(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
    const [metadata] = await this.#call('stat', key, options.signal, () => this.#file(key).getMetadata());
    return objectInfo(key, metadata);
  }

  async get(key: string, options: CallOptions = {}): Promise<Uint8Array> {
    return this.#call('get', key, options.signal, async () => {
      const stream = this.#file(key).createReadStream();
      const onAbort = (): void => void stream.destroy();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
    });
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const file = this.#file(key);
    // The SDK retries uploads only inside `file.save` (avoided, see the header), so the retries of a
    // passing reset or 5xx are ours. Writing the same bytes again is idempotent; a conditional retry
    // answered 412 may be our own earlier attempt that landed unseen, which the stored MD5 tells.
    const metadata = await retrying(
      async (attempt) => {
        try {
          return await this.#upload(file, body, options);
        } catch (error) {
          if (attempt > 0 && options.ifNotExists && isAlreadyExists(error)) {
            const stored = await this.#storedIfSame(file, body, options.signal);
            if (stored) return stored;
          }
          throw error;
        }
      },
      { signal: options.signal, idempotent: true },
    );
    return { etag: metadata.etag, contentMd5: metadata.md5Hash };
  }

  /** The object's metadata when it holds exactly `body` (by MD5), else undefined. */
  async #storedIfSame(
    file: File,
    body: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<FileMetadata | undefined> {
    const [metadata] = await this.#call('stat', file.name, signal, () => file.getMetadata());
    const ours = createHash('md5').update(body).digest('base64');
    return metadata.md5Hash === ours ? metadata : undefined;
  }

  #upload(file: File, body: Uint8Array, options: PutOptions): Promise<FileMetadata> {
    return this.#call('put', file.name, options.signal, async () => {
      // A multipart upload (one request); the SDK checks the stored CRC32C against what it sent.
      const writable = file.createWriteStream({
        resumable: false,
        metadata: { contentType: options.contentType ?? 'application/octet-stream' },
        preconditionOpts: options.ifNotExists ? { ifGenerationMatch: 0 } : undefined,
      });
      const onAbort = (): void => void writable.destroy();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          writable.once('error', reject).once('finish', resolve);
          writable.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        });
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
      return file.metadata;
    });
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const [files, , response] = await this.#call('list', prefix, options.signal, () =>
      this.#storage.bucket(this.#bucketName).getFiles({
        prefix: prefix === '' ? undefined : prefix,
        delimiter: options.delimiter,
        maxResults: Math.min(PAGE_LIMIT, Math.max(1, options.limit ?? PAGE_LIMIT)),
        pageToken: options.pageToken,
        autoPaginate: false,
      }),
    );
    const page = (response ?? {}) as { prefixes?: string[]; nextPageToken?: string };
    return {
      objects: files.map((file) => objectInfo(file.name, file.metadata)),
      prefixes: page.prefixes ?? [],
      nextPageToken: page.nextPageToken || undefined,
    };
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    await this.#call('delete', key, options.signal, () => this.#file(key).delete({ ignoreNotFound: true }));
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<void> {
    // The connection limit paces these; the SDK has no batch endpoint.
    await Promise.all(keys.map((key) => this.delete(key, options)));
  }

  async close(): Promise<void> {
    // The SDK keeps no per-client sockets (its agents are pooled module-wide); nothing to release.
  }
}

export async function createStore(backend: GcsBackend, context: StoreContext): Promise<ObjectStore> {
  // The SDK (and its token requests) connect through Node's global agents: guard them.
  guardGlobalAgents();
  const settings = clientSettings(context.credentials, context.endpoint);
  return new GcsStore(backend.bucket, settings);
}
