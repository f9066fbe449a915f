/**
 * B2 account authorization, kept while the function is warm, and what an application key may access.
 *
 * b2_authorize_account is a class C transaction with its own rate limits, and its token is valid for 24
 * hours, so tokens are cached module-wide (one Lambda container serves many invocations) keyed by a hash
 * of the authorize URL, key id and key (a rotated key re-authorizes; the cache holds no key material).
 * Concurrent stores share one authorize call. A token is never logged or put in an error. Beside the
 * tokens, under the same identity: bucket ids (b2_list_buckets once per bucket) and a pool of upload
 * URLs per bucket (b2_get_upload_url only when none is free), so a warm check costs its floor.
 */
import { createHash } from 'node:crypto';
import type B2 from 'backblaze-b2';
import { asDirectory } from '../object-store.js';

/** Where `backblaze-b2` authorizes unless options.endpoint says otherwise. */
export const DEFAULT_AUTHORIZE_URL = 'https://api.backblazeb2.com/b2api/v2/b2_authorize_account';

/** B2 tokens last 24 hours; stop using one well before. */
const TOKEN_REUSE_MS = 20 * 60 * 60 * 1000;

/** b2_authorize_account's `allowed`: what the key may touch. Null bucket/prefix means unrestricted. */
export interface B2Allowed {
  capabilities: string[];
  bucketId: string | null;
  /** Null when the key is unrestricted, or restricted to a bucket that was deleted since. */
  bucketName: string | null;
  namePrefix: string | null;
}

export interface B2Authorization {
  accountId: string;
  authorizationToken: string;
  apiUrl: string;
  downloadUrl: string;
  allowed: B2Allowed;
}

interface Entry {
  promise: Promise<B2Authorization>;
  obtainedAt: number;
}

const cache = new Map<string, Entry>();

/** options.endpoint → the authorize URL: a base URL gets B2's path appended; a full URL is used as is. */
export function authorizeUrlFor(endpoint: string | undefined): string {
  if (!endpoint) return DEFAULT_AUTHORIZE_URL;
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/b2_authorize_account') ? trimmed : `${trimmed}/b2api/v2/b2_authorize_account`;
}

function cacheKey(authorizeUrl: string, keyId: string, key: string): string {
  return createHash('sha256').update(`${authorizeUrl}\n${keyId}\n${key}`).digest('hex');
}

function parseAuthorization(data: unknown): B2Authorization {
  const body = (data ?? {}) as Record<string, unknown>;
  const allowed = (body.allowed ?? {}) as Record<string, unknown>;
  const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
  if (
    typeof body.authorizationToken !== 'string' ||
    typeof body.apiUrl !== 'string' ||
    typeof body.downloadUrl !== 'string'
  ) {
    throw new Error('b2_authorize_account answered without authorizationToken, apiUrl or downloadUrl');
  }
  return {
    accountId: String(body.accountId ?? ''),
    authorizationToken: body.authorizationToken,
    apiUrl: body.apiUrl,
    downloadUrl: body.downloadUrl,
    allowed: {
      capabilities: Array.isArray(allowed.capabilities)
        ? allowed.capabilities.filter((c): c is string => typeof c === 'string')
        : [],
      bucketId: text(allowed.bucketId),
      bucketName: text(allowed.bucketName),
      namePrefix: text(allowed.namePrefix),
    },
  };
}

export interface AuthorizeRequest {
  client: B2;
  authorizeUrl: string;
  keyId: string;
  key: string;
  /** Per-request axios settings (signal, retry policy). */
  axios: Record<string, unknown>;
}

/**
 * A valid authorization for the key, from the cache while warm. `stale` is the token a call was just
 * refused with (expired_auth_token): that entry is dropped and the key authorized again, once, however
 * many concurrent calls report it.
 */
export async function authorization(request: AuthorizeRequest, stale?: string): Promise<B2Authorization> {
  const id = cacheKey(request.authorizeUrl, request.keyId, request.key);
  const entry = cache.get(id);
  if (entry && Date.now() - entry.obtainedAt < TOKEN_REUSE_MS) {
    const current = await entry.promise.catch(() => undefined);
    if (current && current.authorizationToken !== stale) return current;
    if (cache.get(id) !== entry) return authorization(request, stale);
  }
  const fresh: Entry = {
    obtainedAt: Date.now(),
    promise: request.client
      .authorize({ axios: request.axios, axiosOverride: { url: request.authorizeUrl } })
      .then((response) => parseAuthorization(response.data)),
  };
  cache.set(id, fresh);
  // A failed authorize is not cached: the next call tries again.
  fresh.promise.catch(() => {
    if (cache.get(id) === fresh) cache.delete(id);
  });
  return fresh.promise;
}

/** Drops every cached token, bucket id and upload URL (tests; a process that rotates keys in place). */
export function forgetAuthorizations(): void {
  cache.clear();
  bucketIds.clear();
  uploadPools.clear();
}

/**
 * Names the credentials (authorize URL, key id, key) without holding them: the key of every cache here.
 * A rotated key is another identity, so nothing cached for the old one is used with the new one.
 */
export function credentialIdentity(authorizeUrl: string, keyId: string, key: string): string {
  return cacheKey(authorizeUrl, keyId, key);
}

/** How many buckets and upload-URL pools one warm function remembers (a fleet run serves many storages). */
const MAX_REMEMBERED = 1024;
/** Upload URLs kept per bucket: enough for every upload in flight under the largest maxConnections used. */
const MAX_POOLED_UPLOAD_URLS = 32;

/** Sets `key` in an insertion-ordered map, dropping the oldest entries beyond `max`. */
export function rememberBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}

/**
 * Bucket ids of unrestricted keys, per identity and bucket name, while warm: b2_list_buckets runs once
 * per bucket, not once per invocation. A bucket-restricted key needs none (its id is in `allowed`).
 */
const bucketIds = new Map<string, string>();

export function cachedBucketId(identity: string, bucketName: string): string | undefined {
  return bucketIds.get(`${identity}\n${bucketName}`);
}

export function rememberBucketId(identity: string, bucketName: string, bucketId: string): void {
  rememberBounded(bucketIds, `${identity}\n${bucketName}`, bucketId, MAX_REMEMBERED);
}

/** After B2 answered bad_bucket_id: the next call looks the bucket up again (deleted, or recreated). */
export function forgetBucketId(identity: string, bucketName: string): void {
  bucketIds.delete(`${identity}\n${bucketName}`);
}

/** b2_get_upload_url's answer: one upload at a time may use it, until B2 refuses it. */
export interface UploadTarget {
  uploadUrl: string;
  authorizationToken: string;
}

interface PooledTarget extends UploadTarget {
  obtainedAt: number;
}

/**
 * Upload URLs not in use, per identity and bucket id, kept while warm. B2 lets a client reuse an upload
 * URL and its token (valid 24 hours) until an upload on it fails; concurrent uploads need distinct ones,
 * so a URL is taken out while an upload uses it and given back only after the upload succeeded.
 */
const uploadPools = new Map<string, PooledTarget[]>();

export function takeUploadTarget(identity: string, bucketId: string): UploadTarget | undefined {
  const pool = uploadPools.get(`${identity}\n${bucketId}`);
  for (let target = pool?.pop(); target; target = pool?.pop()) {
    if (Date.now() - target.obtainedAt < TOKEN_REUSE_MS) return target;
  }
  return undefined;
}

/** Gives back a URL whose last upload succeeded. `obtainedAt` is kept for URLs that were pooled before. */
export function returnUploadTarget(identity: string, bucketId: string, target: UploadTarget): void {
  const id = `${identity}\n${bucketId}`;
  let pool = uploadPools.get(id);
  if (!pool) {
    pool = [];
    rememberBounded(uploadPools, id, pool, MAX_REMEMBERED);
  }
  if (pool.length >= MAX_POOLED_UPLOAD_URLS) return;
  const obtainedAt = (target as Partial<PooledTarget>).obtainedAt ?? Date.now();
  pool.push({ uploadUrl: target.uploadUrl, authorizationToken: target.authorizationToken, obtainedAt });
}

/** "bucket X, names starting with P, capabilities a, b" for hints; never a secret. */
export function describeAllowed(allowed: B2Allowed): string {
  const bucket = allowed.bucketId
    ? `only bucket "${allowed.bucketName ?? `(deleted bucket ${allowed.bucketId})`}"`
    : 'every bucket';
  const prefix = allowed.namePrefix ? `, only names starting with "${allowed.namePrefix}"` : '';
  return `${bucket}${prefix}, capabilities ${allowed.capabilities.join(', ') || 'none'}`;
}

/**
 * Why a key cannot serve a storage at `bucket`/`prefix`, or undefined when it can. Everything the store
 * touches lives under `prefix/`, so a name prefix restriction must be a prefix of that.
 */
export function scopeProblem(allowed: B2Allowed, bucket: string, prefix: string): string | undefined {
  // B2 names no bucket once the key's bucket is deleted: the key reaches nothing, whichever bucket is asked
  // for, and whether that one exists says nothing about the key.
  if (allowed.bucketId && allowed.bucketName === null) {
    return `the application key is restricted to a bucket that has since been deleted (id ${allowed.bucketId}), so it cannot reach "${bucket}"`;
  }
  if (allowed.bucketId && allowed.bucketName !== null && allowed.bucketName !== bucket) {
    return `the application key is restricted to bucket "${allowed.bucketName}", not "${bucket}"`;
  }
  if (allowed.namePrefix && !asDirectory(prefix).startsWith(allowed.namePrefix)) {
    return `the application key is restricted to names starting with "${allowed.namePrefix}", which does not cover the prefix "${prefix}"`;
  }
  return undefined;
}
