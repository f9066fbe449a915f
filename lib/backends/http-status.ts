/**
 * How the stores that speak HTTP themselves (Swift, REST) read a failed answer: one status → code
 * classification, one reading of failures without an answer, one verdict on whether another attempt may
 * help. Each protocol's table (`<provider>/errors.ts`) keeps only what a status means there (Swift's
 * 498, REST's append-only 403), its own hints and the names of what it addresses.
 */
import type { HttpRequest, HttpResponse } from '../net/http-client.js';
import { parseRetryAfter, type RetryVerdict } from '../runtime/retry.js';
import {
  classifyTransportError,
  StorageError,
  type ErrorCode,
  type ErrorSubject,
  type StorageOperation,
} from './errors.js';

/** A failed answer as a table reads it: its status (an `HttpResponse`, or a status a bulk answer named). */
export interface HttpAnswer {
  readonly status: number;
}

/** An answer with a status, as opposed to a failure that never got one (DNS, TCP, TLS, abort). */
export function isHttpAnswer(value: unknown): value is HttpAnswer {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}

export interface HttpFailureContext {
  provider: string;
  operation: StorageOperation;
  key?: string;
  /** What the request addressed, as a message names it: `container "x"`, `file "k"`. */
  what: string;
  /** Who answered, as a message names it: `Swift`, `the REST server`, `the identity service`. */
  server: string;
  /** What a NotFound, PermissionDenied or PreconditionFailed refers to. */
  subject?: ErrorSubject;
  /** The protocol's advice, per code, where it has some. */
  hints?: Partial<Record<ErrorCode, string>>;
  cause?: unknown;
}

/** What a status means: its portable code and message (and, where the default is wrong, retryability). */
export interface StatusReading {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
}

/** The reading every HTTP store shares, for a status its protocol gives no meaning of its own. */
function classify(status: number, context: HttpFailureContext): StatusReading {
  const { what, server } = context;
  switch (status) {
    case 400:
      return { code: 'InvalidConfig', message: `${what}: the request was refused as malformed (HTTP 400)` };
    case 401:
      return { code: 'Unauthenticated', message: `${server} rejected the credentials (HTTP 401)` };
    case 403:
      return { code: 'PermissionDenied', message: `access to ${what} is denied` };
    case 404:
      return { code: 'NotFound', message: `${what} does not exist` };
    case 405:
    case 501:
      return {
        code: 'Unimplemented',
        message: `${what}: the server does not implement this request (HTTP ${status})`,
      };
    case 408:
      return { code: 'Timeout', message: `${what}: the server timed out reading the request (HTTP 408)` };
    case 409:
      return { code: 'PreconditionFailed', message: `${what}: conflict (HTTP 409)` };
    case 412:
      return { code: 'PreconditionFailed', message: `${what} already exists or changed (HTTP 412)` };
    case 413:
    case 507:
      return {
        code: 'QuotaExceeded',
        message: `${what}: the server is out of space, over its quota, or the content is too large (HTTP ${status})`,
      };
    case 429:
      return { code: 'RateLimited', message: `${server} asks to slow down (HTTP 429)` };
    default:
      if (status >= 500 && status <= 599)
        return { code: 'Unavailable', message: `${server} is not available right now (HTTP ${status})` };
      return { code: 'Unknown', message: `${what}: unexpected HTTP ${status}` };
  }
}

const ADDRESSED_CODES: ReadonlySet<ErrorCode> = new Set([
  'NotFound',
  'PermissionDenied',
  'PreconditionFailed',
]);

/**
 * A failed HTTP answer (status >= 400, or an unexpected one) as a StorageError: by the shared reading,
 * or by `reading` where the protocol gives the status a meaning of its own.
 */
export function httpStatusError(
  status: number,
  context: HttpFailureContext,
  reading: StatusReading = classify(status, context),
): StorageError {
  const { code, message, retryable } = reading;
  return new StorageError({
    code,
    message,
    retryable,
    provider: context.provider,
    operation: context.operation,
    key: context.key,
    subject: ADDRESSED_CODES.has(code) ? context.subject : undefined,
    hint: context.hints?.[code],
    cause: context.cause ?? new Error(`HTTP ${status}`),
  });
}

/** A failure with no HTTP answer (DNS, TCP, TLS, deadline) or anything unexpected, never with its text. */
export function httpTransportError(error: unknown, context: HttpFailureContext): StorageError {
  if (error instanceof StorageError) return error;
  const base = { provider: context.provider, operation: context.operation, key: context.key, cause: error };
  const transport = classifyTransportError(error);
  if (transport) return new StorageError({ ...base, ...transport });
  return new StorageError({
    ...base,
    code: 'Unknown',
    message: `unexpected failure talking to ${context.what}`,
  });
}

/** An answer whose body the protocol cannot read (`message` says which); the body is never quoted. */
export function unreadableAnswer(
  provider: string,
  operation: StorageOperation,
  message: string,
  about: { key?: string; cause?: unknown } = {},
): StorageError {
  return new StorageError({ code: 'Unknown', provider, operation, message, ...about });
}

/** Statuses a protocol adds to the passing ones: retried, and (for rate limits) known not acted on. */
export interface HttpRetryQuirks {
  passing?: readonly number[];
  notProcessed?: readonly number[];
}

/**
 * Whether an answer is a passing failure worth another attempt (retry.ts): 408, 429 (rate limited, not
 * acted on) and 5xx except 501 (not implemented) and 507 (out of space), plus the protocol's own, with
 * the Retry-After the server or a proxy in front of it sent.
 */
export function httpRetryVerdict(
  response: Pick<HttpResponse, 'status' | 'header'>,
  quirks: HttpRetryQuirks = {},
): RetryVerdict {
  const { status } = response;
  const passing =
    status === 408 ||
    status === 429 ||
    (status >= 500 && status <= 599 && status !== 501 && status !== 507) ||
    (quirks.passing?.includes(status) ?? false);
  if (!passing) return undefined;
  const retryAfterMs = parseRetryAfter(response.header('retry-after'));
  return {
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    notProcessed: status === 429 || (quirks.notProcessed?.includes(status) ?? false),
  };
}

/** One request of a store that speaks HTTP itself, with what its error table needs to know. */
export interface HttpCall<Target extends string> {
  operation: StorageOperation;
  /** What the request addresses, in the protocol's terms (a container, a file, …). */
  target: Target;
  method: HttpRequest['method'];
  /** Below the store's base URL, already encoded. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  key?: string;
  signal?: AbortSignal;
}

/** `url` with the call's query parameters set. */
export function withQuery(url: URL, query: Record<string, string> | undefined): URL {
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
  return url;
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** An existence probe's answer: true for 2xx, false for 404, undefined for a failure the store reports. */
export function presenceOf(response: HttpAnswer): boolean | undefined {
  if (response.status === 404) return false;
  return isSuccess(response.status) ? true : undefined;
}

/** A DELETE's answer: done when it succeeded or the object was already gone (ObjectStore.delete is idempotent). */
export function isDeleted(response: HttpAnswer): boolean {
  return response.status === 404 || isSuccess(response.status);
}

/** The body of an answer as the bytes `get` returns, without a copy. */
export function bodyBytes(response: HttpResponse): Uint8Array {
  return new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength);
}

/**
 * Whose 404 an object request got. Swift and REST servers answer 404 alike for a missing object and for
 * a missing container (repository): it is the object's when a request of the same store already proved
 * the container exists (`seen`), else the existence probe decides (its own failure says nothing: object).
 */
export async function notFoundSubject(
  seen: boolean,
  containerExists: () => Promise<boolean>,
): Promise<'object' | 'bucket'> {
  const exists = seen || (await containerExists().catch(() => true));
  return exists ? 'object' : 'bucket';
}
