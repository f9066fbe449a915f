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
import type { SecretBag } from '../../credentials/secret.js';
import { settleAll } from '../../runtime/concurrency.js';
import {
  classifyTransportError,
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
import { withEndpointGuard } from '../../net/azure-pipeline.js';

const PROVIDER = 'azure';
const PUBLIC_CLOUD_SUFFIX = 'core.windows.net';
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

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const DNS_SUFFIX = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;
/** Names @azure/identity gives the errors of a token that could not be had. */
const IDENTITY_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

export type AzureAuth = 'sharedKey' | 'sas' | 'identity';

/** Where and as whom the store talks: the result of reading the spec, the secret and options.endpoint. */
export interface AzureTarget {
  /** Service URL without any SAS: `https://<account>.blob.<suffix>` or the given endpoint. */
  serviceUrl: string;
  account: string | undefined;
  auth: AzureAuth;
}

function invalidConfig(message: string, hint?: string): StorageError {
  return new StorageError({ code: 'InvalidConfig', provider: PROVIDER, operation: 'connect', message, hint });
}

function secretValue(credentials: SecretBag, key: string): string | undefined {
  const value = credentials.reveal(key)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The account a full endpoint names: `<account>.blob.<suffix>` hosts, or the first path segment (azurite, Azure Stack IP style). */
function accountFromUrl(url: URL): string | undefined {
  const hostLabel = /^([a-z0-9]+)\.blob\./i.exec(url.hostname)?.[1];
  if (hostLabel) return hostLabel.toLowerCase();
  const firstSegment = url.pathname.split('/').find((segment) => segment !== '');
  return firstSegment ? decodeURIComponent(firstSegment) : undefined;
}

/** Reads spec, secret and options.endpoint into a service URL, an account and the kind of credential. */
export function resolveAzureTarget(
  backend: AzureBackend,
  credentials: SecretBag,
  endpoint?: string,
): AzureTarget {
  const auth: AzureAuth = secretValue(credentials, 'AZURE_ACCOUNT_KEY')
    ? 'sharedKey'
    : secretValue(credentials, 'AZURE_ACCOUNT_SAS')
      ? 'sas'
      : 'identity';
  const named = backend.storageAccount?.trim() || secretValue(credentials, 'AZURE_ACCOUNT_NAME');
  const given = endpoint?.trim();

  if (given !== undefined && given.includes('://')) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw invalidConfig(
        'options.endpoint is not a valid URL',
        'give a URL such as https://<account>.blob.core.windows.net, or a bare suffix such as core.chinacloudapi.cn',
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw invalidConfig(`options.endpoint must be an http or https URL, not ${url.protocol}`);
    if (url.username || url.password || url.search || url.hash) {
      throw invalidConfig(
        'options.endpoint must not carry credentials, a query or a fragment',
        'put a SAS token in the secret as AZURE_ACCOUNT_SAS, and an account key as AZURE_ACCOUNT_KEY',
      );
    }
    const account = named ?? accountFromUrl(url);
    if (auth === 'sharedKey' && !account) {
      throw invalidConfig(
        'AZURE_ACCOUNT_KEY needs an account name',
        'set spec.storage.azure.storageAccount (KubeStash) or AZURE_ACCOUNT_NAME in the secret (Stash)',
      );
    }
    if (auth === 'sas' && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
      throw invalidConfig(
        'a SAS token would travel in cleartext over this http endpoint',
        'use an https endpoint (plain http is accepted only on loopback, for emulators), or AZURE_ACCOUNT_KEY, which only signs requests',
      );
    }
    if (auth === 'identity' && url.protocol !== 'https:') {
      throw invalidConfig(
        'credential-less (Azure identity) access needs an https endpoint',
        'use an https endpoint, or give AZURE_ACCOUNT_KEY or AZURE_ACCOUNT_SAS in the secret',
      );
    }
    return { serviceUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, account, auth };
  }

  const suffix = (given ?? secretValue(credentials, 'AZURE_ENDPOINT_SUFFIX') ?? PUBLIC_CLOUD_SUFFIX)
    .replace(/^\.+|\.+$/g, '')
    .replace(/^blob\./i, '');
  if (!DNS_SUFFIX.test(suffix)) {
    throw invalidConfig(
      `endpoint suffix "${suffix}" is not a DNS name`,
      'give options.endpoint (or AZURE_ENDPOINT_SUFFIX) as a suffix such as core.chinacloudapi.cn, or options.endpoint as a full URL',
    );
  }
  if (!named) {
    throw invalidConfig(
      'no storage account name',
      'set spec.storage.azure.storageAccount (KubeStash) or AZURE_ACCOUNT_NAME in the secret (Stash), or give options.endpoint as a full URL',
    );
  }
  if (!ACCOUNT_NAME.test(named)) {
    throw invalidConfig(
      `storage account name "${named}" is not valid`,
      'an Azure storage account name has 3 to 24 lowercase letters and digits',
    );
  }
  return { serviceUrl: `https://${named}.blob.${suffix.toLowerCase()}`, account: named, auth };
}

/** The short error code the service sent (x-ms-error-code), when it looks like one. */
function serviceErrorCode(error: unknown): string | undefined {
  const err = error as { code?: unknown; details?: { errorCode?: unknown } } | undefined;
  const code = err?.details?.errorCode ?? err?.code;
  return typeof code === 'string' && /^[A-Za-z]{2,64}$/.test(code) ? code : undefined;
}

function statusCode(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** azurite answers a wrong key or signature with AuthorizationFailure, where Azure says AuthenticationFailed; only its message tells. */
function isAzuriteAuthenticationFailure(error: unknown): boolean {
  const message = (error as { details?: { message?: unknown } } | undefined)?.details?.message;
  return typeof message === 'string' && message.startsWith('Server failed to authenticate the request');
}

export interface AzureErrorContext {
  operation: StorageOperation;
  key?: string;
  /** The service URL's host, for the hint of a host that does not resolve. */
  host?: string;
  auth?: AzureAuth;
}

const CREDENTIALS_HINT: Record<AzureAuth, string> = {
  sharedKey:
    'check AZURE_ACCOUNT_KEY (a key of this storage account, not of another one) and the account name',
  sas: 'check AZURE_ACCOUNT_SAS: it must be signed with a key of this account, its expiry time must not have passed and its start time must have',
  identity:
    'the function’s Azure identity (workload or managed identity) was rejected; check the federated credential and the tenant',
};

const PERMISSIONS_HINT =
  'KubeStash and restic need read, list, write (create) and delete on the container; grant a SAS with the permissions rwdlc (or the role Storage Blob Data Contributor), or run check with options.readOnly';

/** The one table from Azure Blob (and @azure/identity) failures to portable codes. Messages are our own. */
export function mapAzureError(error: unknown, context: AzureErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const { operation, key } = context;
  const base = { provider: PROVIDER, operation, key, cause: error };
  const make = (init: StorageErrorInit): StorageError => new StorageError({ ...base, ...init });
  const name = (error as { name?: unknown } | undefined)?.name;

  if (typeof name === 'string' && IDENTITY_ERRORS.has(name)) {
    return make({
      code: 'Unauthenticated',
      message:
        'no Azure identity token could be obtained (the secret has neither AZURE_ACCOUNT_KEY nor AZURE_ACCOUNT_SAS)',
      hint: 'give the function a workload or managed identity with access to the account (AZURE_TOKEN_CREDENTIALS=prod limits the chain to those), or put AZURE_ACCOUNT_KEY or AZURE_ACCOUNT_SAS in the secret',
    });
  }

  const transport = classifyTransportError(error);
  if (transport) {
    const unresolved = (error as { code?: unknown }).code === 'ENOTFOUND';
    return make(
      unresolved
        ? {
            ...transport,
            message: context.host
              ? `the storage host ${context.host} does not resolve`
              : 'the storage host does not resolve',
            hint: 'the storage account name may be wrong (it forms the host name <account>.blob.<suffix>), or the endpoint suffix does not match the account’s cloud; check also the function’s DNS and VPC settings',
          }
        : transport,
    );
  }

  const code = serviceErrorCode(error);
  const status = statusCode(error);
  const credentialsHint = CREDENTIALS_HINT[context.auth ?? 'sharedKey'];
  switch (code) {
    case 'AuthenticationFailed':
    case 'InvalidAuthenticationInfo':
    case 'NoAuthenticationInformation':
      return make({
        code: 'Unauthenticated',
        message: `the storage account rejected the credentials (${code})`,
        hint: credentialsHint,
      });
    case 'AuthorizationFailure':
      if (isAzuriteAuthenticationFailure(error)) {
        return make({
          code: 'Unauthenticated',
          message: 'the storage account rejected the credentials (signature mismatch)',
          hint: credentialsHint,
        });
      }
      return make({
        code: 'PermissionDenied',
        message: 'the storage account refused the request (AuthorizationFailure)',
        hint: 'the account’s firewall or network rules may block the function, or the SAS is restricted (IP range, protocol, services); check Networking on the storage account',
      });
    case 'AuthorizationPermissionMismatch':
    case 'AuthorizationResourceTypeMismatch':
    case 'AuthorizationServiceMismatch':
    case 'InsufficientAccountPermissions':
      return make({
        code: 'PermissionDenied',
        subject: key ? 'object' : 'bucket',
        message: `the credentials may not ${operationVerb(operation)} (${code})`,
        hint: PERMISSIONS_HINT,
      });
    case 'AuthorizationProtocolMismatch':
    case 'AuthorizationSourceIPMismatch':
      return make({
        code: 'PermissionDenied',
        message: `the SAS does not allow this request (${code})`,
        hint: 'the SAS restricts the protocol or the source IP range; issue one that allows https from the function’s addresses',
      });
    case 'AccountIsDisabled':
      return make({
        code: 'PermissionDenied',
        subject: 'account',
        message: 'the storage account is disabled',
        hint: 'enable the storage account (or its subscription) in Azure',
      });
    case 'ContainerNotFound':
      return make({
        code: 'NotFound',
        subject: 'bucket',
        message: 'the container does not exist',
        hint: 'create the container, or call initialize with options.createBucket',
      });
    case 'BlobNotFound':
      return make({ code: 'NotFound', subject: 'object', message: `${key ?? 'the blob'} does not exist` });
    case 'ContainerAlreadyExists':
      return make({ code: 'AlreadyExists', subject: 'bucket', message: 'the container already exists' });
    case 'ContainerBeingDeleted':
      return make({
        code: 'Unavailable',
        subject: 'bucket',
        retryable: true,
        message: 'the container is being deleted',
        hint: 'Azure keeps a deleted container’s name for about 30 seconds; try again shortly',
      });
    case 'BlobAlreadyExists':
      return make({
        code: 'AlreadyExists',
        subject: 'object',
        message: `${key ?? 'the blob'} already exists`,
      });
    case 'ConditionNotMet':
    case 'TargetConditionNotMet':
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `the condition on ${key ?? 'the blob'} was not met`,
      });
    case 'ServerBusy':
      return make({
        code: 'RateLimited',
        message: 'the storage account is throttling requests (ServerBusy)',
        hint: 'lower maxConnections, or spread checks over time',
      });
    case 'OperationTimedOut':
    case 'InternalError':
      return make({
        code: 'Unavailable',
        message: `the storage service failed the request (${code})`,
        retryable: true,
      });
    case 'InvalidResourceName':
    case 'OutOfRangeInput':
      return make({
        code: 'InvalidConfig',
        message: `the container name or key is not valid for Azure (${code})`,
        hint: 'container names have 3 to 63 lowercase letters, digits and single hyphens',
      });
    case 'InvalidHeaderValue':
    case 'UnsupportedHeader':
      return make({
        code: 'InvalidConfig',
        message: `the service refused a request header (${code})`,
        hint: 'an emulator or Azure Stack may not support this service version; run azurite with --skipApiVersionCheck',
      });
    case 'PARSE_ERROR':
      return make({
        code: 'Unknown',
        message: 'the endpoint answered with something that is not an Azure Blob response',
        hint: 'check that options.endpoint points at a blob service (…blob.core.windows.net or your emulator)',
      });
    default:
      return byStatus(make, status, code, key);
  }
}

/** The table's fallback when the service sent no code we know. */
function byStatus(
  make: (init: StorageErrorInit) => StorageError,
  status: number | undefined,
  code: string | undefined,
  key: string | undefined,
): StorageError {
  const what = code ? `${code}, HTTP ${status ?? '?'}` : `HTTP ${status ?? '?'}`;
  switch (status) {
    case 401:
      return make({
        code: 'Unauthenticated',
        message: `the storage account rejected the credentials (${what})`,
      });
    case 403:
      return make({
        code: 'PermissionDenied',
        message: `the storage account refused the request (${what})`,
        hint: PERMISSIONS_HINT,
      });
    case 404:
      return make({ code: 'NotFound', subject: key ? 'object' : 'bucket', message: `not found (${what})` });
    case 409:
      return make({
        code: 'AlreadyExists',
        subject: key ? 'object' : 'bucket',
        message: `conflict (${what})`,
      });
    case 412:
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `precondition failed (${what})`,
      });
    case 429:
      return make({ code: 'RateLimited', message: `the storage account is throttling requests (${what})` });
    case 500:
    case 502:
    case 503:
    case 504:
      return make({
        code: 'Unavailable',
        message: `the storage service is unavailable (${what})`,
        retryable: true,
      });
    case 400:
      return make({ code: 'InvalidConfig', message: `the service refused the request as invalid (${what})` });
    default:
      // A redirect the pipeline did not follow: the endpoint is not the Blob service itself.
      if (status !== undefined && status >= 300 && status < 400) {
        return make({
          code: 'InvalidConfig',
          message: `the endpoint answered with a redirect (${what})`,
          hint: 'point options.endpoint at the Blob service itself, not at a proxy or portal that redirects',
        });
      }
      return make({ code: 'Unknown', message: `unexpected Azure Blob error (${what})` });
  }
}

function operationVerb(operation: StorageOperation): string {
  switch (operation) {
    case 'put':
      return 'write blobs';
    case 'delete':
      return 'delete blobs';
    case 'list':
      return 'list blobs';
    case 'get':
    case 'stat':
      return 'read blobs';
    case 'createBucket':
      return 'create containers';
    default:
      return 'do this';
  }
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"|"$/g, '');
}

function base64(bytes: Uint8Array | undefined): string | undefined {
  return bytes && bytes.length > 0 ? Buffer.from(bytes).toString('base64') : undefined;
}

function blobInfo(item: BlobItem): ObjectInfo {
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

export class AzureStore implements ObjectStore {
  readonly provider = PROVIDER;
  readonly capabilities = {
    conditionalWrites: true,
    putReturnsChecksum: true,
    batchDelete: false,
    connections: DEFAULT_MAX_CONNECTIONS,
  };
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
      throw mapAzureError(error, { ...this.#errorContext, operation, key });
    }
  }

  async bucketExists(options: CallOptions = {}): Promise<boolean> {
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

  async createBucket(options: CallOptions = {}): Promise<void> {
    await this.#call('createBucket', undefined, options.signal, () =>
      this.#container.create({ abortSignal: options.signal }),
    );
  }

  async stat(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
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

  async get(key: string, options: CallOptions = {}): Promise<Uint8Array> {
    return this.#call('get', key, options.signal, async () => {
      const response = await this.#container
        .getBlobClient(key)
        .download(0, undefined, { abortSignal: options.signal });
      return readAll(response.readableStreamBody);
    });
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const response = await this.#call('put', key, options.signal, () =>
      this.#container.getBlockBlobClient(key).upload(body, body.byteLength, {
        abortSignal: options.signal,
        conditions: options.ifNotExists ? { ifNoneMatch: '*' } : undefined,
        blobHTTPHeaders: options.contentType ? { blobContentType: options.contentType } : undefined,
      }),
    );
    return { etag: stripQuotes(response.etag), contentMd5: base64(response.contentMD5) };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
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

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    try {
      await this.#call('delete', key, options.signal, () =>
        this.#container.getBlobClient(key).delete({ abortSignal: options.signal }),
      );
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NotFound' && error.subject === 'object') return;
      throw error;
    }
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<void> {
    await settleAll(keys, (key) => this.delete(key, options));
  }

  async close(): Promise<void> {
    // The SDK's HTTP client is shared process-wide and keeps idle sockets on its own timer; nothing to release per store.
  }
}

async function identityCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

export async function createStore(backend: AzureBackend, context: StoreContext): Promise<ObjectStore> {
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
