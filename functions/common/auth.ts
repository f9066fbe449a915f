/**
 * Who is calling over HTTP (docs/security.md). The deployment's BSF_API_AUTH says how callers prove it:
 *
 * - `iam` (deployed default): API Gateway's IAM authorizer has checked a SigV4 signature; the caller is
 *   the signer's ARN from the request context. A request without one never ran through the authorizer
 *   and is refused (401), whatever the route says.
 * - `hmac`: every request carries
 *
 *     X-BSF-Key-Id: <key id>            (optional, default "default")
 *     X-BSF-Timestamp: <unix seconds>
 *     X-BSF-Signature: v1=<hex HMAC-SHA256(secret, "v1\n<METHOD>\n<path>\n<timestamp>\n<hex SHA-256 of the body>")>
 *
 *   with the key's secret from the bag API_AUTH_SECRET_REF names: `API_AUTH_SECRET` (and, during a
 *   rotation, `API_AUTH_SECRET_PREVIOUS`) for the key `default`, `API_AUTH_KEY_<ID>` for each other key
 *   (id upper-cased, `-` as `_`). The caller is `hmac:<key id>`. Missing or malformed → 401; a wrong
 *   signature, a timestamp outside API_AUTH_WINDOW_SECONDS or a signature already seen → 403; all
 *   before the body is decoded.
 * - `none` (the local stage only): everyone is `anonymous`.
 * - the console (`identifyCaller(config, { jwt: true })`) on deployed stages: the subject of the JWT
 *   API Gateway's authorizer verified, `jwt:<sub>`; without one, 401.
 *
 * Direct invocations are authorized by IAM (lambda:InvokeFunction): they are the operator and pass untouched.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { RequestError } from '../../lib/config/request-error.js';
import type { RuntimeConfig } from '../../lib/config/runtime.js';
import { resolveCredentials } from '../../lib/credentials/resolve.js';
import type { SecretBag } from '../../lib/credentials/secret.js';
import type { Caller } from '../../lib/trust/scope.js';
import { isHttpEvent, type HttpEvent } from './event.js';

export const SIGNATURE_HEADER = 'x-bsf-signature';
export const TIMESTAMP_HEADER = 'x-bsf-timestamp';
export const KEY_ID_HEADER = 'x-bsf-key-id';
export const DEFAULT_KEY_ID = 'default';
const DEFAULT_KEY_SECRETS = ['API_AUTH_SECRET', 'API_AUTH_SECRET_PREVIOUS'] as const;
const KEY_ID = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;
/** A rotated secret is picked up within this long on a warm function. */
const SECRET_TTL_MS = 5 * 60_000;
/** Signatures remembered against replay; past this the oldest go first (docs/security.md says what that means). */
const REPLAY_CACHE_LIMIT = 100_000;

export interface SignedRequestParts {
  method: string;
  path: string;
  timestamp: number;
  /** The body as sent (after base64 decoding). */
  body: Buffer;
}

/** Hex HMAC over the canonical string; the client side of the scheme (docs/security.md). */
export function signRequest(secret: string, parts: SignedRequestParts): string {
  const bodyHash = createHash('sha256').update(parts.body).digest('hex');
  const canonical = ['v1', parts.method.toUpperCase(), parts.path, String(parts.timestamp), bodyHash].join(
    '\n',
  );
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('hex');
}

function requestParts(event: HttpEvent, timestamp: number): SignedRequestParts {
  const v2 = 'rawPath' in event;
  const method = v2 ? event.requestContext.http.method : event.httpMethod;
  const path = v2 ? event.rawPath : event.path;
  const raw = event.body ?? '';
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { method, path, timestamp, body };
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** The bag key holding a key id's secret. */
export function keySecretName(keyId: string): string {
  return `API_AUTH_KEY_${keyId.toUpperCase().replaceAll('-', '_')}`;
}

function secretsOf(bag: SecretBag, keyId: string): string[] {
  const names = keyId === DEFAULT_KEY_ID ? DEFAULT_KEY_SECRETS : [keySecretName(keyId)];
  return names.flatMap((name) => {
    const value = bag.reveal(name)?.trim();
    return value ? [value] : [];
  });
}

/** Resolves the key bag once per warm function (and again after SECRET_TTL_MS); a failed lookup is not remembered. */
function keySource(reference: string): () => Promise<SecretBag> {
  let cached: { at: number; bag: Promise<SecretBag> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > SECRET_TTL_MS) {
      const bag = resolveCredentials(reference);
      bag.catch(() => (cached = undefined));
      cached = { at: Date.now(), bag };
    }
    return cached.bag;
  };
}

/**
 * Signatures seen within the window, per warm container: a replay to the same container is refused.
 * Another container of the same function has its own memory (docs/security.md).
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly limit = REPLAY_CACHE_LIMIT) {}

  /** Records `signature` until `expiresAt`; false when it was already there. */
  remember(signature: string, expiresAt: number, now: number): boolean {
    if (this.seen.size >= this.limit) this.prune(now);
    const known = this.seen.get(signature);
    if (known !== undefined && known > now) return false;
    this.seen.set(signature, expiresAt);
    return true;
  }

  private prune(now: number): void {
    for (const [signature, expiresAt] of this.seen) {
      if (expiresAt <= now) this.seen.delete(signature);
    }
    // Still full: drop the oldest (insertion order is arrival order).
    for (const signature of this.seen.keys()) {
      if (this.seen.size < this.limit) break;
      this.seen.delete(signature);
    }
  }
}

const unsigned = (message: string): RequestError =>
  new RequestError('Unauthorized', 'the request is not signed', [
    { path: `headers.${SIGNATURE_HEADER}`, message },
  ]);

export interface SignedRequestOptions {
  secretRef: string;
  windowMs: number;
  now?: () => number;
  replays?: ReplayCache;
}

/** Verifies an HMAC-signed request and returns its key id; throws 401/403 RequestErrors. */
export function signedRequestVerifier(
  options: SignedRequestOptions,
): (event: HttpEvent, headers: Record<string, string | undefined>) => Promise<string> {
  const keys = keySource(options.secretRef);
  const now = options.now ?? Date.now;
  const replays = options.replays ?? new ReplayCache();
  return async (event, headers) => {
    const signature = /^v1=([0-9a-f]{64})$/i
      .exec(headers[SIGNATURE_HEADER]?.trim() ?? '')?.[1]
      ?.toLowerCase();
    const timestampText = headers[TIMESTAMP_HEADER]?.trim() ?? '';
    if (!signature || !/^\d{1,12}$/.test(timestampText)) {
      throw unsigned(`send ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}: v1=<hex HMAC-SHA256>`);
    }
    const keyId = headers[KEY_ID_HEADER]?.trim().toLowerCase() || DEFAULT_KEY_ID;
    if (!KEY_ID.test(keyId)) {
      throw new RequestError('Unauthorized', 'the key id is malformed', [
        { path: `headers.${KEY_ID_HEADER}`, message: 'a key id is lower-case letters, digits and "-"' },
      ]);
    }
    const timestamp = Number(timestampText);
    const at = now();
    if (Math.abs(at - timestamp * 1000) > options.windowMs) {
      throw new RequestError('Forbidden', 'the request signature has expired or is from the future', [
        {
          path: `headers.${TIMESTAMP_HEADER}`,
          message: `must be within ${options.windowMs / 1000} s of the function's clock`,
        },
      ]);
    }
    const parts = requestParts(event, timestamp);
    const bag = await keys();
    if (!bag.keys().some((name) => name.startsWith('API_AUTH_SECRET') || name.startsWith('API_AUTH_KEY_'))) {
      throw new RequestError(
        'Misconfigured',
        'the API is misconfigured: API_AUTH_SECRET_REF holds no API_AUTH_SECRET or API_AUTH_KEY_<ID>',
      );
    }
    const secrets = secretsOf(bag, keyId);
    // An unknown key id and a wrong signature answer alike, so key ids cannot be probed.
    if (!secrets.some((secret) => sameHex(signRequest(secret, parts), signature))) {
      throw new RequestError('Forbidden', 'the request signature does not match', [
        {
          path: `headers.${SIGNATURE_HEADER}`,
          message: 'HMAC over method, path, timestamp and body hash does not match',
        },
      ]);
    }
    if (!replays.remember(signature, timestamp * 1000 + options.windowMs, at)) {
      throw new RequestError('Forbidden', 'the request was already received (replay)', [
        {
          path: `headers.${SIGNATURE_HEADER}`,
          message: 'each signed request is accepted once: sign again with a new timestamp',
        },
      ]);
    }
    return keyId;
  };
}

/** The IAM principal API Gateway (HTTP API v2, REST v1) or a function URL put in the request context. */
export function iamPrincipal(event: HttpEvent): string | undefined {
  const context = event.requestContext as {
    authorizer?: { iam?: { userArn?: unknown } };
    identity?: { userArn?: unknown };
  };
  const arn = context.authorizer?.iam?.userArn ?? context.identity?.userArn;
  return typeof arn === 'string' && arn.startsWith('arn:') ? arn : undefined;
}

/**
 * The subject API Gateway's JWT authorizer verified (HTTP API `authorizer.jwt.claims`), as `jwt:<sub>`;
 * used by the console, whose routes sit behind the deployment's OIDC issuer.
 */
export function jwtPrincipal(event: HttpEvent): string | undefined {
  const context = event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
  const sub = context.authorizer?.jwt?.claims?.sub;
  return typeof sub === 'string' && sub !== '' ? `jwt:${sub}` : undefined;
}

/** The identified caller of each invocation, by its Lambda context (the handler gets the same object). */
const callers = new WeakMap<Context, Caller>();

/** The caller `identifyCaller` found; undefined for direct invokes (the operator). */
export function callerOf(context: Context): Caller | undefined {
  return callers.get(context);
}

/**
 * The middleware: identifies every HTTP caller (or refuses it) before anything else runs, and leaves the
 * Caller for `callerOf(context)`. The deployment being wrong (HMAC without a secret) is a 503 for everyone.
 */
export function identifyCaller(
  config: Pick<RuntimeConfig, 'apiAuth' | 'apiAuthProblem' | 'apiAuthSecretRef' | 'apiAuthWindowMs'>,
  options: { jwt?: boolean } = {},
): middy.MiddlewareObj<unknown, unknown, Error, Context> {
  const verify =
    config.apiAuth === 'hmac' && config.apiAuthSecretRef
      ? signedRequestVerifier({ secretRef: config.apiAuthSecretRef, windowMs: config.apiAuthWindowMs })
      : undefined;
  return {
    before: async (request) => {
      const event = request.event;
      if (!isHttpEvent(event)) return;
      const headers = (event.headers ?? {}) as Record<string, string | undefined>;
      let caller: Caller;
      if (options.jwt && config.apiAuth !== 'none') {
        // The console: API Gateway's JWT authorizer has verified the token; its subject is the caller.
        const principal = jwtPrincipal(event);
        if (!principal) {
          throw new RequestError('Unauthorized', 'the request carries no verified JWT', [
            {
              path: 'requestContext.authorizer.jwt',
              message: 'the console route must use the jwt authorizer',
            },
          ]);
        }
        caller = { kind: 'http', principal };
      } else if (config.apiAuthProblem) {
        throw new RequestError('Misconfigured', `the API is misconfigured: ${config.apiAuthProblem}`);
      } else if (config.apiAuth === 'hmac') {
        if (!verify) throw new RequestError('Misconfigured', 'the API is misconfigured: no HMAC secret');
        const keyId = await verify(event, headers).catch((error: unknown) => {
          if (error instanceof RequestError) throw error;
          // The key bag could not be read: the deployment's problem, and nothing may run.
          throw new RequestError('Misconfigured', 'the API is misconfigured: the HMAC keys cannot be read');
        });
        caller = { kind: 'http', principal: `hmac:${keyId}` };
      } else if (config.apiAuth === 'iam') {
        const principal = iamPrincipal(event);
        if (!principal) {
          throw new RequestError('Unauthorized', 'the request carries no IAM identity', [
            {
              path: 'requestContext.authorizer.iam',
              message: 'sign the request with SigV4; the route must use the aws_iam authorizer',
            },
          ]);
        }
        caller = { kind: 'http', principal };
      } else {
        caller = { kind: 'http', principal: 'anonymous' };
      }
      callers.set(request.context, caller);
    },
  };
}
