/**
 * One portable error for every backend. Each adapter maps its SDK's failures to a `code` in one table;
 * everything above lib/backends branches on `code` (and `subject`), never on a message.
 */
import { endpointRefusalOf } from '../net/endpoint-guard.js';

export const ERROR_CODES = [
  'NotFound',
  'AlreadyExists',
  'PreconditionFailed',
  'PermissionDenied',
  'Unauthenticated',
  'InvalidConfig',
  'Unreachable',
  'TlsError',
  'Timeout',
  'RateLimited',
  'Unavailable',
  'QuotaExceeded',
  'Unimplemented',
  'Unknown',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What a NotFound (or PermissionDenied) refers to: the bucket/container itself or one object in it. */
export type ErrorSubject = 'bucket' | 'object' | 'account';

export type StorageOperation =
  'connect' | 'bucketExists' | 'createBucket' | 'stat' | 'get' | 'put' | 'list' | 'delete' | 'authenticate';

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set(['Timeout', 'RateLimited', 'Unavailable']);

export interface StorageErrorInit {
  code: ErrorCode;
  /** Short, sanitized, human message. Never contains a secret, a signed URL or a raw response dump. */
  message: string;
  provider?: string;
  operation?: StorageOperation;
  key?: string;
  subject?: ErrorSubject;
  /** What a person can do about it. */
  hint?: string;
  retryable?: boolean;
  /** The original error, kept for debugging; never serialized. */
  cause?: unknown;
}

export class StorageError extends Error {
  readonly code: ErrorCode;
  readonly provider: string | undefined;
  readonly operation: StorageOperation | undefined;
  readonly key: string | undefined;
  readonly subject: ErrorSubject | undefined;
  readonly hint: string | undefined;
  readonly retryable: boolean;

  constructor(init: StorageErrorInit) {
    super(init.message);
    this.name = 'StorageError';
    this.code = init.code;
    this.provider = init.provider;
    this.operation = init.operation;
    this.key = init.key;
    this.subject = init.subject;
    this.hint = init.hint;
    this.retryable = init.retryable ?? RETRYABLE_BY_DEFAULT.has(init.code);
    // Keep the cause off enumerable properties so JSON.stringify and loggers never walk into SDK objects.
    Object.defineProperty(this, 'cause', { value: init.cause, enumerable: false });
  }

  /** A copy with fields filled in where the adapter left them empty (operation, key, provider). */
  withContext(
    context: Partial<Pick<StorageErrorInit, 'provider' | 'operation' | 'key' | 'hint'>>,
  ): StorageError {
    return new StorageError({
      code: this.code,
      message: this.message,
      provider: this.provider ?? context.provider,
      operation: this.operation ?? context.operation,
      key: this.key ?? context.key,
      subject: this.subject,
      hint: this.hint ?? context.hint,
      retryable: this.retryable,
      cause: this.cause,
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      provider: this.provider,
      operation: this.operation,
      key: this.key,
      subject: this.subject,
      hint: this.hint,
      retryable: this.retryable,
    };
  }
}

export function isStorageError(value: unknown, code?: ErrorCode): value is StorageError {
  return value instanceof StorageError && (code === undefined || value.code === code);
}

/**
 * The create-if-absent refusal adapters raise themselves: `key` is already there (an object on `put`),
 * or the bucket/container `bucket` names is (on `createBucket`).
 */
export function alreadyExists(provider: string, target: { key: string } | { bucket: string }): StorageError {
  const isKey = 'key' in target;
  return new StorageError({
    code: 'AlreadyExists',
    subject: isKey ? 'object' : 'bucket',
    provider,
    operation: isKey ? 'put' : 'createBucket',
    key: isKey ? target.key : undefined,
    message: `${isKey ? target.key : target.bucket} already exists`,
  });
}

/** NotFound for a missing bucket (container, root directory): `what` names it, `hint` says how to create it. */
export function missingBucket(
  provider: string,
  where: { operation: StorageOperation; key?: string },
  what: string,
  hint: string,
): StorageError {
  const { operation, key } = where;
  return new StorageError({
    code: 'NotFound',
    subject: 'bucket',
    provider,
    operation,
    key,
    message: `${what} does not exist`,
    hint,
  });
}

/** True for the codes a conditional create answers with when the object is already there. */
export function isAlreadyExists(error: unknown): boolean {
  return isStorageError(error) && (error.code === 'AlreadyExists' || error.code === 'PreconditionFailed');
}

/**
 * Classifies failures that happen below any provider protocol: DNS, TCP, TLS, aborts. Adapters call this
 * first and fall back to their own table, so the network layer is classified the same way everywhere.
 */
export function classifyTransportError(error: unknown): StorageErrorInit | undefined {
  const err = error as { name?: string; code?: string; message?: string; cause?: unknown } | undefined;
  if (!err || typeof err !== 'object') return undefined;
  const code = err.code ?? (err.cause as { code?: string } | undefined)?.code;
  if (
    err.name === 'AbortError' ||
    err.name === 'TimeoutError' ||
    code === 'ABORT_ERR' ||
    code === 'ETIMEDOUT'
  ) {
    return {
      code: 'Timeout',
      message: 'the request did not complete before its deadline',
      hint: 'check that the endpoint is reachable from the function and not overloaded; raise options.timeoutSeconds if the backend is slow',
    };
  }
  switch (code) {
    // lib/net/endpoint-guard.ts refused the connection: its reason and hint name the setting at stake.
    case 'ERR_ENDPOINT_REFUSED': {
      const refusal = endpointRefusalOf(err);
      return {
        code: 'InvalidConfig',
        message: `the endpoint is not allowed: ${refusal?.reason ?? 'its address or host is refused by the deployment'}`,
        hint:
          refusal?.hint ??
          'use the storage’s own endpoint; the deployment decides which endpoints are allowed (ALLOW_PRIVATE_ENDPOINTS, ENDPOINT_ALLOWED_HOSTS)',
        retryable: false,
      };
    }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return {
        code: 'Unreachable',
        message: 'the endpoint host name does not resolve',
        hint: 'check the endpoint (or account / bucket name that forms the host name) for typos, and the function’s DNS and VPC settings',
        retryable: code === 'EAI_AGAIN',
      };
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return {
        code: 'Unreachable',
        message: `the endpoint could not be reached (${code})`,
        hint: 'check the endpoint address and port, and that the function’s network (VPC, security groups, firewall) allows the connection',
        retryable: true,
      };
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
    case 'CERT_SIGNATURE_FAILURE':
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return {
        code: 'TlsError',
        message: `the TLS connection failed (${code})`,
        hint: 'if the endpoint uses a private CA, put its PEM certificate in the secret as CA_CERT_DATA; set insecureTLS only for testing',
      };
    default:
      return undefined;
  }
}

/** Last resort: anything an adapter did not recognise. Carries no message text from the SDK. */
export function unknownError(
  error: unknown,
  provider: string,
  operation: StorageOperation,
  key?: string,
): StorageError {
  const transport = classifyTransportError(error);
  if (transport) return new StorageError({ ...transport, provider, operation, key, cause: error });
  return new StorageError({
    code: 'Unknown',
    message: `unexpected ${provider} error during ${operation}`,
    provider,
    operation,
    key,
    cause: error,
  });
}

/** A NotFound about the object itself, not about its bucket. */
export function isMissingObject(error: unknown): boolean {
  return isStorageError(error, 'NotFound') && error.subject === 'object';
}

/**
 * Runs the delete of one object, counting an object that is not there as deleted (ObjectStore.delete is
 * idempotent: a retried or concurrent delete removed it). A missing bucket is still a failure.
 */
export async function deleteIdempotently(deletion: () => Promise<unknown>): Promise<void> {
  try {
    await deletion();
  } catch (error) {
    if (!isMissingObject(error)) throw error;
  }
}
