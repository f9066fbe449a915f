/**
 * The one table from Swift's (and Keystone's) answers and transport failures to portable codes: what a
 * status means in Swift (its hints, 498, 422, a 404 from the identity service), on top of the reading
 * every HTTP store shares (../http-status.ts). Swift's error bodies are short HTML or text pages; none of
 * their text goes into a message.
 */
import type { ErrorSubject, StorageError, StorageOperation } from '../errors.js';
import {
  httpRetryVerdict,
  httpStatusError,
  httpTransportError,
  isHttpAnswer,
  type HttpFailureContext,
} from '../http-status.js';
import type { HttpResponse } from '../../net/http-client.js';
import type { RetryVerdict } from '../../runtime/retry.js';

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

/** Swift's "slow down": a rate limit, answered before the request was acted on. */
const SWIFT_RATE_LIMITED = 498;
/** The content did not match the ETag sent with it: damaged in transit, worth sending again. */
const CHECKSUM_MISMATCH = 422;

const AUTH_URL_HINT =
  'check ST_AUTH (v1, usually ending in /auth/v1.0) or OS_AUTH_URL (Keystone, usually ending in /v3 or /v2.0)';

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

function notFoundHint(target: SwiftTarget): string | undefined {
  if (target === 'container') return 'create the container, or run initialize with options.createBucket';
  if (target === 'account') return 'check OS_STORAGE_URL (or the object-store endpoint in the catalog)';
  return undefined;
}

function httpContext(context: SwiftErrorContext): HttpFailureContext {
  const keys = context.credentialKeys ?? 'the credentials';
  const auth = context.target === 'auth';
  return {
    provider: SWIFT_PROVIDER,
    operation: context.operation,
    key: context.key,
    what: what(context),
    server: auth ? 'the identity service' : 'Swift',
    subject: subjectOf(context.target),
    cause: context.cause,
    hints: {
      InvalidConfig: auth
        ? `check that ${keys} form a complete Keystone request (user and project domains, project name or ID)`
        : 'check the container name and prefix (Swift container names may not contain "/" and are at most 256 bytes)',
      Unauthenticated: `check ${keys}; a token given as OS_AUTH_TOKEN may have expired`,
      PermissionDenied:
        'give the user a role that may read and write the container (e.g. member/_member_ on the project, or a container ACL)',
      NotFound: notFoundHint(context.target),
      QuotaExceeded: 'raise the Swift quota or free space (a 507 means the storage nodes are out of space)',
    },
  };
}

/**
 * Any failure of a Swift or identity request as a StorageError: an answer (`HttpResponse`, or `{ status }`
 * a bulk answer named) by its status, anything else (DNS, TCP, TLS, deadline) by the transport reading.
 */
export function swiftError(failure: unknown, context: SwiftErrorContext): StorageError {
  if (!isHttpAnswer(failure)) return httpTransportError(failure, httpContext({ ...context, cause: failure }));
  const http = httpContext(context);
  switch (failure.status) {
    case 404:
      if (context.target !== 'auth') break;
      return httpStatusError(
        404,
        { ...http, hints: { InvalidConfig: AUTH_URL_HINT } },
        {
          code: 'InvalidConfig',
          message: 'the auth URL does not serve the expected authentication API (HTTP 404)',
        },
      );
    case CHECKSUM_MISMATCH:
      return httpStatusError(CHECKSUM_MISMATCH, http, {
        code: 'Unavailable',
        message: `${http.what}: the content did not match its checksum in transit (HTTP 422)`,
        retryable: true,
      });
    case SWIFT_RATE_LIMITED:
      return httpStatusError(SWIFT_RATE_LIMITED, http, {
        code: 'RateLimited',
        message: `Swift is rate limiting requests (HTTP ${SWIFT_RATE_LIMITED})`,
      });
  }
  return httpStatusError(failure.status, http);
}

/** Passing failures worth another attempt (retry.ts): the shared ones, 422 (damaged in transit) and 498. */
export function swiftRetryVerdict(response: Pick<HttpResponse, 'status' | 'header'>): RetryVerdict {
  return httpRetryVerdict(response, {
    passing: [CHECKSUM_MISMATCH, SWIFT_RATE_LIMITED],
    notProcessed: [SWIFT_RATE_LIMITED],
  });
}
