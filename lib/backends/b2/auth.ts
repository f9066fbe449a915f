/**
 * B2 account authorization, kept while the function is warm, and what an application key may access.
 *
 * b2_authorize_account is a class C transaction with its own rate limits, and its token is valid for 24
 * hours, so tokens are cached module-wide (one Lambda container serves many invocations) keyed by a hash
 * of the authorize URL, key id and key (a rotated key re-authorizes; the cache holds no key material).
 * Concurrent stores share one authorize call. A token is never logged or put in an error. What is kept
 * beside the tokens under the same identity (bucket ids, upload URLs) is in caches.ts.
 */
import { createHash } from 'node:crypto';
import type B2 from 'backblaze-b2';
import { SharedPromises } from '../../runtime/memo.js';
import { asDirectory } from '../object-store.js';

/** Where `backblaze-b2` authorizes unless options.endpoint says otherwise. */
export const DEFAULT_AUTHORIZE_URL = 'https://api.backblazeb2.com/b2api/v2/b2_authorize_account';

/** B2 tokens (the account's and upload URLs') last 24 hours; stop using one well before. */
export const TOKEN_REUSE_MS = 20 * 60 * 60 * 1000;

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

/** Authorizations per credential identity (credentialIdentity), while warm. */
const authorizations = new SharedPromises<string, B2Authorization>();

/** options.endpoint → the authorize URL: a base URL gets B2's path appended; a full URL is used as is. */
export function authorizeUrlFor(endpoint: string | undefined): string {
  if (!endpoint) return DEFAULT_AUTHORIZE_URL;
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/b2_authorize_account') ? trimmed : `${trimmed}/b2api/v2/b2_authorize_account`;
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
  const id = credentialIdentity(request.authorizeUrl, request.keyId, request.key);
  const entry = authorizations.peek(id);
  if (entry && Date.now() - entry.startedAt < TOKEN_REUSE_MS) {
    const current = await entry.promise.catch(() => undefined);
    if (current && current.authorizationToken !== stale) return current;
    if (authorizations.peek(id) !== entry) return authorization(request, stale);
  }
  return authorizations.start(id, () =>
    request.client
      .authorize({ axios: request.axios, axiosOverride: { url: request.authorizeUrl } })
      .then((response) => parseAuthorization(response.data)),
  );
}

/** Drops every cached token (tests; a process that rotates keys in place). */
export function forgetAuthorizations(): void {
  authorizations.clear();
}

/**
 * Names the credentials (authorize URL, key id, key) without holding them: the key of every cache of
 * this provider. A rotated key is another identity, so nothing cached for the old one is used with the new one.
 */
export function credentialIdentity(authorizeUrl: string, keyId: string, key: string): string {
  return createHash('sha256').update(`${authorizeUrl}\n${keyId}\n${key}`).digest('hex');
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
