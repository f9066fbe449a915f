/**
 * The one table from Backblaze B2 native-API failures to portable codes. B2 answers every failure with
 * an HTTP status and a JSON body `{status, code, message}`; the code decides, the status is the fallback.
 * Documented codes: https://www.backblaze.com/docs/cloud-storage-native-api-error-handling-and-status-codes
 */
import { sanitizeText } from '../../credentials/redact.js';
import { parseRetryAfter } from '../../runtime/retry.js';
import {
  classifyTransportError,
  StorageError,
  type ErrorCode,
  type ErrorSubject,
  type StorageOperation,
} from '../errors.js';

const PROVIDER = 'b2';

/** B2's error body, read from an axios error (downloads deliver it as a Buffer). */
export interface B2Failure {
  status: number;
  code: string;
  message: string;
}

export function b2FailureOf(error: unknown): B2Failure | undefined {
  const response = (error as { response?: { status?: unknown; data?: unknown } } | undefined)?.response;
  if (!response || typeof response.status !== 'number') return undefined;
  let data = response.data;
  if (data instanceof ArrayBuffer) data = Buffer.from(data);
  if (Buffer.isBuffer(data) || typeof data === 'string') {
    try {
      data = JSON.parse(data.toString()) as unknown;
    } catch {
      data = undefined;
    }
  }
  const body = (data ?? {}) as { code?: unknown; message?: unknown };
  return {
    status: response.status,
    code: typeof body.code === 'string' ? body.code : '',
    message: typeof body.message === 'string' ? body.message : '',
  };
}

export interface B2ErrorContext {
  operation: StorageOperation;
  key?: string;
  /** What a NotFound refers to for this call (the bucket for bucket-level calls). */
  notFoundSubject?: ErrorSubject;
  /** True for the authorize call itself: `unauthorized` there means a wrong key id or key. */
  authorizing?: boolean;
  /** What the application key may access, for PermissionDenied hints. */
  allowedText?: string;
  /** Revealed credential values, scrubbed from any B2 message text. */
  secrets: readonly string[];
}

const CAP_HINT =
  'the B2 account reached a daily cap it set (storage, download bandwidth or class B/C transactions); raise or remove the cap under "Caps & Alerts" in the Backblaze web console, or wait for the daily reset at 00:00 GMT';
const KEY_HINT =
  'check B2_ACCOUNT_ID (the application key id, or the account id for the master key) and B2_ACCOUNT_KEY; an application key is shown only once when it is created, and a deleted key stops working';

function permissionHint(context: B2ErrorContext): string {
  const needs =
    'restic and KubeStash need listBuckets, listFiles, readFiles, writeFiles and deleteFiles on the bucket';
  return context.allowedText ? `the application key allows ${context.allowedText}; ${needs}` : needs;
}

type Row = {
  code: ErrorCode;
  subject?: ErrorSubject;
  retryable?: boolean;
  hint?: (context: B2ErrorContext) => string | undefined;
};

/** B2 error code → portable code. `unauthorized` depends on the call and is handled in b2Error. */
const BY_CODE: Record<string, Row> = {
  bad_auth_token: { code: 'Unauthenticated', hint: () => KEY_HINT },
  missing_auth_token: { code: 'Unauthenticated', hint: () => KEY_HINT },
  expired_auth_token: {
    code: 'Unauthenticated',
    hint: () => 'the authorization token expired and re-authorizing did not help; ' + KEY_HINT,
  },
  unsupported: {
    code: 'InvalidConfig',
    hint: () =>
      'this application key cannot be used with the B2 native API version 2; create a new application key',
  },
  access_denied: { code: 'PermissionDenied', hint: permissionHint },
  cap_exceeded: { code: 'QuotaExceeded', hint: () => CAP_HINT },
  storage_cap_exceeded: { code: 'QuotaExceeded', hint: () => CAP_HINT },
  transaction_cap_exceeded: { code: 'QuotaExceeded', hint: () => CAP_HINT },
  download_cap_exceeded: { code: 'QuotaExceeded', hint: () => CAP_HINT },
  too_many_buckets: {
    code: 'QuotaExceeded',
    hint: () =>
      'the B2 account already has the maximum number of buckets; delete an unused bucket or use an existing one',
  },
  duplicate_bucket_name: { code: 'AlreadyExists', subject: 'bucket' },
  not_found: { code: 'NotFound' },
  file_not_present: { code: 'NotFound', subject: 'object' },
  bad_bucket_id: { code: 'NotFound', subject: 'bucket' },
  invalid_bucket_id: { code: 'NotFound', subject: 'bucket' },
  invalid_bucket_name: {
    code: 'InvalidConfig',
    hint: () =>
      'B2 bucket names have 6 to 50 characters: letters, digits and "-", and must not start with "b2-"',
  },
  bad_request: { code: 'InvalidConfig' },
  out_of_range: { code: 'InvalidConfig' },
  invalid_file_id: { code: 'InvalidConfig' },
  bad_value: { code: 'InvalidConfig' },
  request_timeout: { code: 'Timeout', retryable: true },
  too_many_requests: {
    code: 'RateLimited',
    hint: () => 'B2 asks clients to slow down; lower maxConnections or retry later',
  },
  internal_error: { code: 'Unavailable', retryable: true },
  service_unavailable: {
    code: 'Unavailable',
    hint: () => 'B2 is temporarily unable to serve the request; retry later',
  },
};

function byStatus(status: number): Row {
  if (status === 401) return { code: 'Unauthenticated', hint: () => KEY_HINT };
  if (status === 403) return { code: 'PermissionDenied', hint: permissionHint };
  if (status === 404) return { code: 'NotFound' };
  if (status === 408) return { code: 'Timeout', retryable: true };
  if (status === 429) return { code: 'RateLimited' };
  if (status >= 500) return { code: 'Unavailable', retryable: true };
  if (status >= 400) return { code: 'InvalidConfig' };
  return { code: 'Unknown' };
}

function isCanceled(error: unknown): boolean {
  const err = error as { name?: string; code?: string } | undefined;
  return err?.name === 'CanceledError' || err?.code === 'ERR_CANCELED' || err?.code === 'ECONNABORTED';
}

export function b2Error(error: unknown, context: B2ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const base = { provider: PROVIDER, operation: context.operation, key: context.key, cause: error };
  const failure = b2FailureOf(error);
  if (!failure) {
    if (isCanceled(error)) {
      return new StorageError({
        ...base,
        code: 'Timeout',
        message: 'the B2 request did not complete before its deadline',
      });
    }
    const transport = classifyTransportError(error);
    if (transport) return new StorageError({ ...base, ...transport });
    return new StorageError({
      ...base,
      code: 'Unknown',
      message: `unexpected error talking to B2 during ${context.operation}`,
    });
  }
  let row: Row;
  if (failure.code === 'unauthorized') {
    row = context.authorizing
      ? { code: 'Unauthenticated', hint: () => KEY_HINT }
      : { code: 'PermissionDenied', hint: permissionHint };
  } else {
    row = BY_CODE[failure.code] ?? byStatus(failure.status);
  }
  const detail = failure.message ? `: ${sanitizeText(failure.message, context.secrets).slice(0, 200)}` : '';
  const what = context.authorizing ? 'authorizing the application key' : context.operation;
  return new StorageError({
    ...base,
    code: row.code,
    subject: row.subject ?? (row.code === 'NotFound' ? (context.notFoundSubject ?? 'object') : undefined),
    retryable: row.retryable,
    message: `B2 answered ${failure.status} ${failure.code || 'error'} to ${what}${detail}`,
    hint: row.hint?.(context),
  });
}

/** The Retry-After of a failed B2 answer (429, 503), from a mapped error's cause or the axios error. */
export function b2RetryAfterOf(error: unknown): number | undefined {
  const raw = error instanceof StorageError ? error.cause : error;
  const headers = (raw as { response?: { headers?: unknown } } | undefined)?.response?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const value = (headers as Record<string, unknown>)['retry-after'];
  return typeof value === 'string' || typeof value === 'number' ? parseRetryAfter(String(value)) : undefined;
}
