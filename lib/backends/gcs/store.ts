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
import { createHash } from 'node:crypto';
import { Storage, type File, type FileMetadata } from '@google-cloud/storage';
import type { GcsBackend } from '../../config/backend.js';
import { untilAborted } from '../../runtime/abortable.js';
import { isAlreadyExists, StorageError, type StorageOperation } from '../errors.js';
import type * as Store from '../object-store.js';
import { deleteEach, storeCapabilities } from '../object-store.js';
import { retrying } from '../../runtime/retry.js';
import { guardGlobalAgents } from '../../net/endpoint-guard.js';
import { clientSettings, PROJECT_SECRET, type GcsAuthMode, type GcsClientSettings } from './auth.js';
import { gcsError } from './errors.js';

const PROVIDER = 'gcs';
/** restic's default for `gs.connections`, which KubeStash's maxConnections sets. */
const DEFAULT_MAX_CONNECTIONS = 5;
const PAGE_LIMIT = 1000;

function objectInfo(key: string, metadata: FileMetadata): Store.ObjectInfo {
  const updated = metadata.updated ?? metadata.timeCreated;
  return {
    key,
    size: Number(metadata.size ?? 0),
    lastModified: updated ? new Date(updated) : undefined,
    etag: metadata.etag,
    contentMd5: metadata.md5Hash,
  };
}

export class GcsStore implements Store.ObjectStore {
  readonly provider = PROVIDER;
  readonly capabilities = storeCapabilities(DEFAULT_MAX_CONNECTIONS, {
    conditionalWrites: true,
    putReturnsChecksum: true,
  });
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
      // untilAborted only stops waiting: a call started under a fired signal would still reach the server.
      signal?.throwIfAborted();
      return await untilAborted(run(), signal);
    } catch (error) {
      throw this.#map(error, operation, key);
    }
  }

  #map(error: unknown, operation: StorageOperation, key?: string): StorageError {
    return gcsError(error, {
      operation,
      key,
      bucket: this.#bucketName,
      mode: this.mode,
      secrets: this.#secrets,
    });
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
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

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
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

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    const [metadata] = await this.#call('stat', key, options.signal, () => this.#file(key).getMetadata());
    return objectInfo(key, metadata);
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
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

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
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

  #upload(file: File, body: Uint8Array, options: Store.PutOptions): Promise<FileMetadata> {
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

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
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

  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    await this.#call('delete', key, options.signal, () => this.#file(key).delete({ ignoreNotFound: true }));
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    // The SDK has no batch endpoint.
    await deleteEach(this, keys, options);
  }

  async close(): Promise<void> {
    // The SDK keeps no per-client sockets (its agents are pooled module-wide); nothing to release.
  }
}

export async function createStore(
  backend: GcsBackend,
  context: Store.StoreContext,
): Promise<Store.ObjectStore> {
  // The SDK (and its token requests) connect through Node's global agents: guard them.
  guardGlobalAgents();
  const settings = clientSettings(context.credentials, context.endpoint);
  return new GcsStore(backend.bucket, settings);
}
