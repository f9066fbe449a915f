/**
 * The one table from Google Cloud Storage (SDK, HTTP, google-auth-library) failures to portable codes.
 * GCS text that is kept is scrubbed of the secret's values first.
 */
import { sanitizeText } from '../../credentials/redact.js';
import {
  classifyTransportError,
  StorageError,
  type StorageErrorInit,
  type StorageOperation,
} from '../errors.js';
import { KEY_SECRET, REQUEST_TIMEOUT_MS, type GcsAuthMode } from './auth.js';

const PROVIDER = 'gcs';

interface GcsFailure {
  status?: number;
  reason?: string;
  message: string;
}

/** Status, first reason and message of an SDK error; media downloads put the raw JSON body in `message`. */
function describeFailure(error: unknown): GcsFailure {
  const err = error as {
    code?: unknown;
    message?: unknown;
    errors?: { reason?: unknown; message?: unknown }[];
  };
  let message = typeof err.message === 'string' ? err.message : '';
  let reason = typeof err.errors?.[0]?.reason === 'string' ? err.errors[0].reason : undefined;
  // HTTP statuses only: DOMException (abort, timeout) has a small legacy numeric `code` too.
  const rawStatus =
    typeof err.code === 'number' ? err.code : typeof err.code === 'string' ? Number(err.code) : NaN;
  let status = Number.isInteger(rawStatus) && rawStatus >= 100 && rawStatus <= 599 ? rawStatus : undefined;
  if (message.startsWith('{')) {
    try {
      const body = JSON.parse(message) as {
        error?: { code?: number; message?: string; errors?: { reason?: string }[] };
      };
      message = body.error?.message ?? message;
      reason = reason ?? body.error?.errors?.[0]?.reason;
      status = status ?? body.error?.code;
    } catch {
      // Not the JSON error body after all; keep the text as it is.
    }
  }
  return { status, reason, message };
}

const OBJECT_OPERATIONS: ReadonlySet<StorageOperation> = new Set(['stat', 'get', 'put', 'delete']);
const MISSING_BUCKET = /bucket does not exist/i;

/**
 * The one table from SDK/HTTP failures to portable codes. `mode` picks the authentication hint;
 * `secrets` are scrubbed from any GCS text that is kept.
 */
export function gcsError(
  error: unknown,
  context: {
    operation: StorageOperation;
    key?: string;
    bucket: string;
    mode: GcsAuthMode;
    secrets: readonly string[];
  },
): StorageError {
  if (error instanceof StorageError) return error;
  const { operation, key, bucket, mode } = context;
  const base = { provider: PROVIDER, operation, key, cause: error };
  const failure = describeFailure(error);
  const gcsText = sanitizeText(failure.message, context.secrets);
  const make = (init: Omit<StorageErrorInit, 'provider' | 'operation' | 'key' | 'cause'>): StorageError =>
    new StorageError({ ...base, ...init });
  const authHint =
    mode === 'service-account'
      ? `the service-account key in ${KEY_SECRET} was refused: check that the key and its service account still exist and are enabled`
      : mode === 'application-default'
        ? `no usable Application Default Credentials: bind the function to a Google service account (workload identity) or put a key in the secret as ${KEY_SECRET}`
        : `the endpoint requires credentials: put a service-account key in the secret as ${KEY_SECRET}`;

  // google-auth-library: ADC found nothing, or the token endpoint refused the key.
  if (/could not load the default credentials/i.test(failure.message)) {
    return make({
      code: 'Unauthenticated',
      message: 'no Application Default Credentials were found',
      hint: authHint,
    });
  }
  const grant = (error as { response?: { data?: { error?: unknown } } }).response?.data?.error;
  if (grant === 'invalid_grant' || grant === 'invalid_client' || grant === 'unauthorized_client') {
    return make({
      code: 'Unauthenticated',
      message: `Google refused the service-account key (${grant})`,
      hint: authHint,
    });
  }
  if (/universe domain/i.test(failure.message)) {
    return make({
      code: 'InvalidConfig',
      message: gcsText,
      hint: 'the key’s universe_domain and the endpoint must belong to the same Google Cloud universe',
    });
  }
  // node-fetch timeouts carry a type, not an errno code.
  const fetchType = (error as { type?: unknown }).type;
  if (fetchType === 'request-timeout' || fetchType === 'body-timeout') {
    return make({
      code: 'Timeout',
      message: `a request to GCS took longer than ${REQUEST_TIMEOUT_MS / 1000} s`,
      hint: 'check the network path to the endpoint',
    });
  }
  if (failure.status === undefined) {
    const transport = classifyTransportError(error);
    if (transport) return make(transport);
  }

  switch (failure.status) {
    case 400:
      return make({
        code: 'InvalidConfig',
        message: `GCS rejected the request: ${gcsText}`,
        hint: 'check the bucket name and prefix against GCS naming rules',
      });
    case 401:
      return make({
        code: 'Unauthenticated',
        message: `GCS did not accept the credentials (${failure.reason ?? '401'})`,
        hint: authHint,
      });
    case 403:
      return make({
        code: 'PermissionDenied',
        subject: OBJECT_OPERATIONS.has(operation) ? 'object' : 'bucket',
        message: `access denied: ${gcsText}`,
        hint:
          operation === 'stat' || operation === 'get'
            ? `GCS also answers 403 for an object that does not exist when the caller may not list the bucket, so this may be a missing object; grant roles/storage.objectAdmin (which includes storage.objects.list) on ${bucket} to tell the two apart`
            : `grant the service account roles/storage.objectAdmin on bucket ${bucket} (and roles/storage.admin to create buckets)`,
      });
    case 404:
      if (MISSING_BUCKET.test(failure.message) || !OBJECT_OPERATIONS.has(operation)) {
        return make({
          code: 'NotFound',
          subject: 'bucket',
          message: `bucket ${bucket} does not exist`,
          hint: 'check the bucket name (and the project); initialize with options.createBucket creates it',
        });
      }
      return make({ code: 'NotFound', subject: 'object', message: `${key ?? 'object'} does not exist` });
    case 409:
      return make({
        code: 'AlreadyExists',
        subject: operation === 'createBucket' ? 'bucket' : 'object',
        message:
          operation === 'createBucket'
            ? `bucket ${bucket} already exists (${gcsText})`
            : `${key ?? 'object'} already exists`,
      });
    case 412:
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `${key ?? 'object'} already exists or changed (precondition failed)`,
      });
    case 429:
      return make({
        code: 'RateLimited',
        message: `GCS rate limit (${failure.reason ?? '429'})`,
        hint: 'GCS allows about one write per second to one object and limits bucket operations per project; retry later',
      });
    default:
      if (failure.status !== undefined && failure.status >= 500) {
        return make({
          code: 'Unavailable',
          message: `GCS is unavailable (${failure.status} ${failure.reason ?? ''})`.trim(),
          retryable: true,
          hint: 'a transient GCS failure; retry',
        });
      }
      // node-fetch does not follow a redirect with a streamed upload body; any redirect means the
      // endpoint is not the JSON API itself.
      if (
        (error as { type?: unknown }).type === 'unsupported-redirect' ||
        (failure.status !== undefined && failure.status >= 300 && failure.status < 400)
      ) {
        return make({
          code: 'InvalidConfig',
          message: `the endpoint answered with a redirect during ${operation}`,
          hint: 'point options.endpoint at the GCS JSON API itself, not at a proxy that redirects',
        });
      }
      return make({
        code: 'Unknown',
        message: `unexpected GCS error${failure.status ? ` (${failure.status})` : ''} during ${operation}`,
      });
  }
}
