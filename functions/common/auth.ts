/**
 * Signed HTTP requests, for deployments that cannot put IAM authorization (SigV4, `authorizer: aws_iam`
 * in serverless.yml) in front of the API. With `API_AUTH_SECRET_REF` set, every HTTP request must carry
 *
 *   X-BSF-Timestamp: <unix seconds>
 *   X-BSF-Signature: v1=<hex HMAC-SHA256(secret, "v1\n<METHOD>\n<path>\n<timestamp>\n<hex SHA-256 of the body>")>
 *
 * with the shared secret `API_AUTH_SECRET` (or, during a rotation, `API_AUTH_SECRET_PREVIOUS`) from
 * that credentials reference. Missing or malformed → 401; a wrong signature or a timestamp outside
 * the window (API_AUTH_WINDOW_SECONDS, default 300) → 403; both before the body is even decoded.
 * Direct invocations are authorized by IAM (lambda:InvokeFunction) and pass untouched.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { RequestError } from '../../lib/api/request-error.js';
import { resolveCredentials } from '../../lib/credentials/resolve.js';
import { isHttpEvent, type HttpEvent } from './event.js';

export const SIGNATURE_HEADER = 'x-bsf-signature';
export const TIMESTAMP_HEADER = 'x-bsf-timestamp';
const SECRET_KEYS = ['API_AUTH_SECRET', 'API_AUTH_SECRET_PREVIOUS'] as const;
/** A rotated secret is picked up within this long on a warm function. */
const SECRET_TTL_MS = 5 * 60_000;

export interface SignedRequestParts {
  method: string;
  path: string;
  timestamp: number;
  /** The body as sent (after base64 decoding). */
  body: Buffer;
}

/** Hex HMAC over the canonical string; the client side of the scheme (docs/reliability.md). */
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

export interface SignedRequestOptions {
  secretRef: string;
  windowMs: number;
  now?: () => number;
}

/** Resolves the shared secret(s) once per warm function (and again after SECRET_TTL_MS). */
function secretSource(reference: string): () => Promise<string[]> {
  let cached: { at: number; secrets: Promise<string[]> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > SECRET_TTL_MS) {
      const secrets = resolveCredentials(reference).then((bag) => {
        const values = SECRET_KEYS.flatMap((key) => {
          const value = bag.reveal(key)?.trim();
          return value ? [value] : [];
        });
        if (values.length === 0) throw new Error(`the API auth secret reference holds no ${SECRET_KEYS[0]}`);
        return values;
      });
      // A failed lookup is not remembered.
      secrets.catch(() => (cached = undefined));
      cached = { at: Date.now(), secrets };
    }
    return cached.secrets;
  };
}

/** The middleware: refuses unsigned, stale or wrongly signed HTTP requests before anything runs. */
export function verifySignedRequest(
  options: SignedRequestOptions,
): middy.MiddlewareObj<unknown, unknown, Error, Context> {
  const secrets = secretSource(options.secretRef);
  const now = options.now ?? Date.now;
  return {
    before: async (request) => {
      const event = request.event;
      if (!isHttpEvent(event)) return;
      const headers = (event.headers ?? {}) as Record<string, string | undefined>;
      const signature = /^v1=([0-9a-f]{64})$/i.exec(headers[SIGNATURE_HEADER]?.trim() ?? '')?.[1];
      const timestampText = headers[TIMESTAMP_HEADER]?.trim() ?? '';
      if (!signature || !/^\d{1,12}$/.test(timestampText)) {
        throw new RequestError('Unauthorized', 'the request is not signed', [
          {
            path: `headers.${SIGNATURE_HEADER}`,
            message: `send ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}: v1=<hex HMAC-SHA256>`,
          },
        ]);
      }
      const timestamp = Number(timestampText);
      if (Math.abs(now() - timestamp * 1000) > options.windowMs) {
        throw new RequestError('Forbidden', 'the request signature has expired or is from the future', [
          {
            path: `headers.${TIMESTAMP_HEADER}`,
            message: `must be within ${options.windowMs / 1000} s of the function's clock`,
          },
        ]);
      }
      const parts = requestParts(event, timestamp);
      const valid = (await secrets()).some((secret) => sameHex(signRequest(secret, parts), signature));
      if (!valid) {
        throw new RequestError('Forbidden', 'the request signature does not match', [
          {
            path: `headers.${SIGNATURE_HEADER}`,
            message: 'HMAC over method, path, timestamp and body hash does not match',
          },
        ]);
      }
    },
  };
}
