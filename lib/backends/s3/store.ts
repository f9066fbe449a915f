/**
 * S3 and S3-compatible stores (AWS, MinIO, DigitalOcean Spaces, Wasabi, Scaleway, Ceph RGW, Linode,
 * Backblaze's S3 endpoint, OpenStack Swift's s3api) through @aws-sdk/client-s3.
 *
 * Provider quirks handled here, each tested against s3rver and Swift's s3api:
 * - Checksums: the client sends no aws-chunked bodies and validates no response checksums
 *   (`WHEN_REQUIRED`), which s3rver would store corrupted and s3api rejects; instead every PUT carries
 *   Content-MD5, so the server verifies the body, and its ETag (a plain MD5 for single-part PUTs
 *   without SSE-KMS/SSE-C) is returned as `contentMd5`.
 * - Region: a configured region is used as is, and a wrong one is an InvalidConfig naming the bucket's
 *   real region. Without one, the region named by the endpoint host (else us-east-1) is tried and the
 *   first answer that names the bucket's region (x-amz-bucket-region, a redirect, "expecting 'X'")
 *   switches the client to it.
 * - Bucket-scoped credentials: HeadBucket answering 403 does not prove the bucket missing, so
 *   `bucketExists` returns true and lets the reads and writes that follow report what is denied.
 * - Conditional create: AWS honours `If-None-Match: *`; for other endpoints a probe (two conditional
 *   PUTs of one reserved object, racing) tells whether the server enforces it. Where it does not
 *   (s3rver ignores it, s3api answers 501), `createExclusively` (lib/backends/exclusive-create.ts)
 *   keeps the one-winner guarantee and `capabilities.conditionalWrites` reports false.
 * - DELETE of a missing key succeeds (S3 semantics); DeleteObjects removes up to 1000 keys a request.
 * - Connections: keep-alive agents are shared by every store of the process with the same TLS settings,
 *   and clients by endpoint, region, credentials and those settings, so a warm function reuses its
 *   sockets; `close()` leaves them open (idle pooled sockets do not keep the process alive). The calls
 *   in flight (`maxConnections`, default 50: `capabilities.connections`) are bounded per store where it
 *   is opened (../connection-limit.ts), not by the shared agents.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type PutObjectCommandOutput,
} from '@aws-sdk/client-s3';
import type { S3Backend } from '../../config/backend.js';
import type * as Store from '../object-store.js';
import { rememberBounded } from '../../runtime/memo.js';
import { retrying } from '../../runtime/retry.js';
import { StorageError, type StorageOperation } from '../errors.js';
import { joinKey, md5HexToBase64, storeCapabilities } from '../object-store.js';
import {
  claimIo,
  claimSiblingKey,
  createExclusively,
  refuseClaimKey,
  withoutClaims,
  type ExclusiveCreateIo,
} from '../exclusive-create.js';
import { resolveS3Endpoint, type S3Endpoint } from './endpoint.js';
import { isRegionMismatch, s3Error, regionFromError, s3StatusCode } from './errors.js';
import { guardAgent, HOSTS_SETTING, listedEndpoint } from '../../net/endpoint-guard.js';

const PROVIDER = 's3';
const DEFAULT_REGION = 'us-east-1';
const DEFAULT_MAX_CONNECTIONS = 50;
/** Socket inactivity bound of one request, on top of the caller's AbortSignal. */
const REQUEST_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_KEYS = 1000;
/** How long removing the capability probe may take once the caller's deadline has passed. */
const CLEANUP_TIMEOUT_MS = 5_000;

export interface S3StoreSettings {
  bucket: string;
  endpoint: S3Endpoint;
  /** Region requests are signed for first. */
  region: string;
  /** The configuration names the region: a mismatch is an error instead of a switch. */
  regionPinned: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** PEM of a CA to trust besides the public roots (CA_CERT_DATA). */
  caPem?: string;
  insecureTLS?: boolean;
}

/** Per process: whether a custom endpoint enforces If-None-Match (a Lambda container probes once). */
const conditionalSupportByEndpoint = new Map<string, boolean>();

interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}
/** Keep-alive pools per (socket cap, TLS settings), for the life of the process. */
const agentsByKey = new Map<string, Agents>();
/** Clients per endpoint, region, credentials identity and pool, most recently used last. */
const clientsByKey = new Map<string, S3Client>();
/** Enough for a fleet check's distinct storages at a time; an evicted client owns no sockets. */
const MAX_CACHED_CLIENTS = 64;
/** Per-process key: cache keys carry an HMAC of the credentials, never a value that authenticates. */
const FINGERPRINT_KEY = randomBytes(32);

function fingerprint(parts: readonly unknown[]): string {
  return createHmac('sha256', FINGERPRINT_KEY).update(JSON.stringify(parts)).digest('base64url');
}

/** What the AWS default credential chain reads from the environment, so its clients follow a change. */
const CHAIN_ENVIRONMENT = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
] as const;

function sharedAgents(settings: S3StoreSettings): { key: string; agents: Agents } {
  const key = fingerprint([settings.insecureTLS === true, settings.caPem ?? null]);
  let agents = agentsByKey.get(key);
  if (!agents) {
    // Connections go only where the endpoint guard allows (no metadata service, no private ranges by default).
    agents = {
      http: guardAgent(new HttpAgent({ keepAlive: true })),
      https: guardAgent(
        new HttpsAgent({
          keepAlive: true,
          rejectUnauthorized: !settings.insecureTLS,
          ...(settings.caPem ? { ca: [...rootCertificates, settings.caPem] } : {}),
        }),
      ),
    };
    agentsByKey.set(key, agents);
  }
  return { key, agents };
}

/** The process's client for these settings and region; made on first use. */
function sharedClient(settings: S3StoreSettings, region: string): S3Client {
  const { endpoint, credentials } = settings;
  const pool = sharedAgents(settings);
  const key = fingerprint([
    endpoint.url ?? 'aws',
    endpoint.forcePathStyle ?? null,
    endpoint.useFipsEndpoint ?? null,
    endpoint.useDualstackEndpoint ?? null,
    region,
    credentials
      ? [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken ?? null]
      : CHAIN_ENVIRONMENT.map((name) => process.env[name] ?? null),
    pool.key,
  ]);
  let client = clientsByKey.get(key);
  if (!client) {
    client = new S3Client({
      region,
      endpoint: endpoint.url,
      forcePathStyle: endpoint.forcePathStyle,
      useFipsEndpoint: endpoint.useFipsEndpoint,
      useDualstackEndpoint: endpoint.useDualstackEndpoint,
      // No secret: the AWS default credential chain (the function's role, IRSA, environment).
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: {
        httpAgent: pool.agents.http,
        httpsAgent: pool.agents.https,
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionTimeout: CONNECT_TIMEOUT_MS,
      },
    });
  }
  // Most recently used last. An evicted client is never destroyed: that would destroy the shared agents.
  rememberBounded(clientsByKey, key, client, MAX_CACHED_CLIENTS);
  return client;
}

/** A plain MD5 ETag (single-part upload, no SSE-KMS/SSE-C) as base64; undefined for anything else. */
function md5FromEtag(
  etag: string | undefined,
  serverSideEncryption?: string,
  customerKey?: string,
): string | undefined {
  if (customerKey || (serverSideEncryption !== undefined && serverSideEncryption !== 'AES256'))
    return undefined;
  return md5HexToBase64(etag);
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/"/g, '');
}

export class S3Store implements Store.ObjectStore {
  readonly provider = PROVIDER;
  readonly location: string;
  readonly capabilities: Store.StoreCapabilities;
  readonly #settings: S3StoreSettings;
  #region: string;
  #client: S3Client;
  #conditionalProbe: Promise<boolean> | undefined;
  /** Removals of the store's own probe objects still running; `close()` waits for them. */
  readonly #cleanups = new Set<Promise<void>>();

  constructor(settings: S3StoreSettings) {
    this.#settings = settings;
    this.location = settings.bucket;
    this.#region = settings.region;
    const known = settings.endpoint.aws ? true : conditionalSupportByEndpoint.get(this.#endpointKey());
    this.capabilities = storeCapabilities(DEFAULT_MAX_CONNECTIONS, {
      conditionalWrites: known ?? false,
      putReturnsChecksum: true,
      batchDelete: true,
    });
    this.#client = sharedClient(settings, this.#region);
  }

  /** The region requests are currently signed for. */
  get region(): string {
    return this.#region;
  }

  #endpointKey(): string {
    return this.#settings.endpoint.url ?? 'aws';
  }

  /**
   * Runs one SDK call with the caller's signal. Without a configured region, an answer naming the
   * bucket's region switches the client to it and the call runs once more.
   */
  async #send<T>(
    operation: StorageOperation,
    key: string | undefined,
    signal: AbortSignal | undefined,
    call: (client: S3Client, options: { abortSignal?: AbortSignal; requestTimeout: number }) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = this.#client;
      try {
        return await call(client, { abortSignal: signal, requestTimeout: REQUEST_TIMEOUT_MS });
      } catch (error) {
        const region = regionFromError(error);
        if (
          attempt === 0 &&
          region !== undefined &&
          !this.#settings.regionPinned &&
          isRegionMismatch(error)
        ) {
          if (region !== this.#region) this.#useRegion(region);
          if (client !== this.#client) continue;
        }
        throw s3Error(error, { operation, key, bucket: this.#settings.bucket, region: this.#region });
      }
    }
  }

  #useRegion(region: string): void {
    this.#region = region;
    // Clients are shared and never torn down; in-flight calls on the old one finish.
    this.#client = sharedClient(this.#settings, region);
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
    const Bucket = this.#settings.bucket;
    try {
      await this.#send('bucketExists', undefined, options.signal, (client, o) =>
        client.send(new HeadBucketCommand({ Bucket }), o),
      );
      return true;
    } catch (error) {
      const storageError = error as StorageError;
      if (storageError.code === 'NotFound') return false;
      // Bucket-scoped credentials may not HEAD the bucket: 403 does not mean missing (see the header).
      if (storageError.code === 'PermissionDenied') return true;
      if (this.#needsExplanation(storageError)) return this.#bucketExistsByListing(options.signal);
      throw storageError;
    }
  }

  /** HEAD answers carry no error body; a 400/301 without a region is asked again with a GET that has one. */
  #needsExplanation(error: StorageError): boolean {
    const status = s3StatusCode(error.cause);
    return (status === 400 || status === 301) && regionFromError(error.cause) === undefined;
  }

  async #bucketExistsByListing(signal: AbortSignal | undefined): Promise<boolean> {
    const Bucket = this.#settings.bucket;
    try {
      await this.#send('bucketExists', undefined, signal, (client, o) =>
        client.send(new ListObjectsV2Command({ Bucket, MaxKeys: 1 }), o),
      );
      return true;
    } catch (error) {
      const storageError = error as StorageError;
      if (storageError.code === 'NotFound' && storageError.subject === 'bucket') return false;
      if (storageError.code === 'PermissionDenied') return true;
      throw storageError;
    }
  }

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
    const Bucket = this.#settings.bucket;
    const region = this.#region;
    const CreateBucketConfiguration =
      region === DEFAULT_REGION ? undefined : { LocationConstraint: region as BucketLocationConstraint };
    await this.#send('createBucket', undefined, options.signal, (client, o) =>
      client.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration }), o),
    );
  }

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    try {
      const head = await this.#send('stat', key, options.signal, (client, o) =>
        client.send(new HeadObjectCommand({ Bucket: this.#settings.bucket, Key: key }), o),
      );
      return {
        key,
        size: head.ContentLength ?? 0,
        lastModified: head.LastModified,
        etag: stripQuotes(head.ETag),
        contentMd5: md5FromEtag(head.ETag, head.ServerSideEncryption, head.SSECustomerAlgorithm),
      };
    } catch (error) {
      throw await this.#explainHeadFailure(error as StorageError, options.signal);
    }
  }

  /** A HEAD 404 cannot say whether the key or the bucket is missing; a 400 cannot say why. Ask the bucket. */
  async #explainHeadFailure(error: StorageError, signal: AbortSignal | undefined): Promise<StorageError> {
    if (error.code !== 'NotFound' && !this.#needsExplanation(error)) return error;
    let exists: boolean;
    try {
      exists = await this.bucketExists({ signal });
    } catch (bucketError) {
      return this.#needsExplanation(error) ? (bucketError as StorageError) : error;
    }
    if (exists) return error;
    return s3Error(
      { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } },
      {
        operation: error.operation ?? 'stat',
        key: error.key,
        bucket: this.#settings.bucket,
        region: this.#region,
      },
    );
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
    return this.#send('get', key, options.signal, async (client, o) => {
      const response = await client.send(
        new GetObjectCommand({ Bucket: this.#settings.bucket, Key: key }),
        o,
      );
      if (!response.Body) return new Uint8Array(0);
      return response.Body.transformToByteArray();
    });
  }

  async prepareExclusiveCreate(directory: string, options: Store.CallOptions = {}): Promise<void> {
    await this.#conditionalWritesEnforced(joinKey(directory, 'object'), options.signal).catch(
      () => undefined,
    );
  }

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
    refuseClaimKey(PROVIDER, key);
    if (!options.ifNotExists) return this.#putObject(key, body, options);
    if (await this.#conditionalWritesEnforced(key, options.signal)) {
      try {
        return await this.#putObject(key, body, { ...options, ifNoneMatch: true });
      } catch (error) {
        if ((error as StorageError).code !== 'Unimplemented') throw error;
        this.#recordConditionalSupport(false);
      }
    }
    return createExclusively(this.#exclusiveIo(options.signal), key, body);
  }

  async #putObject(
    key: string,
    body: Uint8Array,
    options: { signal?: AbortSignal; contentType?: string; ifNoneMatch?: boolean },
  ): Promise<Store.PutResult> {
    const ContentMD5 = createHash('md5').update(body).digest('base64');
    const send = (): Promise<PutObjectCommandOutput> =>
      this.#send('put', key, options.signal, (client, o) =>
        client.send(
          new PutObjectCommand({
            Bucket: this.#settings.bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            ContentMD5,
            ContentType: options.contentType,
            IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
          }),
          o,
        ),
      );
    // AWS answers 409 ConditionalRequestConflict while another conditional write of the key is in
    // flight: that, and only that, is waited out here (the SDK retried everything else already).
    const response: PutObjectCommandOutput = await retrying(send, {
      signal: options.signal,
      idempotent: true,
      attempts: 5,
      baseDelayMs: 50,
      retryError: (error) =>
        options.ifNoneMatch === true && s3StatusCode((error as StorageError).cause) === 409,
    });
    return {
      etag: stripQuotes(response.ETag),
      contentMd5: md5FromEtag(response.ETag, response.ServerSideEncryption, response.SSECustomerAlgorithm),
    };
  }

  #recordConditionalSupport(enforced: boolean): void {
    conditionalSupportByEndpoint.set(this.#endpointKey(), enforced);
    this.capabilities.conditionalWrites = enforced;
  }

  /**
   * Whether the server enforces If-None-Match: *. AWS does. Elsewhere two conditional writes of one new
   * reserved object next to `nearKey` race each other, in one round trip: a server that enforces the
   * condition atomically refuses one of them (412); one that ignores it accepts both, and one that
   * rejects it answers 501 (or 400) to both: not enforced. A server that checks the condition but lets
   * both racers win is not safe to rely on, and is treated as not enforcing it. The probe object is
   * removed off the critical path; the answer is kept per endpoint.
   */
  #conditionalWritesEnforced(nearKey: string, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.#settings.endpoint.aws) return Promise.resolve(true);
    const known = conditionalSupportByEndpoint.get(this.#endpointKey());
    if (known !== undefined) {
      this.capabilities.conditionalWrites = known;
      return Promise.resolve(known);
    }
    this.#conditionalProbe ??= (async () => {
      const probeKey = claimSiblingKey(nearKey, 'capability');
      const racers = await Promise.allSettled(
        [0, 1].map(() => this.#putObject(probeKey, new Uint8Array(0), { signal, ifNoneMatch: true })),
      );
      // Off the critical path (nothing lists or reads the probe); `close()` waits for it. Skipped when
      // nothing was written and the caller's deadline has passed: the server did not answer in time, and
      // the invocation has none left to wait for it again.
      if (racers.some((racer) => racer.status === 'fulfilled') || !signal?.aborted) {
        this.#track(
          this.delete(probeKey, { signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) }).catch(() => undefined),
        );
      }
      const codes = racers.map((racer) =>
        racer.status === 'fulfilled' ? 'Written' : (racer.reason as StorageError).code,
      );
      const refused = codes.some((code) => code === 'PreconditionFailed' || code === 'AlreadyExists');
      const notEnforced = ['Written', 'Unimplemented', 'Unknown', 'InvalidConfig'];
      let enforced: boolean;
      if (codes.includes('Written') && refused) enforced = true;
      else if (codes.every((code) => notEnforced.includes(code))) enforced = false;
      else throw (racers.find((racer) => racer.status === 'rejected') as PromiseRejectedResult).reason;
      this.#recordConditionalSupport(enforced);
      return enforced;
    })();
    // A failed probe (network, permissions) is not remembered: the next put asks again.
    return this.#conditionalProbe.catch((error: unknown) => {
      this.#conditionalProbe = undefined;
      throw error;
    });
  }

  #track(cleanup: Promise<void>): void {
    this.#cleanups.add(cleanup);
    void cleanup.finally(() => this.#cleanups.delete(cleanup));
  }

  #exclusiveIo(signal: AbortSignal | undefined): ExclusiveCreateIo {
    return claimIo({
      provider: PROVIDER,
      signal,
      write: (key, body) => this.#putObject(key, body, { signal }),
      listPage: (prefix, options) => this.#listPage(prefix, options),
      delete: (key, options) => this.delete(key, options),
    });
  }

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    return withoutClaims(await this.#listPage(prefix, options));
  }

  /** One ListObjectsV2 page, unfiltered. */
  async #listPage(prefix: string, options: Store.ListOptions): Promise<Store.ListPage> {
    const response = await this.#send('list', prefix, options.signal, (client, o) =>
      client.send(
        new ListObjectsV2Command({
          Bucket: this.#settings.bucket,
          Prefix: prefix === '' ? undefined : prefix,
          Delimiter: options.delimiter,
          MaxKeys: Math.max(1, Math.min(MAX_KEYS, options.limit ?? MAX_KEYS)),
          ContinuationToken: options.pageToken,
        }),
        o,
      ),
    );
    const objects = (response.Contents ?? []).flatMap((object): Store.ObjectInfo[] =>
      object.Key === undefined
        ? []
        : [
            {
              key: object.Key,
              size: object.Size ?? 0,
              lastModified: object.LastModified,
              etag: stripQuotes(object.ETag),
            },
          ],
    );
    // S3 returns a page in UTF-8 byte order; some compatible servers (s3rver) return it in filesystem walk order.
    objects.sort((a, b) => byteOrder(a.key, b.key));
    const prefixes = (response.CommonPrefixes ?? []).flatMap((common) =>
      common.Prefix === undefined ? [] : [common.Prefix],
    );
    prefixes.sort(byteOrder);
    const more = response.IsTruncated === true && response.NextContinuationToken !== undefined;
    return { objects, prefixes, nextPageToken: more ? response.NextContinuationToken : undefined };
  }

  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    try {
      await this.#send('delete', key, options.signal, (client, o) =>
        client.send(new DeleteObjectCommand({ Bucket: this.#settings.bucket, Key: key }), o),
      );
    } catch (error) {
      // Some S3-compatible servers answer 404 for a missing key; S3 semantics say the delete succeeded.
      if ((error as StorageError).code === 'NotFound' && (error as StorageError).subject === 'object') return;
      throw error;
    }
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    for (let start = 0; start < keys.length; start += MAX_KEYS) {
      const batch = keys.slice(start, start + MAX_KEYS);
      const command = new DeleteObjectsCommand({
        Bucket: this.#settings.bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      });
      addContentMd5(command);
      const response = await this.#send('delete', batch[0], options.signal, (client, o) =>
        client.send(command, o),
      );
      const failed = (response.Errors ?? []).filter((entry) => entry.Code !== 'NoSuchKey');
      const first = failed[0];
      if (first) {
        throw s3Error(
          { name: first.Code ?? 'Unknown', Code: first.Code },
          { operation: 'delete', key: first.Key, bucket: this.#settings.bucket, region: this.#region },
        );
      }
    }
  }

  /** Waits for the store's own cleanups; the shared client and its pooled sockets stay for the next store. */
  async close(): Promise<void> {
    await Promise.all(this.#cleanups);
  }
}

/**
 * DeleteObjects must carry a body checksum. With `WHEN_REQUIRED` the SDK sends a CRC32 header, which
 * Swift's s3api (and older S3-compatible servers) do not accept in place of Content-MD5; this adds it.
 */
function addContentMd5(command: DeleteObjectsCommand): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown; headers?: Record<string, string> };
      if (request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'bsfContentMd5', override: true },
  );
}

function credentialsFrom(context: Store.StoreContext): S3StoreSettings['credentials'] {
  const bag = context.credentials;
  const accessKeyId = bag.reveal('AWS_ACCESS_KEY_ID')?.trim();
  const secretAccessKey = bag.reveal('AWS_SECRET_ACCESS_KEY')?.trim();
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    throw new StorageError({
      code: 'InvalidConfig',
      provider: PROVIDER,
      operation: 'connect',
      message: `the secret (${bag.source}) has ${accessKeyId ? 'AWS_ACCESS_KEY_ID but no AWS_SECRET_ACCESS_KEY' : 'AWS_SECRET_ACCESS_KEY but no AWS_ACCESS_KEY_ID'}`,
      hint: 'put both keys in the secret, or neither to use the function’s own AWS credentials',
    });
  }
  const sessionToken = bag.reveal('AWS_SESSION_TOKEN')?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * No keys in the secret means the function's own AWS role (so do keys equal to the role's, which an
 * `env:` reference can hand over): its session token must never reach a server that is not AWS unless
 * the deployment names that server in ENDPOINT_ALLOWED_HOSTS itself ("any host" is not enough).
 */
function refuseRoleCredentialsFor(endpoint: S3Endpoint, credentials: S3StoreSettings['credentials']): void {
  const role = process.env.AWS_ACCESS_KEY_ID;
  const functionsOwn = credentials === undefined || (role !== undefined && credentials.accessKeyId === role);
  if (!functionsOwn || endpoint.url === undefined || listedEndpoint(endpoint.url)) return;
  const host = new URL(endpoint.url).host;
  throw new StorageError({
    code: 'InvalidConfig',
    provider: PROVIDER,
    operation: 'connect',
    message: `the function's own AWS credentials are not sent to the custom endpoint ${host}`,
    hint: `put the endpoint's own access keys in the storage secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or, if the deployment trusts the endpoint with its role, add ${new URL(endpoint.url).hostname} to ${HOSTS_SETTING}`,
    retryable: false,
  });
}

export async function createStore(
  backend: S3Backend,
  context: Store.StoreContext,
): Promise<Store.ObjectStore> {
  const endpoint = resolveS3Endpoint(backend.endpoint, context.endpoint);
  const configuredRegion = backend.region?.trim() || undefined;
  const caPem = context.credentials.reveal('CA_CERT_DATA')?.trim() || undefined;
  const credentials = credentialsFrom(context);
  refuseRoleCredentialsFor(endpoint, credentials);
  return new S3Store({
    bucket: backend.bucket,
    endpoint,
    region: configuredRegion ?? endpoint.hostRegion ?? DEFAULT_REGION,
    regionPinned: configuredRegion !== undefined,
    credentials,
    caPem,
    insecureTLS: backend.insecureTLS,
  });
}
