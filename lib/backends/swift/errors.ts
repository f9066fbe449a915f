/**
 * The one table from Swift's (and Keystone's) HTTP answers and transport failures to portable codes.
 * Swift's error bodies are short HTML or text pages; none of their text goes into a message.
 */
import { StorageError, classifyTransportError, type ErrorSubject, type StorageOperation } from '../errors.js';
import type { HttpResponse } from '../../net/http-client.js';
import { parseRetryAfter } from '../../runtime/retry.js';

export const SWIFT_PROVIDER = 'swift';

/** What the failed request addressed: the identity service, the account, a container or one object. */
export type SwiftTarget = 'auth' | 'account' | 'container' | 'object';

export interface SwiftErrorContext {
  operation: StorageOperation;
  target: SwiftTarget;
  key?: string;
  /** The container, for messages. */
  container?: string;
  /** Which keys authenticate, for hints ("ST_USER/ST_KEY", "OS_USERNAME/OS_PASSWORD", …). */
  credentialKeys?: string;
  cause?: unknown;
}

function subjectOf(target: SwiftTarget): ErrorSubject | undefined {
  if (target === 'container') return 'bucket';
  if (target === 'object') return 'object';
  if (target === 'account') return 'account';
  return undefined;
}

function what(context: SwiftErrorContext): string {
  switch (context.target) {
    case 'auth':
      return 'the identity service';
    case 'account':
      return 'the Swift account';
    case 'container':
      return `container "${context.container ?? ''}"`;
    case 'object':
      return `object "${context.key ?? ''}"`;
  }
}

/** A failed HTTP answer (status >= 400, or an unexpected one) as a StorageError. */
export function swiftError(status: number, context: SwiftErrorContext): StorageError {
  const base = {
    provider: SWIFT_PROVIDER,
    operation: context.operation,
    key: context.key,
    cause: context.cause ?? new Error(`HTTP ${status}`),
  };
  const keys = context.credentialKeys ?? 'the credentials';
  switch (status) {
    case 400:
      return new StorageError({
        ...base,
        code: 'InvalidConfig',
        message: `${what(context)} refused the request as malformed (HTTP 400)`,
        hint:
          context.target === 'auth'
            ? `check that ${keys} form a complete Keystone request (user and project domains, project name or ID)`
            : 'check the container name and prefix (Swift container names may not contain "/" and are at most 256 bytes)',
      });
    case 401:
      return new StorageError({
        ...base,
        code: 'Unauthenticated',
        message:
          context.target === 'auth'
            ? 'the identity service rejected the credentials'
            : 'Swift rejected the token',
        hint: `check ${keys}; a token given as OS_AUTH_TOKEN may have expired`,
      });
    case 403:
      return new StorageError({
        ...base,
        code: 'PermissionDenied',
        subject: subjectOf(context.target),
        message: `access to ${what(context)} is denied`,
        hint: 'give the user a role that may read and write the container (e.g. member/_member_ on the project, or a container ACL)',
      });
    case 404:
      if (context.target === 'auth') {
        return new StorageError({
          ...base,
          code: 'InvalidConfig',
          message: 'the auth URL does not serve the expected authentication API (HTTP 404)',
          hint: 'check ST_AUTH (v1, usually ending in /auth/v1.0) or OS_AUTH_URL (Keystone, usually ending in /v3 or /v2.0)',
        });
      }
      return new StorageError({
        ...base,
        code: 'NotFound',
        subject: subjectOf(context.target),
        message: `${what(context)} does not exist`,
        hint:
          context.target === 'container'
            ? 'create the container, or run initialize with options.createBucket'
            : context.target === 'account'
              ? 'check OS_STORAGE_URL (or the object-store endpoint in the catalog)'
              : undefined,
      });
    case 408:
      return new StorageError({
        ...base,
        code: 'Timeout',
        message: `${what(context)}: the server timed out reading the request (HTTP 408)`,
      });
    case 409:
      return new StorageError({
        ...base,
        code: 'PreconditionFailed',
        message: `${what(context)}: conflict (HTTP 409)`,
      });
    case 412:
      return new StorageError({
        ...base,
        code: 'PreconditionFailed',
        subject: subjectOf(context.target),
        message: `${what(context)} already exists`,
      });
    case 413:
      return new StorageError({
        ...base,
        code: 'QuotaExceeded',
        message: `${what(context)}: the account or container quota is exhausted, or the object is too large (HTTP 413)`,
        hint: 'raise the Swift quota or free space',
      });
    case 422:
      return new StorageError({
        ...base,
        code: 'Unavailable',
        message: `${what(context)}: the content did not match its checksum in transit (HTTP 422)`,
        retryable: true,
      });
    case 429:
    case 498:
      return new StorageError({
        ...base,
        code: 'RateLimited',
        message: `Swift is rate limiting requests (HTTP ${status})`,
      });
    case 501:
      return new StorageError({
        ...base,
        code: 'Unimplemented',
        message: `${what(context)}: the server does not implement this request (HTTP 501)`,
      });
    default:
      if (status === 507 || (status >= 500 && status <= 599)) {
        return new StorageError({
          ...base,
          code: 'Unavailable',
          message: `${context.target === 'auth' ? 'the identity service' : 'Swift'} is not available right now (HTTP ${status})`,
          hint: status === 507 ? 'the storage nodes are out of space' : undefined,
        });
      }
      return new StorageError({
        ...base,
        code: 'Unknown',
        message: `${what(context)}: unexpected HTTP ${status}`,
      });
  }
}

/** A failure with no HTTP answer (DNS, TCP, TLS, deadline) or anything unexpected, never with its text. */
export function swiftFailure(error: unknown, context: SwiftErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const transport = classifyTransportError(error);
  const base = { provider: SWIFT_PROVIDER, operation: context.operation, key: context.key, cause: error };
  if (transport) return new StorageError({ ...base, ...transport });
  return new StorageError({
    ...base,
    code: 'Unknown',
    message: `unexpected failure talking to ${what(context)}`,
  });
}

/**
 * Whether an answer is a passing failure worth another attempt (retry.ts): 408, 422 (content damaged in
 * transit), 429/498 (rate limited, not acted on) and 5xx except 501 (not implemented) and 507 (out of
 * space), with the Retry-After Swift or a proxy in front of it sent.
 */
export function swiftRetryVerdict(
  response: Pick<HttpResponse, 'status' | 'header'>,
): { retryAfterMs?: number; notProcessed?: boolean } | undefined {
  const { status } = response;
  const passing =
    status === 408 ||
    status === 422 ||
    status === 429 ||
    status === 498 ||
    (status >= 500 && status <= 599 && status !== 501 && status !== 507);
  if (!passing) return undefined;
  const retryAfterMs = parseRetryAfter(response.header('retry-after'));
  return {
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    notProcessed: status === 429 || status === 498,
  };
}
