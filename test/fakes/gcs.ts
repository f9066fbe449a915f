/**
 * A contract fake of the Google Cloud Storage JSON API (v1), on node:http, for the calls
 * @google-cloud/storage 7.x makes: bucket get/create, multipart upload with generation preconditions,
 * object metadata, `alt=media` download, list with prefix/delimiter/maxResults/pageToken, delete.
 * Listings come in UTF-8 byte order, as GCS's do, from an index kept sorted on write: a list call seeks to
 * its first entry and walks only what it returns, so a bucket of 100,000 objects lists as fast as a small one.
 * It follows Google's documented semantics: objects carry generation numbers, a failed precondition is
 * 412 `conditionNotMet`, missing buckets and objects are 404 with GCS's own messages, every error has
 * the JSON API body `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`, object
 * resources carry base64 `md5Hash` and big-endian base64 `crc32c`, and downloads send `x-goog-hash`.
 *
 * Authentication: a request without Authorization is anonymous (as against an emulator); a request with
 * `Authorization: Bearer <JWT>` must carry a self-signed RS256 JWT of a service account whose public key
 * was registered (`trustKey`), else 401 — so a wrong key is rejected through the real SDK's signer.
 *
 * Faults, per bucket so parallel test files never meet: `setFault(bucket, {status, times?})` answers every
 * request naming the bucket with that status (GCS's reason and message for it), `times` times or forever;
 * `hideMissingObjects(bucket)` answers 403 instead of 404 when a missing object is read, as GCS does for a
 * caller without `storage.objects.list`. The same controls are served over HTTP under `/_fake/` for tests that
 * run in another process than the fake.
 */
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFault {
  /** 401, 403, 429, 500, 503, …; without one the request is served normally (after `delayMs`). */
  status?: number;
  /** Hold the request this long before answering (deadline and concurrency tests). */
  delayMs?: number;
  /** How many requests get the fault; forever when absent. */
  times?: number;
}

interface StoredObject {
  name: string;
  data: Buffer;
  generation: number;
  metageneration: number;
  contentType: string;
  md5Hash: string;
  crc32c: string;
  created: Date;
}

/** A UTF-16 code unit's place in code point order: surrogates (astral characters) above the rest of the BMP. */
const rank = (unit: number): number => (unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800);

/**
 * Orders two strings as their UTF-8 encodings compare, GCS's listing order, without encoding them. UTF-8
 * byte order is code point order, while `<` compares UTF-16 code units and so sorts astral characters
 * (surrogates, 0xD800–0xDFFF) before U+E000–U+FFFF; the first differing unit decides, so ranking surrogates
 * above the rest of the BMP there is enough. (A lone surrogate, which is not valid UTF-8 and which GCS would
 * refuse, ranks as that surrogate here where Buffer.from would have made it U+FFFD.)
 */
function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/**
 * A bucket's object names kept in UTF-8 byte order, so a listing seeks by binary search instead of sorting
 * the bucket on every call. Names sharing a prefix form one run in that order, which is what lets a listing
 * start at its prefix and step over a whole folded prefix at once.
 */
class NameIndex {
  private readonly names: string[] = [];

  get size(): number {
    return this.names.length;
  }

  at(index: number): string {
    return this.names[index] as string;
  }

  /**
   * The first index at or after `from` whose name fails `before`; every name that passes must sort
   * before every name that fails (a prefix of the order, e.g. "sorts before x" or "starts with p").
   */
  seek(before: (name: string) => boolean, from = 0): number {
    let low = from;
    let high = this.names.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(this.names[middle] as string)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The index of the first name that sorts at or after `key` (after it, when `strictly`). */
  find(key: string, strictly = false): number {
    return this.seek((name) => (strictly ? compareUtf8(name, key) <= 0 : compareUtf8(name, key) < 0));
  }

  /** Call only for a name not yet indexed (a new object, not a new generation of one). */
  insert(name: string): void {
    // Uploads in order (the common way to fill a bucket) append without a search.
    const last = this.names.at(-1);
    if (last === undefined || compareUtf8(last, name) < 0) this.names.push(name);
    else this.names.splice(this.find(name), 0, name);
  }

  remove(name: string): void {
    const index = this.find(name);
    if (this.names[index] === name) this.names.splice(index, 1);
  }
}

interface StoredBucket {
  name: string;
  project: string;
  created: Date;
  objects: Map<string, StoredObject>;
  /** The keys of `objects`, in listing order; changed together with it. */
  names: NameIndex;
}

export interface FakeGcsStats {
  /** Requests seen per `METHOD kind` (e.g. `POST upload`, `GET object`), faults included. */
  requests: Record<string, number>;
  /** Most requests naming the bucket that were in progress at once. */
  maxInFlight: number;
}

export interface FakeGcs {
  /** `http://127.0.0.1:PORT`: what the SDK takes as `apiEndpoint`. */
  readonly endpoint: string;
  createBucket(name: string, project?: string): void;
  setFault(bucket: string, fault: FakeFault | undefined): void;
  hideMissingObjects(bucket: string, hidden?: boolean): void;
  /** Accepts self-signed JWTs of this service account. */
  trustKey(clientEmail: string, publicKeyPem: string): void;
  stats(bucket: string): FakeGcsStats;
  stop(): Promise<void>;
}

// ---- wire helpers -------------------------------------------------------------------------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli), base64 of its 4 big-endian bytes, as GCS reports it. */
export function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const NO_SUCH_BUCKET = (): HttpError =>
  new HttpError(404, 'notFound', 'The specified bucket does not exist.');

/** GCS's reason and message for each status a fault can inject. */
function faultError(status: number, bucket: string): HttpError {
  switch (status) {
    case 401:
      return new HttpError(401, 'authError', 'Invalid Credentials', {
        locationType: 'header',
        location: 'Authorization',
      });
    case 403:
      return new HttpError(
        403,
        'forbidden',
        `backup-checker@example.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist). (bucket ${bucket})`,
      );
    case 429:
      return new HttpError(
        429,
        'rateLimitExceeded',
        'The rate of change requests to the object exceeds the rate limit. Please reduce the rate of create, update, and delete requests.',
      );
    case 503:
      return new HttpError(503, 'backendError', 'Backend Error');
    default:
      return new HttpError(status, status >= 500 ? 'backendError' : 'invalid', `Injected error ${status}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, {
    error: {
      code: error.status,
      message: error.message,
      errors: [{ message: error.message, domain: 'global', reason: error.reason, ...error.extra }],
    },
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The parts of a `multipart/related` body: headers (lower-cased) and content. */
function parseMultipart(
  body: Buffer,
  contentType: string,
): { headers: Record<string, string>; content: Buffer }[] {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!match) throw new HttpError(400, 'invalid', 'Missing boundary in multipart Content-Type.');
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: { headers: Record<string, string>; content: Buffer }[] = [];
  let position = body.indexOf(delimiter);
  while (position >= 0) {
    const start = position + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const raw = body.subarray(start, next);
    const headerEnd = raw.indexOf('\r\n\r\n');
    const headerText = raw.subarray(0, headerEnd).toString('utf8');
    const headers = Object.fromEntries(
      headerText
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [
          line.slice(0, line.indexOf(':')).trim().toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
    );
    // Content ends before the CRLF that precedes the next delimiter.
    const content = raw.subarray(headerEnd + 4, raw.length - 2);
    parts.push({ headers, content });
    position = next;
  }
  return parts;
}

function parseJwtBearer(header: string | undefined):
  | {
      header: { kid?: string; alg?: string };
      claims: Record<string, unknown>;
      signed: string;
      signature: Buffer;
    }
  | undefined {
  const match = /^Bearer\s+(\S+)$/.exec(header ?? '');
  if (!match) return undefined;
  const pieces = (match[1] as string).split('.');
  if (pieces.length !== 3) return undefined;
  try {
    const decode = (piece: string): Record<string, unknown> =>
      JSON.parse(Buffer.from(piece, 'base64url').toString('utf8')) as Record<string, unknown>;
    return {
      header: decode(pieces[0] as string),
      claims: decode(pieces[1] as string),
      signed: `${pieces[0]}.${pieces[1]}`,
      signature: Buffer.from(pieces[2] as string, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

// ---- the fake --------------------------------------------------------------------------------------

export async function startFakeGcs(options: { port?: number; host?: string } = {}): Promise<FakeGcs> {
  const buckets = new Map<string, StoredBucket>();
  const faults = new Map<string, FakeFault>();
  const hidden = new Set<string>();
  const trusted = new Map<string, KeyObject>();
  const stats = new Map<string, FakeGcsStats>();
  let generationClock = Date.now() * 1000;

  const count = (bucket: string, kind: string): void => {
    const entry = stats.get(bucket) ?? { requests: {}, maxInFlight: 0 };
    entry.requests[kind] = (entry.requests[kind] ?? 0) + 1;
    stats.set(bucket, entry);
  };

  const createBucket = (name: string, project = 'fake-project'): StoredBucket => {
    const bucket: StoredBucket = {
      name,
      project,
      created: new Date(),
      objects: new Map(),
      names: new NameIndex(),
    };
    buckets.set(name, bucket);
    return bucket;
  };

  const bucketResource = (bucket: StoredBucket, endpoint: string): Record<string, unknown> => ({
    kind: 'storage#bucket',
    id: bucket.name,
    selfLink: `${endpoint}/storage/v1/b/${bucket.name}`,
    projectNumber: '123456789012',
    name: bucket.name,
    timeCreated: bucket.created.toISOString(),
    updated: bucket.created.toISOString(),
    metageneration: '1',
    location: 'US',
    locationType: 'multi-region',
    storageClass: 'STANDARD',
    etag: 'CAE=',
  });

  const objectResource = (
    bucket: StoredBucket,
    object: StoredObject,
    endpoint: string,
  ): Record<string, unknown> => {
    const encoded = encodeURIComponent(object.name);
    return {
      kind: 'storage#object',
      id: `${bucket.name}/${object.name}/${object.generation}`,
      selfLink: `${endpoint}/storage/v1/b/${bucket.name}/o/${encoded}`,
      mediaLink: `${endpoint}/download/storage/v1/b/${bucket.name}/o/${encoded}?generation=${object.generation}&alt=media`,
      name: object.name,
      bucket: bucket.name,
      generation: String(object.generation),
      metageneration: String(object.metageneration),
      contentType: object.contentType,
      storageClass: 'STANDARD',
      size: String(object.data.length),
      md5Hash: object.md5Hash,
      crc32c: object.crc32c,
      etag: Buffer.from(`${object.generation}`).toString('base64'),
      timeCreated: object.created.toISOString(),
      updated: object.created.toISOString(),
      timeStorageClassUpdated: object.created.toISOString(),
    };
  };

  const requireBucket = (name: string): StoredBucket => {
    const bucket = buckets.get(name);
    if (!bucket) throw NO_SUCH_BUCKET();
    return bucket;
  };

  const missingObject = (bucket: StoredBucket, name: string): HttpError =>
    hidden.has(bucket.name)
      ? faultError(403, bucket.name)
      : new HttpError(404, 'notFound', `No such object: ${bucket.name}/${name}`);

  /** ifGenerationMatch / ifGenerationNotMatch, as documented: 0 means "no live object". */
  const checkPreconditions = (query: URLSearchParams, current: StoredObject | undefined): void => {
    const match = query.get('ifGenerationMatch');
    const notMatch = query.get('ifGenerationNotMatch');
    const generation = current?.generation ?? 0;
    const failed =
      (match !== null && Number(match) !== generation) ||
      (notMatch !== null && Number(notMatch) === generation);
    if (failed) {
      throw new HttpError(
        412,
        'conditionNotMet',
        'At least one of the pre-conditions you specified did not hold.',
        {
          locationType: 'header',
          location: 'If-Match',
        },
      );
    }
  };

  const authenticate = (req: IncomingMessage): void => {
    const authorization = req.headers.authorization;
    if (authorization === undefined) return;
    const jwt = parseJwtBearer(authorization);
    const key = jwt && typeof jwt.claims.iss === 'string' ? trusted.get(jwt.claims.iss) : undefined;
    const valid =
      jwt !== undefined &&
      key !== undefined &&
      jwt.header.alg === 'RS256' &&
      jwt.claims.sub === jwt.claims.iss &&
      typeof jwt.claims.exp === 'number' &&
      jwt.claims.exp * 1000 > Date.now() &&
      verifySignature('RSA-SHA256', Buffer.from(jwt.signed), key, jwt.signature);
    if (!valid) throw faultError(401, '');
  };

  const list = (bucket: StoredBucket, query: URLSearchParams, endpoint: string): Record<string, unknown> => {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxResults = Math.min(1000, Math.max(1, Number(query.get('maxResults') ?? 1000) || 1000));
    const pageToken = query.get('pageToken');
    const after = pageToken ? Buffer.from(pageToken, 'base64url').toString('utf8') : undefined;
    const { names } = bucket;
    // The names under the prefix are one run starting at the prefix; a page token moves the start past the
    // names the earlier pages covered.
    let index = names.find(prefix);
    if (after !== undefined) index = Math.max(index, names.find(after, true));
    const items: StoredObject[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let truncated = false;
    while (index < names.size) {
      const name = names.at(index);
      if (!name.startsWith(prefix)) break;
      const cut = delimiter === '' ? -1 : name.indexOf(delimiter, prefix.length);
      const entry = cut >= 0 ? name.slice(0, cut + delimiter.length) : name;
      // A folded entry stands for the whole run of names under it (an object named like the folded prefix
      // itself, e.g. `a/`, is listed as an item and still hides the run), so step over the run at once.
      const next = cut >= 0 ? names.seek((other) => other.startsWith(entry), index) : index + 1;
      // A token that is a folded prefix sorts before the names under it, which an earlier page covered.
      if (after === undefined || compareUtf8(entry, after) > 0) {
        if (items.length + prefixes.length >= maxResults) {
          truncated = true;
          break;
        }
        if (entry === name) items.push(bucket.objects.get(name) as StoredObject);
        else prefixes.push(entry);
        last = entry;
      }
      index = next;
    }
    const response: Record<string, unknown> = { kind: 'storage#objects' };
    if (items.length > 0) response.items = items.map((object) => objectResource(bucket, object, endpoint));
    if (prefixes.length > 0) response.prefixes = prefixes;
    if (truncated && last !== undefined) response.nextPageToken = Buffer.from(last).toString('base64url');
    return response;
  };

  const upload = async (
    bucket: StoredBucket,
    req: IncomingMessage,
    query: URLSearchParams,
    endpoint: string,
  ): Promise<Record<string, unknown>> => {
    const uploadType = query.get('uploadType');
    const body = await readBody(req);
    let metadata: Record<string, unknown> = {};
    let content: Buffer;
    let contentType = 'application/octet-stream';
    if (uploadType === 'multipart') {
      const parts = parseMultipart(body, req.headers['content-type'] ?? '');
      if (parts.length !== 2)
        throw new HttpError(400, 'invalid', 'Multipart upload must have exactly two parts.');
      metadata = JSON.parse((parts[0] as { content: Buffer }).content.toString('utf8') || '{}') as Record<
        string,
        unknown
      >;
      content = (parts[1] as { content: Buffer }).content;
      contentType =
        (metadata.contentType as string | undefined) ??
        (parts[1] as { headers: Record<string, string> }).headers['content-type'] ??
        contentType;
    } else if (uploadType === 'media') {
      content = body;
      contentType = req.headers['content-type'] ?? contentType;
    } else {
      throw new HttpError(400, 'invalid', `Unsupported uploadType: ${uploadType ?? '(none)'}`);
    }
    const name = query.get('name') ?? (metadata.name as string | undefined);
    if (!name) throw new HttpError(400, 'required', 'Required parameter: name');
    const current = bucket.objects.get(name);
    checkPreconditions(query, current);
    const object: StoredObject = {
      name,
      data: content,
      generation: ++generationClock,
      metageneration: 1,
      contentType,
      md5Hash: createHash('md5').update(content).digest('base64'),
      crc32c: crc32cBase64(content),
      created: new Date(),
    };
    bucket.objects.set(name, object);
    if (current === undefined) bucket.names.insert(name);
    return objectResource(bucket, object, endpoint);
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const [, , kind, bucketName] = path.split('/').map(decodeURIComponent);
    const body =
      req.method === 'GET' || req.method === 'DELETE'
        ? {}
        : (JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>);
    if (kind === 'faults' && bucketName) {
      handle.setFault(bucketName, req.method === 'DELETE' ? undefined : (body as unknown as FakeFault));
    } else if (kind === 'hidden' && bucketName) {
      handle.hideMissingObjects(bucketName, req.method !== 'DELETE');
    } else if (kind === 'buckets' && bucketName) {
      handle.createBucket(bucketName, body.project as string | undefined);
    } else if (kind === 'keys') {
      handle.trustKey(body.clientEmail as string, body.publicKeyPem as string);
    } else if (kind === 'stats' && bucketName) {
      return sendJson(res, 200, handle.stats(bucketName));
    } else {
      return sendJson(res, 404, { error: 'unknown control' });
    }
    res.writeHead(204).end();
  };

  const route = async (req: IncomingMessage, res: ServerResponse, endpoint: string): Promise<void> => {
    const url = new URL(req.url ?? '/', endpoint);
    const query = url.searchParams;
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/_fake/')) return control(req, res, path);

    const upload_ = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    const object_ = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    const objects_ = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
    const bucket_ = /^\/storage\/v1\/b\/([^/]+)$/.exec(path);
    const creating = path === '/storage/v1/b' && method === 'POST';
    const createBody = creating
      ? (JSON.parse((await readBody(req)).toString('utf8') || '{}') as { name?: string })
      : undefined;
    const bucketName =
      createBody?.name ?? decodeURIComponent((upload_ ?? object_ ?? objects_ ?? bucket_)?.[1] ?? '');
    const kind = upload_
      ? 'upload'
      : object_
        ? query.get('alt') === 'media'
          ? 'media'
          : 'object'
        : objects_
          ? 'list'
          : 'bucket';
    if (bucketName !== '') count(bucketName, `${method} ${kind}`);

    const fault = faults.get(bucketName);
    if (fault) {
      if (fault.times !== undefined && --fault.times <= 0) faults.delete(bucketName);
      if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.status !== undefined) {
        if (!creating) await readBody(req);
        throw faultError(fault.status, bucketName);
      }
    }
    authenticate(req);

    if (creating) {
      const project = query.get('project');
      if (!project) throw new HttpError(400, 'required', 'Required parameter: project');
      if (!createBody?.name) throw new HttpError(400, 'required', 'Required');
      const existing = buckets.get(createBody.name);
      if (existing) {
        throw new HttpError(
          409,
          'conflict',
          existing.project === project
            ? 'Your previous request to create the named bucket succeeded and you already own it.'
            : 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
        );
      }
      return sendJson(res, 200, bucketResource(createBucket(createBody.name, project), endpoint));
    }
    if (bucket_ && method === 'GET')
      return sendJson(res, 200, bucketResource(requireBucket(bucketName), endpoint));
    if (upload_ && method === 'POST') {
      const bucket = requireBucket(bucketName);
      return sendJson(res, 200, await upload(bucket, req, query, endpoint));
    }
    if (objects_ && method === 'GET')
      return sendJson(res, 200, list(requireBucket(bucketName), query, endpoint));
    if (object_) {
      const bucket = requireBucket(bucketName);
      const name = decodeURIComponent(object_[2] as string);
      const object = bucket.objects.get(name);
      if (method === 'DELETE') {
        if (!object) throw new HttpError(404, 'notFound', `No such object: ${bucket.name}/${name}`);
        checkPreconditions(query, object);
        bucket.objects.delete(name);
        bucket.names.remove(name);
        res.writeHead(204).end();
        return;
      }
      if (method === 'GET') {
        if (!object) throw missingObject(bucket, name);
        checkPreconditions(query, object);
        if (query.get('alt') === 'media') {
          res.writeHead(200, {
            'content-type': object.contentType,
            'content-length': object.data.length,
            'x-goog-generation': String(object.generation),
            'x-goog-metageneration': String(object.metageneration),
            'x-goog-stored-content-length': String(object.data.length),
            'x-goog-stored-content-encoding': 'identity',
            'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
            etag: JSON.stringify(Buffer.from(`${object.generation}`).toString('base64')),
          });
          res.end(object.data);
          return;
        }
        return sendJson(res, 200, objectResource(bucket, object, endpoint));
      }
    }
    throw new HttpError(404, 'notFound', `Not Found: ${method} ${path}`);
  };

  const inFlight = new Map<string, number>();
  const track = (req: IncomingMessage, res: ServerResponse): void => {
    const bucket = /^\/(?:upload\/)?storage\/v1\/b\/([^/?]+)/.exec(req.url ?? '')?.[1];
    if (bucket === undefined) return;
    const name = decodeURIComponent(bucket);
    const now = (inFlight.get(name) ?? 0) + 1;
    inFlight.set(name, now);
    const entry = stats.get(name) ?? { requests: {}, maxInFlight: 0 };
    entry.maxInFlight = Math.max(entry.maxInFlight, now);
    stats.set(name, entry);
    res.once('close', () => inFlight.set(name, (inFlight.get(name) ?? 1) - 1));
  };

  const server: Server = createServer((req, res) => {
    const address = server.address() as AddressInfo;
    const endpoint = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
    track(req, res);
    route(req, res, endpoint).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof HttpError) return sendError(res, error);
      if (error instanceof SyntaxError)
        return sendError(res, new HttpError(400, 'parseError', 'Parse Error'));
      sendError(res, new HttpError(500, 'backendError', 'Internal Error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const handle: FakeGcs = {
    endpoint: `http://${options.host ?? '127.0.0.1'}:${port}`,
    createBucket: (name, project) => {
      if (!buckets.has(name)) createBucket(name, project);
    },
    setFault: (bucket, fault) => {
      if (fault) faults.set(bucket, { ...fault });
      else faults.delete(bucket);
    },
    hideMissingObjects: (bucket, on = true) => {
      if (on) hidden.add(bucket);
      else hidden.delete(bucket);
    },
    trustKey: (clientEmail, publicKeyPem) => {
      trusted.set(clientEmail, createPublicKey(publicKeyPem));
    },
    stats: (bucket) => stats.get(bucket) ?? { requests: {}, maxInFlight: 0 },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return handle;
}

/** The `/_fake/` controls of a fake running in another process (the test run's shared server). */
export function fakeGcsControl(endpoint: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const response = await fetch(`${endpoint}/_fake/${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`fake control ${method} ${path}: ${response.status}`);
    return response;
  };
  return {
    createBucket: async (name: string, project?: string) =>
      void (await call('PUT', `buckets/${encodeURIComponent(name)}`, { project })),
    setFault: async (bucket: string, fault: FakeFault | undefined) =>
      void (fault
        ? await call('PUT', `faults/${encodeURIComponent(bucket)}`, fault)
        : await call('DELETE', `faults/${encodeURIComponent(bucket)}`)),
    hideMissingObjects: async (bucket: string, hidden = true) =>
      void (await call(
        hidden ? 'PUT' : 'DELETE',
        `hidden/${encodeURIComponent(bucket)}`,
        hidden ? {} : undefined,
      )),
    trustKey: async (clientEmail: string, publicKeyPem: string) =>
      void (await call('PUT', 'keys', { clientEmail, publicKeyPem })),
    stats: async (bucket: string) =>
      (await (await call('GET', `stats/${encodeURIComponent(bucket)}`)).json()) as FakeGcsStats,
  };
}
