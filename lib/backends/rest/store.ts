/**
 * restic's REST backend protocol (restic doc/REST_backend.rst; rest-server, `rclone serve restic`) behind
 * the ObjectStore interface, on Node's own HTTP client (http-client.ts) like Swift.
 *
 * - One store is one repository: the URL's path. Keys are restic's file keys (paths.ts); anything else
 *   (KubeStash's metadata.yaml, a probe object, an arbitrary prefix) is an Unimplemented StorageError.
 *   `capabilities.resticOnly` tells the operations so (check writes a restic lock as its probe).
 * - `bucketExists` is "the repository's directories exist": GET `keys/` answers 404 before
 *   `POST /?create=true` (rest-server answers 404 for a missing type directory). `createBucket` is that
 *   POST, which servers also answer 200 for an existing repository, so existence is asked first.
 * - Listings: the protocol lists one type at a time, whole and unordered. `list(prefix)` reads the
 *   listings the prefix can match (`config` by HEAD), sorts, folds under a delimiter and pages in
 *   memory. Listings asked with `Accept: application/vnd.x.restic.rest.v2` carry sizes; a server that
 *   answers v1 (names only) gets a HEAD per file for its size. The data/ listing is reused for
 *   `LISTING_REUSE_MS` within a store (an inventory walks data/ and each of its 256 shards), and
 *   forgotten when this store writes or deletes a pack.
 * - No overwrites: rest-server refuses a POST over an existing file with 403 (`config` atomically with
 *   O_EXCL, other files after a stat). A 403 on a POST is therefore looked at: the same bytes already
 *   there are success (a retried upload whose answer was lost, or a content-addressed file someone else
 *   wrote), other bytes are AlreadyExists, no file is PermissionDenied. `ifNotExists` asks HEAD first,
 *   so servers that would overwrite silently do not; `conditionalWrites` stays false (docs/rest.md).
 * - DELETE of a missing file is success (404); a 403 is the server's append-only mode, or no access.
 * - Basic auth from REST_SERVER_USERNAME/REST_SERVER_PASSWORD, else user:password in the URL; the URL
 *   without them is what messages show. CA_CERT_DATA: a PEM CA to trust. Every call takes the
 *   caller's signal, passes the endpoint guard (http-client.ts) and is retried on passing faults
 *   (retry.ts); every request here is idempotent (see above for POST).
 */
import { z } from 'zod';
import { mapLimit } from '../../runtime/concurrency.js';
import { alreadyExists, isMissingObject, StorageError, type StorageOperation } from '../errors.js';
import { sendRequest, type HttpClientOptions, type HttpResponse } from '../../net/http-client.js';
import type {
  CallOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
  StoreCapabilities,
} from '../object-store.js';
import { retrying } from '../../runtime/retry.js';
import {
  bodyBytes,
  httpRetryVerdict,
  isDeleted,
  isSuccess,
  notFoundSubject,
  presenceOf,
  type HttpCall,
} from '../http-status.js';
import { REST_PROVIDER, restError, notExpressible, type RestTarget } from './errors.js';
import {
  CONFIG_KEY,
  fileOf,
  isRestId,
  keyOf,
  restPath,
  sourcesOf,
  type RestFile,
  type RestType,
} from './paths.js';

const DEFAULT_PAGE = 1000;
/** Parallel HEADs for the sizes a v1 listing leaves out, and parallel deletes. */
const SIDE_CONCURRENCY = 8;
/** A type listing is reused this long within one store (one operation). */
const LISTING_REUSE_MS = 10_000;
const V2 = 'application/vnd.x.restic.rest.v2';

const v2Listing = z.array(z.looseObject({ name: z.string(), size: z.number() }));
const v1Listing = z.array(z.string());

export interface RestConnection {
  /** The repository URL without credentials, query or fragment; its path ends with `/`. */
  base: URL;
  /** `Basic …`, when the secret or the URL carries credentials. */
  authorization?: string;
  http: HttpClientOptions;
}

/** Paths are below the repository URL: `config`, `<type>/`, `<type>/<id>`, or `` for the repository itself. */
type RestCall = HttpCall<RestTarget>;

export class RestStore implements ObjectStore {
  readonly provider = REST_PROVIDER;
  readonly location: string;
  readonly capabilities: StoreCapabilities = {
    // rest-server's own default is unbounded; restic's REST backend opens 5 connections.
    connections: 5,
    conditionalWrites: false,
    putReturnsChecksum: false,
    batchDelete: false,
    resticOnly: true,
  };
  readonly #connection: RestConnection;
  /** A request of this store proved the repository's directories exist. */
  #repositorySeen = false;
  readonly #listings = new Map<RestType, { at: number; files: Promise<ObjectInfo[]> }>();

  constructor(connection: RestConnection) {
    this.#connection = connection;
    const { base } = connection;
    this.location = `${base.protocol}//${base.host}${base.pathname === '/' ? '' : base.pathname.replace(/\/$/, '')}`;
  }

  async #send(call: RestCall, attempts?: { made: number }): Promise<HttpResponse> {
    const context = {
      operation: call.operation,
      target: call.target,
      key: call.key,
      repository: this.location,
    };
    const url = new URL(call.path, this.#connection.base);
    for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
    const headers = { ...call.headers };
    if (this.#connection.authorization) headers.authorization = this.#connection.authorization;
    return retrying(
      async (attempt) => {
        if (attempts) attempts.made = attempt + 1;
        let response: HttpResponse;
        try {
          response = await sendRequest(
            { method: call.method, url, headers, body: call.body, signal: call.signal },
            this.#connection.http,
          );
        } catch (error) {
          throw restError(error, context);
        }
        if (isSuccess(response.status)) this.#repositorySeen = true;
        return response;
      },
      { signal: call.signal, idempotent: true, retryResult: httpRetryVerdict },
    );
  }

  #fail(response: HttpResponse, call: Pick<RestCall, 'operation' | 'target' | 'key'>): StorageError {
    return restError(response, { ...call, repository: this.location });
  }

  /** A 404 on a file: the repository's when its directories are missing. */
  async #notFound(
    response: HttpResponse,
    operation: StorageOperation,
    key: string,
    signal?: AbortSignal,
  ): Promise<StorageError> {
    const subject = await notFoundSubject(this.#repositorySeen, () => this.bucketExists({ signal }));
    return this.#fail(response, { operation, target: subject === 'object' ? 'file' : 'repository', key });
  }

  async bucketExists(options: CallOptions = {}): Promise<boolean> {
    const call = {
      operation: 'bucketExists',
      target: 'repository',
      method: 'GET',
      path: 'keys/',
      headers: { accept: V2 },
      signal: options.signal,
    } as const;
    const response = await this.#send(call);
    const present = presenceOf(response);
    if (present === undefined) throw this.#fail(response, call);
    return present;
  }

  async createBucket(options: CallOptions = {}): Promise<void> {
    if (await this.bucketExists(options))
      throw alreadyExists(REST_PROVIDER, { bucket: `repository ${this.location}` });
    const call = {
      operation: 'createBucket',
      target: 'repository',
      method: 'POST',
      path: '',
      query: { create: 'true' },
      signal: options.signal,
    } as const;
    const response = await this.#send(call);
    if (!isSuccess(response.status)) throw this.#fail(response, call);
  }

  async stat(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
    const call = {
      operation: 'stat',
      target: 'file',
      method: 'HEAD',
      path: restPath(fileOf(key, 'stat')),
      key,
      signal: options.signal,
    } as const;
    const response = await this.#send(call);
    if (response.status === 404) throw await this.#notFound(response, 'stat', key, options.signal);
    if (!isSuccess(response.status)) throw this.#fail(response, call);
    return { key, size: Number(response.header('content-length') ?? 0) };
  }

  async get(key: string, options: CallOptions = {}): Promise<Uint8Array> {
    const call = {
      operation: 'get',
      target: 'file',
      method: 'GET',
      path: restPath(fileOf(key, 'get')),
      key,
      signal: options.signal,
    } as const;
    const response = await this.#send(call);
    if (response.status === 404) throw await this.#notFound(response, 'get', key, options.signal);
    if (!isSuccess(response.status)) throw this.#fail(response, call);
    return bodyBytes(response);
  }

  /** The stored bytes, or undefined when there is no such file (or it cannot be read). */
  async #existing(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    return this.get(key, { signal }).catch(() => undefined);
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const file = fileOf(key, 'put');
    if (options.ifNotExists) {
      const there = await this.stat(key, { signal: options.signal }).then(
        () => true,
        (error: unknown) => {
          if (isMissingObject(error)) return false;
          throw error;
        },
      );
      if (there) throw alreadyExists(REST_PROVIDER, { key });
    }
    const call = {
      operation: 'put',
      target: 'file',
      method: 'POST',
      path: restPath(file),
      key,
      headers: { 'content-type': 'application/octet-stream' },
      body,
      signal: options.signal,
    } as const;
    const attempts = { made: 0 };
    const response = await this.#send(call, attempts);
    this.#forget(file);
    if (isSuccess(response.status)) return {};
    if (response.status === 404) throw this.#fail(response, { ...call, target: 'repository' });
    if (response.status !== 403) throw this.#fail(response, call);
    // rest-server's refusal to overwrite, or no access at all: what is stored tells.
    const stored = await this.#existing(key, options.signal);
    if (stored === undefined) throw this.#fail(response, call);
    const same = Buffer.from(stored).equals(Buffer.from(body));
    // The same bytes are our own earlier attempt, or (without ifNotExists) a file restic names by its content.
    if (same && (!options.ifNotExists || attempts.made > 1)) return {};
    if (options.ifNotExists) throw alreadyExists(REST_PROVIDER, { key });
    throw new StorageError({
      code: 'AlreadyExists',
      subject: 'object',
      provider: REST_PROVIDER,
      operation: 'put',
      key,
      message: `${key} already exists with other content, and a REST server never overwrites a file`,
      hint: 'restic never rewrites a file (every name but config is the SHA-256 of its content); remove the file first if it must change',
    });
  }

  #forget(file: RestFile): void {
    if (file.type !== 'config') this.#listings.delete(file.type);
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    const file = fileOf(key, 'delete');
    const call = {
      operation: 'delete',
      target: 'file',
      method: 'DELETE',
      path: restPath(file),
      key,
      signal: options.signal,
    } as const;
    const response = await this.#send(call);
    this.#forget(file);
    if (isDeleted(response)) return;
    throw this.#fail(response, call);
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<void> {
    for (const key of keys) fileOf(key, 'delete');
    await mapLimit([...keys], SIDE_CONCURRENCY, (key) => this.delete(key, options));
  }

  /** Every file of one type, keyed as ObjectStore keys, sorted. */
  #listType(type: RestType, signal?: AbortSignal): Promise<ObjectInfo[]> {
    // Only data/ is reused: a walk reads it for data/ and each of its shards. Other types are read
    // fresh, so a caller polling keys/ (a concurrent initializer's key) sees new files at once.
    if (type !== 'data') return this.#readListing(type, signal);
    const reused = this.#listings.get(type);
    if (reused && Date.now() - reused.at < LISTING_REUSE_MS) return reused.files;
    const files = this.#readListing(type, signal);
    this.#listings.set(type, { at: Date.now(), files });
    files.catch(() => {
      if (this.#listings.get(type)?.files === files) this.#listings.delete(type);
    });
    return files;
  }

  async #readListing(type: RestType, signal?: AbortSignal): Promise<ObjectInfo[]> {
    const call = {
      operation: 'list',
      target: 'repository',
      method: 'GET',
      path: `${type}/`,
      headers: { accept: V2 },
      key: `${type}/`,
      signal,
    } as const;
    const response = await this.#send(call);
    if (!isSuccess(response.status)) throw this.#fail(response, call);
    let raw: unknown;
    try {
      raw = JSON.parse(response.body.toString('utf8') || '[]');
    } catch (error) {
      throw new StorageError({
        code: 'Unknown',
        provider: REST_PROVIDER,
        operation: 'list',
        key: `${type}/`,
        message: 'the REST server answered the listing with an unreadable body',
        cause: error,
      });
    }
    // rest-server answers `null` for an empty v1 listing.
    if (raw === null) raw = [];
    const v2 = v2Listing.safeParse(raw);
    let files: ObjectInfo[];
    if (v2.success) {
      files = v2.data
        .filter((entry) => isRestId(entry.name))
        .map((entry) => ({ key: keyOf(type, entry.name), size: entry.size }));
    } else {
      const v1 = v1Listing.safeParse(raw);
      if (!v1.success) {
        throw new StorageError({
          code: 'Unknown',
          provider: REST_PROVIDER,
          operation: 'list',
          key: `${type}/`,
          message: 'the REST server answered the listing with neither a v1 nor a v2 body',
        });
      }
      // A v1 server names files only: their sizes come from a HEAD each.
      files = await mapLimit(v1.data.filter(isRestId), SIDE_CONCURRENCY, (id) =>
        this.stat(keyOf(type, id), { signal }),
      );
    }
    return files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async #config(signal?: AbortSignal): Promise<ObjectInfo[]> {
    try {
      return [await this.stat(CONFIG_KEY, { signal })];
    } catch (error) {
      if (isMissingObject(error)) return [];
      throw error;
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const sources = sourcesOf(prefix);
    if (!sources.config && sources.types.length === 0) throw notExpressible('list', prefix, 'prefix');
    const limit = Math.max(1, options.limit ?? DEFAULT_PAGE);
    const after = options.pageToken;
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    // Sources in key order (config < data/ < index/ < keys/ < locks/ < snapshots/), read only as far as the page needs.
    const reads: (() => Promise<ObjectInfo[]>)[] = [
      ...(sources.config ? [() => this.#config(options.signal)] : []),
      ...sources.types.map((type) => () => this.#listType(type, options.signal)),
    ];
    for (let index = 0; index < reads.length; index += 1) {
      for (const object of await (reads[index] as () => Promise<ObjectInfo[]>)()) {
        if (!object.key.startsWith(prefix)) continue;
        const slash = options.delimiter ? object.key.indexOf('/', prefix.length) : -1;
        const name = slash >= 0 ? object.key.slice(0, slash + 1) : object.key;
        if (after !== undefined && (name <= after || (after.endsWith('/') && name.startsWith(after))))
          continue;
        if (name === last) continue;
        if (objects.length + prefixes.length >= limit) return { objects, prefixes, nextPageToken: last };
        if (slash >= 0) prefixes.push(name);
        else objects.push(object);
        last = name;
      }
      // A full page with sources left: the next page starts after it (and may turn out empty).
      if (objects.length + prefixes.length >= limit && index + 1 < reads.length && last !== undefined)
        return { objects, prefixes, nextPageToken: last };
    }
    return { objects, prefixes };
  }

  async close(): Promise<void> {
    // Sockets stay pooled for the warm function (http-client.ts); nothing per store to release.
  }
}
