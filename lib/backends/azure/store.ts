/**
 * Azure Blob Storage: a KubeStash `azure {storageAccount, container, prefix, maxConnections}` block or a
 * Stash `azure {container, prefix, maxConnections}` one, over @azure/storage-blob.
 *
 * Account: the spec's `storageAccount` (KubeStash), else the secret's `AZURE_ACCOUNT_NAME` (Stash), else
 * the account a full endpoint URL names. Credentials, first match wins (restic's order): `AZURE_ACCOUNT_KEY`
 * (shared key), `AZURE_ACCOUNT_SAS` (a SAS token), else no secret key at all: DefaultAzureCredential
 * (workload identity, managed identity, AZURE_CLIENT_* environment), imported only then.
 *
 * Endpoint, first match wins: `options.endpoint` as a full URL (`http://127.0.0.1:10000/devstoreaccount1`,
 * Azure Stack, private endpoints); `options.endpoint` as a bare DNS suffix (`core.chinacloudapi.cn`,
 * `core.usgovcloudapi.net`); the secret's `AZURE_ENDPOINT_SUFFIX` (restic's name); the public cloud.
 *
 * Conditional create is the server's: `If-None-Match: *` answers 409 BlobAlreadyExists. Put Blob returns
 * the Content-MD5 the service computed. Every call carries the caller's abort signal; `maxConnections`
 * (default 16, `capabilities.connections`) is applied where the store is opened (../connection-limit.ts),
 * since the SDK keeps one shared socket pool per process and takes no per-client socket limit.
 */
import type { TokenCredential } from '@azure/identity';
import {
  AnonymousCredential,
  BlobServiceClient,
  newPipeline,
  RestError,
  StorageSharedKeyCredential,
  type BlobItem,
  type ContainerClient,
  type RequestPolicyFactory,
} from '@azure/storage-blob';
import type { AzureBackend } from '../../config/backend.js';
import { deleteIdempotently, StorageError, type StorageOperation } from '../errors.js';
import type * as Store from '../object-store.js';
import { deleteEach, storeCapabilities } from '../object-store.js';
import { withEndpointGuard } from '../../net/azure-pipeline.js';
import { identityCredential, resolveAzureTarget, secretValue, type AzureTarget } from './auth.js';
import { azureError, type AzureErrorContext } from './errors.js';

const PROVIDER = 'azure';
const DEFAULT_MAX_CONNECTIONS = 16;
const DEFAULT_PAGE = 1000;
/** Azure's own ceiling for one List Blobs page. */
const MAX_PAGE = 5000;
/** A health check must answer within its deadline: few, short retries (the SDK's default waits up to 2 minutes). */
const RETRY_OPTIONS = { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 };
/**
 * Client-side limit of one try. The SDK's own `tryTimeoutInMs` only asks the server to give up; a request
 * the server never answers would otherwise hold the whole deadline. Past this the try is cancelled and
 * sent once more (`tryTimeoutPolicy`). Our objects are small: a try that has not had its answer's
 * headers in 10 s is stuck, not slow.
 */
const DEFAULT_TRY_TIMEOUT_MS = 10_000;

/**
 * Gives every try the client-side timeout, and sends a try it cancelled once more (up to
 * TIMED_OUT_TRIES in all). Such a try surfaces as an AbortError, which the SDK's retry policy passes
 * through, and this policy sits outside that one. The caller's own deadline still aborts as such.
 */
const TIMED_OUT_TRIES = 2;

function tryTimeoutPolicy(timeoutMs: number): RequestPolicyFactory {
  return {
    create: (next) => ({
      sendRequest: async (request) => {
        request.timeout = timeoutMs;
        for (let tries = 1; ; tries += 1) {
          try {
            return await next.sendRequest(request);
          } catch (error) {
            const cancelledByUs = (error as Error).name === 'AbortError' && !request.abortSignal?.aborted;
            if (!cancelledByUs) throw error;
            if (tries >= TIMED_OUT_TRIES)
              throw new RestError(`no answer within ${timeoutMs} ms, ${tries} times`, { code: 'ETIMEDOUT' });
          }
        }
      },
    }),
  };
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"|"$/g, '');
}

function base64(bytes: Uint8Array | undefined): string | undefined {
  return bytes && bytes.length > 0 ? Buffer.from(bytes).toString('base64') : undefined;
}

function blobInfo(item: BlobItem): Store.ObjectInfo {
  return {
    key: item.name,
    size: item.properties.contentLength ?? 0,
    lastModified: item.properties.lastModified,
    etag: stripQuotes(item.properties.etag),
    contentMd5: base64(item.properties.contentMD5),
  };
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Uint8Array> {
  if (!stream) return new Uint8Array();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export interface AzureStoreInit {
  target: AzureTarget;
  container: string;
  credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential;
  /** A SAS token, without the leading `?`. */
  sas?: string;
  /** Client-side limit of one try (default 10 s); tests shorten it. */
  tryTimeoutMs?: number;
}

export class AzureStore implements Store.ObjectStore {
  readonly provider = PROVIDER;
  readonly capabilities = storeCapabilities(DEFAULT_MAX_CONNECTIONS, {
    conditionalWrites: true,
    putReturnsChecksum: true,
  });
  readonly location: string;
  readonly #container: ContainerClient;
  readonly #errorContext: Omit<AzureErrorContext, 'operation'>;

  constructor(init: AzureStoreInit) {
    const url = init.sas ? `${init.target.serviceUrl}?${init.sas}` : init.target.serviceUrl;
    const pipeline = withEndpointGuard(newPipeline(init.credential, { retryOptions: RETRY_OPTIONS }));
    pipeline.factories.push(tryTimeoutPolicy(init.tryTimeoutMs ?? DEFAULT_TRY_TIMEOUT_MS));
    const service = new BlobServiceClient(url, pipeline);
    this.#container = service.getContainerClient(init.container);
    this.location = init.container;
    this.#errorContext = { host: new URL(init.target.serviceUrl).host, auth: init.target.auth };
  }

  /** One SDK call, failures mapped by the table. */
  async #call<T>(
    operation: StorageOperation,
    key: string | undefined,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw azureError(error, { ...this.#errorContext, operation, key });
    }
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
    try {
      await this.#call('bucketExists', undefined, options.signal, () =>
        this.#container.getProperties({ abortSignal: options.signal }),
      );
      return true;
    } catch (error) {
      const mapped = error as StorageError;
      if (mapped.code === 'NotFound') return false;
      // A container-scoped SAS may list but not read container properties: a one-entry listing answers instead.
      if (mapped.code === 'PermissionDenied') {
        try {
          await this.list('', { limit: 1, signal: options.signal });
          return true;
        } catch (listError) {
          if ((listError as StorageError).code === 'NotFound') return false;
        }
      }
      throw mapped;
    }
  }

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
    await this.#call('createBucket', undefined, options.signal, () =>
      this.#container.create({ abortSignal: options.signal }),
    );
  }

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    const properties = await this.#call('stat', key, options.signal, () =>
      this.#container.getBlobClient(key).getProperties({ abortSignal: options.signal }),
    );
    return {
      key,
      size: properties.contentLength ?? 0,
      lastModified: properties.lastModified,
      etag: stripQuotes(properties.etag),
      contentMd5: base64(properties.contentMD5),
    };
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
    return this.#call('get', key, options.signal, async () => {
      const response = await this.#container
        .getBlobClient(key)
        .download(0, undefined, { abortSignal: options.signal });
      return readAll(response.readableStreamBody);
    });
  }

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
    const response = await this.#call('put', key, options.signal, () =>
      this.#container.getBlockBlobClient(key).upload(body, body.byteLength, {
        abortSignal: options.signal,
        conditions: options.ifNotExists ? { ifNoneMatch: '*' } : undefined,
        blobHTTPHeaders: options.contentType ? { blobContentType: options.contentType } : undefined,
      }),
    );
    return { etag: stripQuotes(response.etag), contentMd5: base64(response.contentMD5) };
  }

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    const maxPageSize = Math.min(MAX_PAGE, Math.max(1, options.limit ?? DEFAULT_PAGE));
    const pageOptions = { continuationToken: options.pageToken || undefined, maxPageSize };
    const listOptions = { prefix: prefix || undefined, abortSignal: options.signal };
    return this.#call('list', prefix || undefined, options.signal, async () => {
      if (options.delimiter === '/') {
        const page = await this.#container.listBlobsByHierarchy('/', listOptions).byPage(pageOptions).next();
        if (page.done) return { objects: [], prefixes: [] };
        return {
          objects: page.value.segment.blobItems.map(blobInfo),
          prefixes: (page.value.segment.blobPrefixes ?? []).map((entry) => entry.name),
          nextPageToken: page.value.continuationToken || undefined,
        };
      }
      const page = await this.#container.listBlobsFlat(listOptions).byPage(pageOptions).next();
      if (page.done) return { objects: [], prefixes: [] };
      return {
        objects: page.value.segment.blobItems.map(blobInfo),
        prefixes: [],
        nextPageToken: page.value.continuationToken || undefined,
      };
    });
  }

  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    await deleteIdempotently(() =>
      this.#call('delete', key, options.signal, () =>
        this.#container.getBlobClient(key).delete({ abortSignal: options.signal }),
      ),
    );
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    await deleteEach(this, keys, options);
  }

  async close(): Promise<void> {
    // The SDK's HTTP client is shared process-wide and keeps idle sockets on its own timer; nothing to release per store.
  }
}

export async function createStore(
  backend: AzureBackend,
  context: Store.StoreContext,
): Promise<Store.ObjectStore> {
  const { credentials } = context;
  const target = resolveAzureTarget(backend, credentials, context.endpoint);
  const common = { target, container: backend.container };
  switch (target.auth) {
    case 'sharedKey':
      return new AzureStore({
        ...common,
        credential: new StorageSharedKeyCredential(
          target.account as string,
          secretValue(credentials, 'AZURE_ACCOUNT_KEY') as string,
        ),
      });
    case 'sas':
      return new AzureStore({
        ...common,
        credential: new AnonymousCredential(),
        sas: (secretValue(credentials, 'AZURE_ACCOUNT_SAS') as string).replace(/^\?/, ''),
      });
    case 'identity':
      return new AzureStore({ ...common, credential: await identityCredential() });
  }
}
