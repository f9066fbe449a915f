/**
 * What one B2 identity (auth.ts credentialIdentity) keeps beside its token while the function is warm, so
 * a warm check costs its floor: bucket ids (b2_list_buckets once per bucket) and a pool of upload URLs
 * per bucket (b2_get_upload_url only when none is free). Keyed by the identity's hash, never a key.
 */
import { rememberBounded } from '../../runtime/memo.js';
import { TOKEN_REUSE_MS } from './auth.js';

/** How many buckets and upload-URL pools one warm function remembers (a fleet run serves many storages). */
const MAX_REMEMBERED = 1024;
/** Upload URLs kept per bucket: enough for every upload in flight under the largest maxConnections used. */
const MAX_POOLED_UPLOAD_URLS = 32;

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

/** Drops every cached bucket id and upload URL (tests; a process that rotates keys in place). */
export function forgetB2Caches(): void {
  bucketIds.clear();
  uploadPools.clear();
}
