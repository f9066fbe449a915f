/**
 * A contract fake of the Backblaze B2 native API (v2), on node:http. It follows Backblaze's documented
 * requests, responses and error bodies (`{status, code, message}`), so the real `backblaze-b2` client
 * can be pointed at it (authorize with `axiosOverride: { url }`; every later call goes to the apiUrl and
 * downloadUrl this fake returns, which are its own address, or the loopback address the client reached
 * it at: a TCP proxy in front of the fake then carries every later call too, upload URLs included).
 *
 * What it models, as B2 documents it:
 * - b2_authorize_account with the master key (account id) or application keys, each with `allowed`
 *   {capabilities, bucketId, bucketName, namePrefix};
 * - b2_list_buckets (bucketName / bucketId filters; a bucket-restricted key listing all buckets, or
 *   another bucket, is `401 unauthorized`), b2_create_bucket (name rules, `duplicate_bucket_name`);
 * - b2_get_upload_url and the upload itself (X-Bz-File-Name percent-encoded, X-Bz-Content-Sha1 verified);
 * - b2_list_file_names and b2_list_file_versions (prefix, delimiter folders, startFileName/startFileId,
 *   nextFileName/nextFileId, maxFileCount 0 → 100, > 10000 → `400 out_of_range`), versions newest first;
 * - download by name (GET/HEAD `/file/BUCKET/NAME`, the newest visible version), b2_get_file_info,
 *   b2_delete_file_version (`400 file_not_present`), b2_hide_file;
 * - capabilities and namePrefix restrictions on every call (`401 unauthorized`), bad / expired tokens
 *   (`401 bad_auth_token` / `expired_auth_token`).
 *
 * Test control (not part of B2) lives under `/__fake/`: create keys and buckets, inject any error code
 * for one key and one operation, expire a key's tokens, add latency, read per-key call statistics.
 * Control is per application key id, so test files sharing one fake never disturb each other.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const ALL_CAPABILITIES = [
  'listKeys',
  'writeKeys',
  'deleteKeys',
  'listBuckets',
  'listAllBucketNames',
  'readBuckets',
  'writeBuckets',
  'deleteBuckets',
  'listFiles',
  'readFiles',
  'shareFiles',
  'writeFiles',
  'deleteFiles',
];
/** What the B2 web UI gives a key restricted to one bucket with "Read and Write". */
export const BUCKET_KEY_CAPABILITIES = [
  'listBuckets',
  'listAllBucketNames',
  'readBuckets',
  'listFiles',
  'readFiles',
  'shareFiles',
  'writeFiles',
  'deleteFiles',
];

interface Key {
  keyId: string;
  secret: string;
  capabilities: string[];
  bucketId: string | null;
  namePrefix: string | null;
}

interface Bucket {
  bucketId: string;
  bucketName: string;
  bucketType: string;
  /** Every version of every name, in commit order. */
  versions: FileVersion[];
}

interface FileVersion {
  fileId: string;
  fileName: string;
  action: 'upload' | 'hide';
  contentLength: number;
  contentSha1: string;
  contentType: string;
  fileInfo: Record<string, string>;
  uploadTimestamp: number;
  data: Buffer;
  bucketId: string;
}

export interface Injection {
  /** Which key's requests fail (application key id, or the account id for the master key). */
  keyId: string;
  /** B2 operation name: b2_authorize_account, b2_list_buckets, b2_upload_file, b2_download_file_by_name, … */
  operation: string;
  status: number;
  code: string;
  message?: string;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface KeyStats {
  calls: Record<string, number>;
  /** b2_list_buckets calls without a bucketName/bucketId filter. */
  unfilteredBucketListings: number;
  /** Most requests of this key in flight at once. */
  maxInFlight: number;
}

class B2Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const unauthorized = (message: string): B2Failure => new B2Failure(401, 'unauthorized', message);
const badRequest = (message: string): B2Failure => new B2Failure(400, 'bad_request', message);

function sha1(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** B2 sorts names by their UTF-8 bytes. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const BUCKET_NAME = /^[A-Za-z0-9-]{6,50}$/;

export class B2Fake {
  readonly accountId: string;
  readonly masterKey: string;
  readonly #keys = new Map<string, Key>();
  readonly #tokens = new Map<string, { keyId: string; expired: boolean }>();
  readonly #uploadTokens = new Map<string, { keyId: string; bucketId: string }>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #injections: Required<Injection>[] = [];
  readonly #stats = new Map<string, KeyStats & { inFlight: number }>();
  readonly #latency = new Map<string, number>();
  #server: Server | undefined;
  #url = '';

  constructor() {
    this.accountId = hex(6);
    this.masterKey = `K000${hex(15)}`;
    this.#keys.set(this.accountId, {
      keyId: this.accountId,
      secret: this.masterKey,
      capabilities: [...ALL_CAPABILITIES],
      bucketId: null,
      namePrefix: null,
    });
  }

  get url(): string {
    return this.#url;
  }

  async start(port = 0): Promise<string> {
    const server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          this.#sendError(response, new B2Failure(500, 'internal_error', String(error)));
        else response.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- test control -------------------------------------------------------------------------------

  createBucket(bucketName: string, bucketType = 'allPrivate'): Bucket {
    if (!BUCKET_NAME.test(bucketName) || bucketName.toLowerCase().startsWith('b2-'))
      throw new B2Failure(400, 'invalid_bucket_name', 'Invalid bucket name');
    if (this.#bucketByName(bucketName))
      throw new B2Failure(400, 'duplicate_bucket_name', 'Bucket name is already in use.');
    const bucket: Bucket = { bucketId: hex(12), bucketName, bucketType, versions: [] };
    this.#buckets.set(bucket.bucketId, bucket);
    return bucket;
  }

  /** Removes a bucket with everything in it (keys restricted to it stay, naming no bucket, as B2's do). */
  deleteBucket(bucketName: string): void {
    const bucket = this.#bucketByName(bucketName);
    if (bucket) this.#buckets.delete(bucket.bucketId);
  }

  createKey(options: { bucketName?: string; namePrefix?: string; capabilities?: string[] } = {}): {
    applicationKeyId: string;
    applicationKey: string;
  } {
    let bucketId: string | null = null;
    if (options.bucketName !== undefined) {
      const bucket = this.#bucketByName(options.bucketName);
      if (!bucket) throw badRequest(`no bucket named ${options.bucketName}`);
      bucketId = bucket.bucketId;
    }
    const keyId = `000${this.accountId}${hex(6)}`;
    const key: Key = {
      keyId,
      secret: `K000${hex(15)}`,
      capabilities: options.capabilities ?? (bucketId ? [...BUCKET_KEY_CAPABILITIES] : [...ALL_CAPABILITIES]),
      bucketId,
      namePrefix: options.namePrefix ?? null,
    };
    this.#keys.set(keyId, key);
    return { applicationKeyId: keyId, applicationKey: key.secret };
  }

  inject(injection: Injection): void {
    this.#injections.push({ message: `injected ${injection.code}`, times: 1, ...injection });
  }

  expireTokens(keyId: string): void {
    for (const token of this.#tokens.values()) if (token.keyId === keyId) token.expired = true;
  }

  setLatency(keyId: string, ms: number): void {
    this.#latency.set(keyId, ms);
  }

  stats(keyId: string): KeyStats {
    const stats = this.#statsOf(keyId);
    return {
      calls: { ...stats.calls },
      unfilteredBucketListings: stats.unfilteredBucketListings,
      maxInFlight: stats.maxInFlight,
    };
  }

  /** Every version of one name, newest first (as b2_list_file_versions orders them). */
  versionsOf(
    bucketName: string,
    fileName: string,
  ): { fileId: string; action: string; uploadTimestamp: number }[] {
    const bucket = this.#bucketByName(bucketName);
    if (!bucket) return [];
    return this.#sortedVersions(bucket, fileName)
      .filter((version) => version.fileName === fileName)
      .map(({ fileId, action, uploadTimestamp }) => ({ fileId, action, uploadTimestamp }));
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.#url);
    const body = await readBody(request);
    if (url.pathname.startsWith('/__fake/')) return this.#control(url, body, response);
    let keyId: string | undefined;
    try {
      const route = this.#route(request.method ?? 'GET', url.pathname);
      keyId = route.keyId(request);
      if (keyId) await this.#enter(keyId, route.operation);
      const result = await route.run(request, url, body);
      if (result instanceof DownloadResult) {
        response.writeHead(200, result.headers);
        response.end(request.method === 'HEAD' ? undefined : result.data);
      } else {
        sendJson(response, 200, result);
      }
    } catch (error) {
      this.#sendError(
        response,
        error instanceof B2Failure ? error : new B2Failure(500, 'internal_error', String(error)),
      );
    } finally {
      if (keyId) this.#statsOf(keyId).inFlight -= 1;
    }
  }

  /** Counts the call, applies latency and injected errors for the calling key. */
  async #enter(keyId: string, operation: string): Promise<void> {
    const stats = this.#statsOf(keyId);
    stats.calls[operation] = (stats.calls[operation] ?? 0) + 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const latency = this.#latency.get(keyId);
    if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
    const injection = this.#injections.find(
      (entry) => entry.keyId === keyId && entry.operation === operation && entry.times > 0,
    );
    if (injection) {
      injection.times -= 1;
      throw new B2Failure(injection.status, injection.code, injection.message);
    }
  }

  #statsOf(keyId: string): KeyStats & { inFlight: number } {
    let stats = this.#stats.get(keyId);
    if (!stats) {
      stats = { calls: {}, unfilteredBucketListings: 0, maxInFlight: 0, inFlight: 0 };
      this.#stats.set(keyId, stats);
    }
    return stats;
  }

  #sendError(response: ServerResponse, failure: B2Failure): void {
    sendJson(response, failure.status, {
      status: failure.status,
      code: failure.code,
      message: failure.message,
    });
  }

  #route(
    method: string,
    path: string,
  ): {
    operation: string;
    keyId: (request: IncomingMessage) => string | undefined;
    run: (request: IncomingMessage, url: URL, body: Buffer) => Promise<unknown>;
  } {
    const byToken = (request: IncomingMessage): string | undefined =>
      this.#tokens.get(request.headers.authorization ?? '')?.keyId;
    if (path === '/b2api/v2/b2_authorize_account' && method === 'GET') {
      return {
        operation: 'b2_authorize_account',
        keyId: basicKeyId,
        run: async (request) => this.#authorize(request),
      };
    }
    const upload = /^\/b2api\/v2\/b2_upload_file\/([^/]+)\/([^/]+)$/.exec(path);
    if (upload && method === 'POST') {
      return {
        operation: 'b2_upload_file',
        keyId: (request) => this.#uploadTokens.get(request.headers.authorization ?? '')?.keyId,
        run: async (request, _url, body) => this.#upload(request, upload[1] as string, body),
      };
    }
    if (path.startsWith('/file/') && (method === 'GET' || method === 'HEAD')) {
      return {
        operation: 'b2_download_file_by_name',
        keyId: byToken,
        run: async (request) => this.#download(request, path),
      };
    }
    const api = /^\/b2api\/v2\/(b2_[a-z_]+)$/.exec(path);
    const handler = api ? this.#apiHandlers[api[1] as string] : undefined;
    if (api && handler && (method === 'POST' || method === 'GET')) {
      return {
        operation: api[1] as string,
        keyId: byToken,
        run: async (request, url, body) => {
          const key = this.#keyOfToken(request);
          const params = method === 'GET' ? Object.fromEntries(url.searchParams) : parseJson(body);
          return handler(key, params, this.#originOf(request));
        },
      };
    }
    return {
      operation: 'unknown',
      keyId: () => undefined,
      run: async () => {
        throw new B2Failure(404, 'not_found', `no such operation: ${method} ${path}`);
      },
    };
  }

  #authorize(request: IncomingMessage): unknown {
    const header = request.headers.authorization ?? '';
    const match = /^Basic (.+)$/.exec(header);
    if (!match) throw new B2Failure(401, 'bad_auth_token', 'Authorization header missing or not Basic');
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const key = this.#keys.get(decoded.slice(0, colon));
    if (!key || key.secret !== decoded.slice(colon + 1))
      throw unauthorized('applicationKeyId or applicationKey is wrong');
    const token = `4_${hex(20)}`;
    this.#tokens.set(token, { keyId: key.keyId, expired: false });
    const bucket = key.bucketId ? this.#buckets.get(key.bucketId) : undefined;
    return {
      accountId: this.accountId,
      authorizationToken: token,
      apiUrl: this.#originOf(request),
      downloadUrl: this.#originOf(request),
      s3ApiUrl: this.#originOf(request),
      recommendedPartSize: 100_000_000,
      absoluteMinimumPartSize: 5_000_000,
      allowed: {
        capabilities: key.capabilities,
        bucketId: key.bucketId,
        bucketName: key.bucketId ? (bucket?.bucketName ?? null) : null,
        namePrefix: key.namePrefix,
      },
    };
  }

  #keyOfToken(request: IncomingMessage): Key {
    const header = request.headers.authorization;
    if (!header) throw new B2Failure(401, 'bad_auth_token', 'Missing Authorization header');
    const token = this.#tokens.get(header);
    if (!token) throw new B2Failure(401, 'bad_auth_token', 'Invalid authorization token');
    if (token.expired) throw new B2Failure(401, 'expired_auth_token', 'Authorization token has expired');
    const key = this.#keys.get(token.keyId);
    if (!key) throw new B2Failure(401, 'bad_auth_token', 'Invalid authorization token');
    return key;
  }

  /** The loopback origin the client reached (a proxy in front of the fake), else the fake's own. */
  #originOf(request: IncomingMessage): string {
    const host = request.headers.host;
    return host && /^(127\.0\.0\.1|localhost):\d+$/.test(host) ? `http://${host}` : this.#url;
  }

  readonly #apiHandlers: Record<
    string,
    (key: Key, params: Record<string, unknown>, origin: string) => unknown
  > = {
    b2_list_buckets: (key, params) => {
      requireCapability(key, 'listBuckets');
      if (params.accountId !== this.accountId)
        throw unauthorized('accountId does not match the authorization');
      const bucketId = stringParam(params, 'bucketId');
      const bucketName = stringParam(params, 'bucketName');
      if (bucketId === undefined && bucketName === undefined) {
        this.#statsOf(key.keyId).unfilteredBucketListings += 1;
        if (key.bucketId)
          throw unauthorized('application key is restricted to a bucket: list it by bucketId or bucketName');
      }
      let buckets = [...this.#buckets.values()];
      if (bucketId !== undefined) buckets = buckets.filter((bucket) => bucket.bucketId === bucketId);
      if (bucketName !== undefined) buckets = buckets.filter((bucket) => bucket.bucketName === bucketName);
      if (key.bucketId) {
        const allowedName = this.#buckets.get(key.bucketId)?.bucketName;
        if (
          (bucketId !== undefined && bucketId !== key.bucketId) ||
          (bucketName !== undefined && bucketName !== allowedName)
        ) {
          throw unauthorized('application key is restricted to another bucket');
        }
      }
      buckets.sort((a, b) => compareNames(a.bucketName, b.bucketName));
      return { buckets: buckets.map((bucket) => this.#bucketJson(bucket)) };
    },

    b2_create_bucket: (key, params) => {
      requireCapability(key, 'writeBuckets');
      if (key.bucketId) throw unauthorized('application key is restricted to a bucket');
      if (params.accountId !== this.accountId)
        throw unauthorized('accountId does not match the authorization');
      const bucketName = stringParam(params, 'bucketName');
      const bucketType = stringParam(params, 'bucketType');
      if (bucketName === undefined) throw badRequest('bucketName is required');
      if (bucketType !== 'allPrivate' && bucketType !== 'allPublic')
        throw badRequest('bucketType must be allPrivate or allPublic');
      return this.#bucketJson(this.createBucket(bucketName, bucketType));
    },

    b2_get_upload_url: (key, params, origin) => {
      requireCapability(key, 'writeFiles');
      const bucket = this.#bucketFor(key, params);
      const token = `4_upload_${hex(16)}`;
      this.#uploadTokens.set(token, { keyId: key.keyId, bucketId: bucket.bucketId });
      return {
        bucketId: bucket.bucketId,
        uploadUrl: `${origin}/b2api/v2/b2_upload_file/${bucket.bucketId}/c000_v0001000_t${hex(4)}`,
        authorizationToken: token,
      };
    },

    b2_list_file_names: (key, params) => {
      requireCapability(key, 'listFiles');
      const bucket = this.#bucketFor(key, params);
      const query = listQuery(key, params);
      const latest = new Map<string, FileVersion>();
      for (const version of this.#sortedVersions(bucket, query.prefix))
        if (!latest.has(version.fileName)) latest.set(version.fileName, version);
      const visible = [...latest.values()].filter((version) => version.action === 'upload');
      const entries = foldEntries(visible, query).filter(
        (entry) => compareNames(entry.name, query.startFileName) >= 0,
      );
      const page = entries.slice(0, query.maxFileCount);
      const next = entries[query.maxFileCount];
      return { files: page.map((entry) => this.#entryJson(entry)), nextFileName: next ? next.name : null };
    },

    b2_list_file_versions: (key, params) => {
      requireCapability(key, 'listFiles');
      const bucket = this.#bucketFor(key, params);
      const query = listQuery(key, params);
      const startFileId = stringParam(params, 'startFileId');
      if (startFileId !== undefined && query.startFileName === '')
        throw badRequest('startFileName is required with startFileId');
      const entries = foldEntries(this.#sortedVersions(bucket, query.prefix), query);
      let first = entries.findIndex((entry) => compareNames(entry.name, query.startFileName) >= 0);
      if (first < 0) first = entries.length;
      if (startFileId !== undefined) {
        // The name-and-id pair is the starting point: skip versions of that name listed before the id.
        const exact = entries.findIndex(
          (entry) => entry.version?.fileName === query.startFileName && entry.version.fileId === startFileId,
        );
        if (exact < 0)
          throw new B2Failure(400, 'invalid_file_id', `no version ${startFileId} of ${query.startFileName}`);
        first = exact;
      }
      const rest = entries.slice(first);
      const page = rest.slice(0, query.maxFileCount);
      const next = rest[query.maxFileCount];
      return {
        files: page.map((entry) => this.#entryJson(entry)),
        nextFileName: next ? next.name : null,
        nextFileId: next?.version ? next.version.fileId : null,
      };
    },

    b2_get_file_info: (key, params) => {
      requireCapability(key, 'readFiles');
      const fileId = stringParam(params, 'fileId');
      const version = fileId === undefined ? undefined : this.#versionById(fileId);
      if (!version || (key.bucketId && key.bucketId !== version.bucketId))
        throw new B2Failure(404, 'not_found', `File not present: ${fileId}`);
      requirePrefix(key, version.fileName);
      return this.#fileJson(version);
    },

    b2_delete_file_version: (key, params) => {
      requireCapability(key, 'deleteFiles');
      const fileId = stringParam(params, 'fileId');
      const fileName = stringParam(params, 'fileName');
      if (fileId === undefined || fileName === undefined)
        throw badRequest('fileId and fileName are required');
      requirePrefix(key, fileName);
      const version = this.#versionById(fileId);
      if (!version || version.fileName !== fileName || (key.bucketId && key.bucketId !== version.bucketId)) {
        throw new B2Failure(400, 'file_not_present', `File not present: ${fileName} ${fileId}`);
      }
      const bucket = this.#buckets.get(version.bucketId) as Bucket;
      bucket.versions = bucket.versions.filter((entry) => entry.fileId !== fileId);
      return { fileId, fileName };
    },

    b2_hide_file: (key, params) => {
      requireCapability(key, 'writeFiles');
      const bucket = this.#bucketFor(key, params);
      const fileName = stringParam(params, 'fileName');
      if (fileName === undefined) throw badRequest('fileName is required');
      requirePrefix(key, fileName);
      const version = this.#commit(bucket, fileName, 'hide', Buffer.alloc(0), 'application/x-bz-hide-marker');
      return this.#fileJson(version);
    },
  };

  async #upload(request: IncomingMessage, bucketId: string, body: Buffer): Promise<unknown> {
    const token = this.#uploadTokens.get(request.headers.authorization ?? '');
    if (!token || token.bucketId !== bucketId)
      throw new B2Failure(401, 'bad_auth_token', 'Invalid upload authorization token');
    const key = this.#keys.get(token.keyId) as Key;
    const bucket = this.#buckets.get(bucketId);
    if (!bucket) throw new B2Failure(400, 'bad_bucket_id', `bucket ${bucketId} does not exist`);
    const rawName = header(request, 'x-bz-file-name');
    if (rawName === undefined) throw badRequest('X-Bz-File-Name header is required');
    const fileName = decodeURIComponent(rawName.replace(/\+/g, ' '));
    if (
      fileName === '' ||
      Buffer.byteLength(fileName) > 1024 ||
      fileName.startsWith('/') ||
      fileName.includes('//')
    ) {
      throw badRequest(`invalid file name: ${fileName}`);
    }
    requirePrefix(key, fileName);
    const length = Number(header(request, 'content-length'));
    if (!Number.isFinite(length)) throw new B2Failure(411, 'bad_request', 'Content-Length is required');
    if (length !== body.length) throw badRequest('Content-Length does not match the body');
    const expected = header(request, 'x-bz-content-sha1');
    if (expected === undefined) throw badRequest('X-Bz-Content-Sha1 header is required');
    if (expected !== 'do_not_verify' && expected.toLowerCase() !== sha1(body))
      throw badRequest('Checksum did not match data received');
    const contentType = header(request, 'content-type') ?? 'b2/x-auto';
    const version = this.#commit(
      bucket,
      fileName,
      'upload',
      body,
      contentType === 'b2/x-auto' ? 'application/octet-stream' : contentType,
    );
    return this.#fileJson(version);
  }

  async #download(request: IncomingMessage, path: string): Promise<DownloadResult> {
    const key = this.#keyOfToken(request);
    requireCapability(key, 'readFiles');
    const rest = path.slice('/file/'.length);
    const slash = rest.indexOf('/');
    const bucketName = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
    const fileName = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1));
    const bucket = this.#bucketByName(bucketName);
    if (key.bucketId && bucket?.bucketId !== key.bucketId)
      throw unauthorized('application key is restricted to another bucket');
    if (!bucket) throw new B2Failure(404, 'not_found', `Bucket does not exist: ${bucketName}`);
    requirePrefix(key, fileName);
    const newest = this.#sortedVersions(bucket, fileName).find((version) => version.fileName === fileName);
    if (!newest || newest.action !== 'upload')
      throw new B2Failure(404, 'not_found', `File with such name does not exist: ${fileName}`);
    return new DownloadResult(newest.data, {
      'Content-Type': newest.contentType,
      'Content-Length': String(newest.data.length),
      'X-Bz-File-Id': newest.fileId,
      'X-Bz-File-Name': encodeURIComponent(newest.fileName).replace(/%2F/g, '/'),
      'X-Bz-Content-Sha1': newest.contentSha1,
      'X-Bz-Upload-Timestamp': String(newest.uploadTimestamp),
    });
  }

  #commit(
    bucket: Bucket,
    fileName: string,
    action: 'upload' | 'hide',
    data: Buffer,
    contentType: string,
  ): FileVersion {
    const version: FileVersion = {
      fileId: `4_z${bucket.bucketId}_f${hex(12)}_d${hex(4)}_c000_v0001000_t0001`,
      fileName,
      action,
      contentLength: data.length,
      contentSha1: action === 'upload' ? sha1(data) : 'none',
      contentType,
      fileInfo: {},
      // Millisecond resolution, as B2's: versions committed within the same millisecond tie.
      uploadTimestamp: Date.now(),
      data,
      bucketId: bucket.bucketId,
    };
    bucket.versions.push(version);
    return version;
  }

  /** Name ascending; versions of one name newest first (commit order breaks timestamp ties). */
  #sortedVersions(bucket: Bucket, prefix = ''): FileVersion[] {
    const order = new Map(bucket.versions.map((version, index) => [version.fileId, index]));
    return bucket.versions
      .filter((version) => version.fileName.startsWith(prefix))
      .sort(
        (a, b) =>
          compareNames(a.fileName, b.fileName) ||
          b.uploadTimestamp - a.uploadTimestamp ||
          (order.get(b.fileId) as number) - (order.get(a.fileId) as number),
      );
  }

  #versionById(fileId: string): FileVersion | undefined {
    for (const bucket of this.#buckets.values()) {
      const found = bucket.versions.find((version) => version.fileId === fileId);
      if (found) return found;
    }
    return undefined;
  }

  #bucketByName(name: string): Bucket | undefined {
    return [...this.#buckets.values()].find((bucket) => bucket.bucketName === name);
  }

  /** The bucket a file call names; restricted keys may only name theirs. */
  #bucketFor(key: Key, params: Record<string, unknown>): Bucket {
    const bucketId = stringParam(params, 'bucketId');
    if (bucketId === undefined) throw badRequest('bucketId is required');
    if (key.bucketId && key.bucketId !== bucketId)
      throw unauthorized('application key is restricted to another bucket');
    const bucket = this.#buckets.get(bucketId);
    if (!bucket) throw new B2Failure(400, 'bad_bucket_id', `Invalid bucketId: ${bucketId}`);
    return bucket;
  }

  #bucketJson(bucket: Bucket): unknown {
    return {
      accountId: this.accountId,
      bucketId: bucket.bucketId,
      bucketName: bucket.bucketName,
      bucketType: bucket.bucketType,
      bucketInfo: {},
      corsRules: [],
      lifecycleRules: [],
      options: [],
      revision: 1,
    };
  }

  #fileJson(version: FileVersion): unknown {
    return {
      accountId: this.accountId,
      action: version.action,
      bucketId: version.bucketId,
      contentLength: version.contentLength,
      contentSha1: version.contentSha1,
      contentType: version.contentType,
      fileId: version.fileId,
      fileInfo: version.fileInfo,
      fileName: version.fileName,
      uploadTimestamp: version.uploadTimestamp,
    };
  }

  #entryJson(entry: ListEntry): unknown {
    if (entry.version) return this.#fileJson(entry.version);
    return {
      accountId: this.accountId,
      action: 'folder',
      bucketId: null,
      contentLength: 0,
      contentSha1: null,
      contentType: null,
      fileId: null,
      fileInfo: {},
      fileName: entry.name,
      uploadTimestamp: 0,
    };
  }

  async #control(url: URL, body: Buffer, response: ServerResponse): Promise<void> {
    const params = body.length > 0 ? parseJson(body) : {};
    try {
      switch (url.pathname) {
        case '/__fake/keys':
          return sendJson(response, 200, this.createKey(params as Parameters<B2Fake['createKey']>[0]));
        case '/__fake/buckets':
          return sendJson(response, 200, this.#bucketJson(this.createBucket(String(params.bucketName))));
        case '/__fake/delete-bucket':
          this.deleteBucket(String(params.bucketName));
          return sendJson(response, 200, {});
        case '/__fake/inject':
          this.inject(params as unknown as Injection);
          return sendJson(response, 200, {});
        case '/__fake/expire':
          this.expireTokens(String(params.keyId));
          return sendJson(response, 200, {});
        case '/__fake/latency':
          this.setLatency(String(params.keyId), Number(params.ms));
          return sendJson(response, 200, {});
        case '/__fake/stats':
          return sendJson(response, 200, this.stats(url.searchParams.get('keyId') ?? ''));
        case '/__fake/versions':
          return sendJson(
            response,
            200,
            this.versionsOf(url.searchParams.get('bucketName') ?? '', url.searchParams.get('fileName') ?? ''),
          );
        default:
          throw new B2Failure(404, 'not_found', `no control route ${url.pathname}`);
      }
    } catch (error) {
      this.#sendError(
        response,
        error instanceof B2Failure ? error : new B2Failure(500, 'internal_error', String(error)),
      );
    }
  }
}

class DownloadResult {
  constructor(
    readonly data: Buffer,
    readonly headers: Record<string, string>,
  ) {}
}

interface ListEntry {
  name: string;
  /** Absent for a folder. */
  version?: FileVersion;
}

interface ListQuery {
  prefix: string;
  delimiter: string | undefined;
  startFileName: string;
  maxFileCount: number;
}

function listQuery(key: Key, params: Record<string, unknown>): ListQuery {
  const prefix = stringParam(params, 'prefix') ?? '';
  // Since API v2 a prefix-restricted key must ask within its prefix; it is not filtered for it.
  if (key.namePrefix && !prefix.startsWith(key.namePrefix))
    throw unauthorized(`application key is restricted to names starting with ${key.namePrefix}`);
  const delimiter = stringParam(params, 'delimiter');
  const raw =
    params.maxFileCount === undefined || params.maxFileCount === null ? 100 : Number(params.maxFileCount);
  if (!Number.isInteger(raw) || raw < 0 || raw > 10_000)
    throw new B2Failure(400, 'out_of_range', 'maxFileCount out of range');
  return {
    prefix,
    delimiter: delimiter === '' ? undefined : delimiter,
    startFileName: stringParam(params, 'startFileName') ?? '',
    maxFileCount: raw === 0 ? 100 : raw,
  };
}

/** Sorted versions under the prefix, with names below the next delimiter folded into one folder entry. */
function foldEntries(versions: FileVersion[], query: ListQuery): ListEntry[] {
  const entries: ListEntry[] = [];
  for (const version of versions) {
    if (!version.fileName.startsWith(query.prefix)) continue;
    const cut =
      query.delimiter === undefined ? -1 : version.fileName.indexOf(query.delimiter, query.prefix.length);
    if (cut < 0) {
      entries.push({ name: version.fileName, version });
      continue;
    }
    const folder = version.fileName.slice(0, cut + (query.delimiter as string).length);
    if (entries.at(-1)?.name !== folder) entries.push({ name: folder });
  }
  return entries;
}

function requireCapability(key: Key, capability: string): void {
  if (!key.capabilities.includes(capability))
    throw unauthorized(`application key does not have the ${capability} capability`);
}

function requirePrefix(key: Key, fileName: string): void {
  if (key.namePrefix && !fileName.startsWith(key.namePrefix))
    throw unauthorized(`application key is restricted to names starting with ${key.namePrefix}`);
}

function stringParam(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function basicKeyId(request: IncomingMessage): string | undefined {
  const match = /^Basic (.+)$/.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  return decoded.slice(0, decoded.indexOf(':'));
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw badRequest('request body is not a JSON object');
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  response.writeHead(status, {
    'Content-Type': 'application/json;charset=utf-8',
    'Content-Length': String(body.length),
    'Cache-Control': 'max-age=0, no-cache, no-store',
  });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Test-side client of the fake's `/__fake/` control routes (the fake runs in the global-setup process). */
export class B2FakeControl {
  constructor(readonly url: string) {}

  async #post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const parsed = (await response.json()) as T;
    if (!response.ok) throw new Error(`B2 fake control ${path}: ${JSON.stringify(parsed)}`);
    return parsed;
  }

  createBucket(bucketName: string): Promise<{ bucketId: string; bucketName: string }> {
    return this.#post('/__fake/buckets', { bucketName });
  }

  createKey(
    options: { bucketName?: string; namePrefix?: string; capabilities?: string[] } = {},
  ): Promise<{ applicationKeyId: string; applicationKey: string }> {
    return this.#post('/__fake/keys', options);
  }

  deleteBucket(bucketName: string): Promise<void> {
    return this.#post('/__fake/delete-bucket', { bucketName });
  }

  inject(injection: Injection): Promise<void> {
    return this.#post('/__fake/inject', injection);
  }

  expireTokens(keyId: string): Promise<void> {
    return this.#post('/__fake/expire', { keyId });
  }

  setLatency(keyId: string, ms: number): Promise<void> {
    return this.#post('/__fake/latency', { keyId, ms });
  }

  async stats(keyId: string): Promise<KeyStats> {
    return (
      await fetch(`${this.url}/__fake/stats?keyId=${encodeURIComponent(keyId)}`)
    ).json() as Promise<KeyStats>;
  }

  async versionsOf(
    bucketName: string,
    fileName: string,
  ): Promise<{ fileId: string; action: string; uploadTimestamp: number }[]> {
    const query = new URLSearchParams({ bucketName, fileName });
    return (await fetch(`${this.url}/__fake/versions?${query}`)).json() as Promise<
      { fileId: string; action: string; uploadTimestamp: number }[]
    >;
  }
}
