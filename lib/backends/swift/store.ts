/**
 * OpenStack Swift backend (Stash's `swift {container, prefix}`), on Swift's documented object-storage
 * REST API with Node's own HTTP client; authentication (v1, Keystone v2/v3, application credentials,
 * a ready token) lives in auth.ts and its errors in errors.ts. Why not
 * openstack-swift-client: it depends on the deprecated `request`, whose pinned `form-data` has a
 * critical advisory with no fix in range (docs/swift.md).
 *
 * - Create-if-absent: Swift's `If-None-Match: *` answers 412 when the object already exists, but it is
 *   checked when each PUT starts, so simultaneous creators can all win (measured on Swift 2.30: 12 of
 *   20 concurrent PUTs got 201). `put` with `ifNotExists` therefore runs the claim scheme of
 *   exclusive-create.ts, whose final write still carries `If-None-Match: *`, and
 *   `capabilities.conditionalWrites` is false. Claim objects never appear in listings.
 * - A 404 on an object does not say whether the container is missing; a HEAD on the container tells,
 *   unless a request of the same store (one operation) already proved the container exists: a
 *   successful listing (also one still running, which a 404 waits for) or any other success on it.
 * - Uploads send their MD5 as `ETag`, so Swift verifies the content it stores (422 otherwise), and the
 *   ETag it answers (the MD5 hex of what it stored) becomes `contentMd5`.
 * - Listing is a container GET with `format=json`, `prefix`, `delimiter`, `marker` and `limit`.
 * - `deleteMany` uses the bulk middleware (`?bulk-delete`) when the cluster's /info lists it.
 * - A 401 on a data request renews the token once (it may have been revoked or have expired early).
 * - Passing faults (a reset, a 503, a 429 with its Retry-After) are retried, auth included (retry.ts).
 * - `options.endpoint` replaces the storage URL that authentication returns (a private endpoint).
 * - `CA_CERT_DATA` in the secret: a PEM CA to trust for the auth and storage URLs.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SwiftBackend } from '../../config/backend.js';
import type * as Store from '../object-store.js';
import { deleteEach, storeCapabilities } from '../object-store.js';
import { alreadyExists, StorageError, type StorageOperation } from '../errors.js';
import {
  claimIo,
  createExclusively,
  refuseClaimKey,
  withoutClaims,
  type ExclusiveCreateIo,
} from '../exclusive-create.js';
import { sendRequest, type HttpClientOptions, type HttpResponse } from '../../net/http-client.js';
import { isSuccess, unreadableAnswer, withQuery, type HttpCall } from '../http-status.js';
import { HttpExchange, type FailedCall } from '../http-exchange.js';
import { planSwiftAuth, SwiftAuthenticator, type SwiftSession } from './auth.js';
import { SWIFT_PROVIDER, swiftError, swiftRetryVerdict, type SwiftTarget } from './errors.js';

const DEFAULT_PAGE = 1000;
/** Swift's default container_listing_limit; a page never asks for more. */
const MAX_PAGE = 10_000;
/** Swift's default max_deletes_per_request for the bulk middleware. */
const DEFAULT_BULK_DELETES = 10_000;

/** Entries are objects (`name`, `bytes`, …) or, under a delimiter, folded `subdir`s. */
const listingSchema = z.array(
  z.looseObject({
    subdir: z.string().optional(),
    name: z.string().optional(),
    bytes: z.number().optional(),
    hash: z.string().optional(),
    last_modified: z.string().optional(),
  }),
);

const bulkDeleteSchema = z.looseObject({
  'Response Status': z.string(),
  Errors: z.array(z.tuple([z.string(), z.string()])).optional(),
});

const infoSchema = z.looseObject({
  bulk_delete: z.looseObject({ max_deletes_per_request: z.number().optional() }).optional(),
});

/** Object paths keep their slashes; every segment is percent-encoded. */
function encodePath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function hexToBase64(hex: string | undefined): string | undefined {
  const clean = hex?.replace(/"/g, '');
  return clean && /^[0-9a-f]{32}$/i.test(clean) ? Buffer.from(clean, 'hex').toString('base64') : undefined;
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  // Swift's JSON listing gives UTC without a zone ("2024-01-02T03:04:05.678900").
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) || value.includes('GMT') ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Paths are below the storage URL, already encoded (`container/key`), or `` for the account. */
type SwiftCall = HttpCall<SwiftTarget>;

export class SwiftStore implements Store.ObjectStore {
  readonly provider = SWIFT_PROVIDER;
  readonly location: string;
  readonly #container: string;
  readonly #auth: SwiftAuthenticator;
  readonly #http: HttpClientOptions;
  readonly #storageUrlOverride: string | undefined;
  #bulkDelete: Promise<number | undefined> | undefined;
  #bulkKnown: number | undefined | null = null;
  readonly #exchange: HttpExchange<SwiftTarget>;

  constructor(
    container: string,
    auth: SwiftAuthenticator,
    http: HttpClientOptions,
    storageUrlOverride?: string,
  ) {
    this.#container = container;
    this.location = container;
    this.#auth = auth;
    this.#http = http;
    this.#storageUrlOverride = storageUrlOverride;
    this.#exchange = new HttpExchange<SwiftTarget>({
      objectTarget: 'object',
      containerTarget: 'container',
      transmit: (call) => this.#transmit(call),
      error: (failure, call) => this.#error(failure, call),
      retryVerdict: swiftRetryVerdict,
      // Account-level requests (bulk delete) succeed whether the container exists or not.
      provesContainer: (call) => call.path !== '',
      containerExists: (signal) => this.bucketExists({ signal }),
    });
  }

  get capabilities(): Store.StoreCapabilities {
    // Until /info has been read, assume the bulk middleware (it is in Swift's default pipeline).
    // restic's swift backend opens 5; a check's probes and an inventory's listings want a few more.
    return storeCapabilities(8, { putReturnsChecksum: true, batchDelete: this.#bulkKnown !== undefined });
  }

  /** The authentication mode the secret's keys chose (for tests and logs; never a value). */
  get authMode(): string {
    return this.#auth.plan.mode;
  }

  #url(session: SwiftSession, call: Pick<SwiftCall, 'path' | 'query'>): URL {
    const base = (this.#storageUrlOverride ?? session.storageUrl).replace(/\/+$/, '');
    return withQuery(new URL(call.path === '' ? base : `${base}/${call.path}`), call.query);
  }

  #containerPath(): string {
    return encodeURIComponent(this.#container);
  }

  #objectPath(key: string): string {
    return `${this.#containerPath()}/${encodePath(key)}`;
  }

  /** A request on one object of the container. */
  #objectCall(operation: StorageOperation, method: SwiftCall['method'], key: string, signal?: AbortSignal) {
    return { operation, target: 'object', method, path: this.#objectPath(key), key, signal } as const;
  }

  /** One authenticated attempt; renews the token once on a 401. */
  async #transmit(call: SwiftCall): Promise<HttpResponse> {
    for (let renewal = 0; ; renewal += 1) {
      const session = await this.#auth.session(call.signal);
      const response = await sendRequest(
        {
          method: call.method,
          url: this.#url(session, call),
          headers: { ...call.headers, 'x-auth-token': session.token },
          body: call.body,
          signal: call.signal,
        },
        this.#http,
      );
      if (response.status !== 401 || renewal > 0 || !this.#auth.plan.renewable) return response;
      await this.#auth.invalidate(session);
    }
  }

  #error(failure: unknown, call: FailedCall<SwiftTarget>): StorageError {
    return swiftError(failure, {
      operation: call.operation,
      target: call.target,
      key: call.key,
      container: this.#container,
      credentialKeys: this.#auth.plan.credentialKeys,
    });
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
    return this.#exchange.probe({
      operation: 'bucketExists',
      target: 'container',
      method: 'HEAD',
      path: this.#containerPath(),
      signal: options.signal,
    });
  }

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
    // Swift answers 202 for an existing container, but also silently updates it; ask first.
    if (await this.bucketExists(options)) {
      throw alreadyExists(SWIFT_PROVIDER, { bucket: `container "${this.#container}"` });
    }
    const call = {
      operation: 'createBucket',
      target: 'container',
      method: 'PUT',
      path: this.#containerPath(),
      signal: options.signal,
    } as const;
    const response = await this.#exchange.send(call);
    if (response.status === 201 || response.status === 202 || response.status === 204) return;
    throw this.#exchange.fail(response, {
      ...call,
      target: response.status === 404 ? 'account' : 'container',
    });
  }

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    return this.#info(key, await this.#exchange.read(this.#objectCall('stat', 'HEAD', key, options.signal)));
  }

  #info(key: string, response: HttpResponse): Store.ObjectInfo {
    const etag = response.header('etag')?.replace(/"/g, '');
    const lastModified = parseDate(response.header('last-modified'));
    return {
      key,
      size: Number(response.header('content-length') ?? 0),
      ...(lastModified ? { lastModified } : {}),
      ...(etag ? { etag } : {}),
      ...(hexToBase64(etag) ? { contentMd5: hexToBase64(etag) } : {}),
    };
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
    return this.#exchange.readBytes(this.#objectCall('get', 'GET', key, options.signal));
  }

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
    refuseClaimKey(SWIFT_PROVIDER, key);
    if (!options.ifNotExists) return this.#putObject(key, body, options, false);
    return createExclusively(this.#exclusiveIo(key, options), key, body);
  }

  async #putObject(
    key: string,
    body: Uint8Array,
    options: Store.PutOptions,
    ifNoneMatch: boolean,
  ): Promise<Store.PutResult> {
    const md5 = createHash('md5').update(body).digest('hex');
    const headers: Record<string, string> = {
      etag: md5,
      'content-type': options.contentType ?? 'application/octet-stream',
    };
    if (ifNoneMatch) headers['if-none-match'] = '*';
    const call = { ...this.#objectCall('put', 'PUT', key, options.signal), headers, body };
    const attempts = { made: 0 };
    const response = await this.#exchange.send(call, attempts);
    // PUT into a missing container is the container's 404, never the object's.
    if (response.status === 404) throw this.#exchange.fail(response, { ...call, target: 'container' });
    if (ifNoneMatch && response.status === 412 && attempts.made > 1) {
      // An earlier attempt may have stored the object before its answer was lost: if what is there is
      // this very content, the write was ours (the claim scheme lets one creator write `key` at a time).
      const stored = await this.stat(key, { signal: options.signal }).catch(() => undefined);
      if (stored?.etag === md5)
        return { etag: md5, ...(hexToBase64(md5) ? { contentMd5: hexToBase64(md5) } : {}) };
    }
    if (!isSuccess(response.status)) throw this.#exchange.fail(response, call);
    const etag = response.header('etag')?.replace(/"/g, '');
    return { ...(etag ? { etag } : {}), ...(hexToBase64(etag) ? { contentMd5: hexToBase64(etag) } : {}) };
  }

  /** Plain operations for the claim scheme; the final write of `target` keeps `If-None-Match: *`. */
  #exclusiveIo(target: string, options: Store.PutOptions): ExclusiveCreateIo {
    return claimIo({
      provider: SWIFT_PROVIDER,
      signal: options.signal,
      write: (key, body) => this.#putObject(key, body, options, key === target),
      listPage: (prefix, listOptions) => this.#listPage(prefix, listOptions),
      delete: (key, deleteOptions) => this.delete(key, deleteOptions),
    });
  }

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    return withoutClaims(await this.#listPage(prefix, options));
  }

  /** One page as Swift lists it, claim objects included. */
  async #listPage(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    const limit = Math.min(MAX_PAGE - 1, Math.max(1, options.limit ?? DEFAULT_PAGE));
    // One entry more than asked tells whether another page exists, without an empty last request.
    const query: Record<string, string> = { format: 'json', limit: String(limit + 1) };
    if (prefix !== '') query.prefix = prefix;
    if (options.delimiter) query.delimiter = options.delimiter;
    if (options.pageToken) query.marker = options.pageToken;
    const response = await this.#exchange.expect({
      operation: 'list',
      target: 'container',
      method: 'GET',
      path: this.#containerPath(),
      query,
      key: prefix,
      signal: options.signal,
    });
    let entries: z.output<typeof listingSchema>;
    try {
      entries =
        response.status === 204 || response.body.length === 0
          ? []
          : listingSchema.parse(JSON.parse(response.body.toString('utf8')));
    } catch (error) {
      throw unreadableAnswer(SWIFT_PROVIDER, 'list', 'Swift answered the listing with an unreadable body', {
        key: prefix,
        cause: error,
      });
    }
    const page = entries.slice(0, limit);
    const objects: Store.ObjectInfo[] = [];
    const prefixes: string[] = [];
    for (const entry of page) {
      if (entry.subdir !== undefined) {
        prefixes.push(entry.subdir);
        continue;
      }
      if (entry.name === undefined) continue;
      const lastModified = parseDate(entry.last_modified);
      const contentMd5 = hexToBase64(entry.hash);
      objects.push({
        key: entry.name,
        size: entry.bytes ?? 0,
        ...(lastModified ? { lastModified } : {}),
        ...(entry.hash ? { etag: entry.hash } : {}),
        ...(contentMd5 ? { contentMd5 } : {}),
      });
    }
    const last = page.at(-1);
    const nextPageToken = entries.length > limit && last ? (last.subdir ?? last.name) : undefined;
    return { objects, prefixes, ...(nextPageToken !== undefined ? { nextPageToken } : {}) };
  }

  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    return this.#exchange.remove(this.#objectCall('delete', 'DELETE', key, options.signal));
  }

  /** The bulk middleware's limit from the cluster's /info, or undefined when it has none. Read once. */
  #bulkLimit(signal?: AbortSignal): Promise<number | undefined> {
    this.#bulkDelete ??= (async () => {
      const session = await this.#auth.session(signal);
      const storage = new URL(this.#storageUrlOverride ?? session.storageUrl);
      // /info sits next to /v1 on the proxy ("https://host/swift/v1/AUTH_x" → "https://host/swift/info").
      const versionAt = storage.pathname.search(/\/v1(\/|$)/);
      storage.pathname = `${versionAt >= 0 ? storage.pathname.slice(0, versionAt) : ''}/info`;
      storage.search = '';
      try {
        const response = await sendRequest({ method: 'GET', url: storage, signal }, this.#http);
        if (response.status !== 200) return undefined;
        const info = infoSchema.safeParse(JSON.parse(response.body.toString('utf8')));
        if (!info.success || !info.data.bulk_delete) return undefined;
        return info.data.bulk_delete.max_deletes_per_request ?? DEFAULT_BULK_DELETES;
      } catch {
        return undefined;
      }
    })();
    return this.#bulkDelete.then((limit) => {
      this.#bulkKnown = limit;
      return limit;
    });
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    if (keys.length === 0) return;
    const limit = await this.#bulkLimit(options.signal);
    if (limit === undefined) {
      return deleteEach(this, keys, options, { width: 1 });
    }
    for (let start = 0; start < keys.length; start += limit) {
      const batch = keys.slice(start, start + limit);
      const body = batch.map((key) => `/${this.#objectPath(key)}`).join('\n');
      const call = {
        operation: 'delete',
        target: 'container',
        method: 'POST',
        path: '',
        query: { 'bulk-delete': '' },
        headers: { 'content-type': 'text/plain', accept: 'application/json' },
        body,
        key: batch[0],
        signal: options.signal,
      } as const;
      const response = await this.#exchange.expect(call);
      const result = bulkDeleteSchema.safeParse(JSON.parse(response.body.toString('utf8') || 'null'));
      if (!result.success)
        throw unreadableAnswer(
          SWIFT_PROVIDER,
          'delete',
          'Swift answered the bulk delete with an unreadable body',
        );
      // The bulk answer is 200 even when items failed; its own status and error list tell. 404s are fine.
      const failed = (result.data.Errors ?? []).filter(([, status]) => !status.startsWith('404'));
      const overall = Number.parseInt(result.data['Response Status'], 10);
      if (failed.length > 0 || (overall >= 400 && overall !== 404)) {
        const status = Number.parseInt(failed[0]?.[1] ?? result.data['Response Status'], 10);
        const first = failed[0]?.[0];
        const key = first ? decodeURIComponent(first.replace(/^\/[^/]+\//, '')) : undefined;
        throw this.#error(
          { status: Number.isFinite(status) ? status : 500 },
          { operation: 'delete', target: status === 404 ? 'container' : 'object', key },
        );
      }
    }
  }

  async close(): Promise<void> {
    // Sockets stay pooled for the warm function (http-client.ts); nothing per store to release.
  }
}

export async function createStore(
  backend: SwiftBackend,
  context: Store.StoreContext,
): Promise<Store.ObjectStore> {
  const plan = planSwiftAuth(context.credentials, context.endpoint);
  const http: HttpClientOptions = {};
  const ca = context.credentials.reveal('CA_CERT_DATA');
  if (ca && ca.trim() !== '') http.ca = ca;
  return new SwiftStore(backend.container, new SwiftAuthenticator(plan, http), http, context.endpoint);
}
