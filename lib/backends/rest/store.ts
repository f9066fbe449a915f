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
 *   (http-exchange.ts, shared with Swift); every request here is idempotent (see above for POST).
 */
import { z } from 'zod';
import { mapLimit } from '../../runtime/concurrency.js';
import { alreadyExists, isMissingObject, StorageError, type StorageOperation } from '../errors.js';
import { sendRequest, type HttpClientOptions, type HttpResponse } from '../../net/http-client.js';
import type * as Store from '../object-store.js';
import { deleteEach, storeCapabilities } from '../object-store.js';
import { httpRetryVerdict, isSuccess, unreadableAnswer, withQuery, type HttpCall } from '../http-status.js';
import { HttpExchange } from '../http-exchange.js';
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

export class RestStore implements Store.ObjectStore {
  readonly provider = REST_PROVIDER;
  readonly location: string;
  // rest-server's own default is unbounded; restic's REST backend opens 5 connections.
  readonly capabilities = storeCapabilities(5, { resticOnly: true });
  readonly #connection: RestConnection;
  readonly #exchange: HttpExchange<RestTarget>;
  readonly #listings = new Map<RestType, { at: number; files: Promise<Store.ObjectInfo[]> }>();

  constructor(connection: RestConnection) {
    this.#connection = connection;
    const { base } = connection;
    this.location = `${base.protocol}//${base.host}${base.pathname === '/' ? '' : base.pathname.replace(/\/$/, '')}`;
    this.#exchange = new HttpExchange<RestTarget>({
      objectTarget: 'file',
      containerTarget: 'repository',
      transmit: (call) => this.#transmit(call),
      error: (failure, call) => restError(failure, { ...call, repository: this.location }),
      retryVerdict: (response) => httpRetryVerdict(response),
      provesContainer: () => true,
      containerExists: (signal) => this.bucketExists({ signal }),
    });
  }

  /** One attempt: the URL below the repository, basic auth when configured. */
  #transmit(call: RestCall): Promise<HttpResponse> {
    const url = withQuery(new URL(call.path, this.#connection.base), call.query);
    const headers = { ...call.headers };
    if (this.#connection.authorization) headers.authorization = this.#connection.authorization;
    return sendRequest(
      { method: call.method, url, headers, body: call.body, signal: call.signal },
      this.#connection.http,
    );
  }

  /** A request on one restic file. */
  #fileCall(operation: StorageOperation, method: RestCall['method'], key: string, signal?: AbortSignal) {
    return {
      operation,
      target: 'file',
      method,
      path: restPath(fileOf(key, operation)),
      key,
      signal,
    } as const;
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
    return this.#exchange.probe({
      operation: 'bucketExists',
      target: 'repository',
      method: 'GET',
      path: 'keys/',
      headers: { accept: V2 },
      signal: options.signal,
    });
  }

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
    if (await this.bucketExists(options))
      throw alreadyExists(REST_PROVIDER, { bucket: `repository ${this.location}` });
    await this.#exchange.expect({
      operation: 'createBucket',
      target: 'repository',
      method: 'POST',
      path: '',
      query: { create: 'true' },
      signal: options.signal,
    });
  }

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    const response = await this.#exchange.read(this.#fileCall('stat', 'HEAD', key, options.signal));
    return { key, size: Number(response.header('content-length') ?? 0) };
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
    return this.#exchange.readBytes(this.#fileCall('get', 'GET', key, options.signal));
  }

  /** The stored bytes, or undefined when there is no such file (or it cannot be read). */
  async #existing(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    return this.get(key, { signal }).catch(() => undefined);
  }

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
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
      ...this.#fileCall('put', 'POST', key, options.signal),
      headers: { 'content-type': 'application/octet-stream' },
      body,
    };
    const attempts = { made: 0 };
    const response = await this.#exchange.send(call, attempts);
    this.#forget(file);
    if (isSuccess(response.status)) return {};
    if (response.status === 404) throw this.#exchange.fail(response, { ...call, target: 'repository' });
    if (response.status !== 403) throw this.#exchange.fail(response, call);
    // rest-server's refusal to overwrite, or no access at all: what is stored tells.
    const stored = await this.#existing(key, options.signal);
    if (stored === undefined) throw this.#exchange.fail(response, call);
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

  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    const file = fileOf(key, 'delete');
    try {
      await this.#exchange.remove(this.#fileCall('delete', 'DELETE', key, options.signal));
    } finally {
      this.#forget(file);
    }
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    for (const key of keys) fileOf(key, 'delete');
    await deleteEach(this, keys, options, { width: SIDE_CONCURRENCY });
  }

  /** Every file of one type, keyed as ObjectStore keys, sorted. */
  #listType(type: RestType, signal?: AbortSignal): Promise<Store.ObjectInfo[]> {
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

  async #readListing(type: RestType, signal?: AbortSignal): Promise<Store.ObjectInfo[]> {
    const response = await this.#exchange.expect({
      operation: 'list',
      target: 'repository',
      method: 'GET',
      path: `${type}/`,
      headers: { accept: V2 },
      key: `${type}/`,
      signal,
    });
    let raw: unknown;
    try {
      raw = JSON.parse(response.body.toString('utf8') || '[]');
    } catch (error) {
      throw unreadableAnswer(
        REST_PROVIDER,
        'list',
        'the REST server answered the listing with an unreadable body',
        {
          key: `${type}/`,
          cause: error,
        },
      );
    }
    // rest-server answers `null` for an empty v1 listing.
    if (raw === null) raw = [];
    const v2 = v2Listing.safeParse(raw);
    let files: Store.ObjectInfo[];
    if (v2.success) {
      files = v2.data
        .filter((entry) => isRestId(entry.name))
        .map((entry) => ({ key: keyOf(type, entry.name), size: entry.size }));
    } else {
      const v1 = v1Listing.safeParse(raw);
      if (!v1.success) {
        throw unreadableAnswer(
          REST_PROVIDER,
          'list',
          'the REST server answered the listing with neither a v1 nor a v2 body',
          { key: `${type}/` },
        );
      }
      // A v1 server names files only: their sizes come from a HEAD each.
      files = await mapLimit(v1.data.filter(isRestId), SIDE_CONCURRENCY, (id) =>
        this.stat(keyOf(type, id), { signal }),
      );
    }
    return files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async #config(signal?: AbortSignal): Promise<Store.ObjectInfo[]> {
    try {
      return [await this.stat(CONFIG_KEY, { signal })];
    } catch (error) {
      if (isMissingObject(error)) return [];
      throw error;
    }
  }

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    const sources = sourcesOf(prefix);
    if (!sources.config && sources.types.length === 0) throw notExpressible('list', prefix, 'prefix');
    const limit = Math.max(1, options.limit ?? DEFAULT_PAGE);
    const after = options.pageToken;
    const objects: Store.ObjectInfo[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    // Sources in key order (config < data/ < index/ < keys/ < locks/ < snapshots/), read only as far as the page needs.
    const reads: (() => Promise<Store.ObjectInfo[]>)[] = [
      ...(sources.config ? [() => this.#config(options.signal)] : []),
      ...sources.types.map((type) => () => this.#listType(type, options.signal)),
    ];
    for (let index = 0; index < reads.length; index += 1) {
      for (const object of await (reads[index] as () => Promise<Store.ObjectInfo[]>)()) {
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
