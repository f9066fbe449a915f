/**
 * The one table from a restic REST server's HTTP answers (rest-server, `rclone serve restic`, …) and
 * transport failures to portable codes. Error bodies are the server's short status text; none of it
 * goes into a message.
 *
 * 403 means three things on a REST server, and the store tells them apart before it gets here: a file
 * that already exists (rest-server never overwrites), a DELETE in append-only mode, and a repository
 * the user may not access (private repositories). What reaches this table is the last one, or a
 * refused delete.
 */
import { classifyTransportError, StorageError, type ErrorSubject, type StorageOperation } from '../errors.js';
import type { HttpResponse } from '../../net/http-client.js';
import { parseRetryAfter } from '../../runtime/retry.js';

export const REST_PROVIDER = 'rest';

/** What the failed request addressed: the repository (its directory, its type listings) or one file. */
export type RestTarget = 'repository' | 'file';

export interface RestErrorContext {
  operation: StorageOperation;
  target: RestTarget;
  key?: string;
  /** The repository URL without credentials, for messages. */
  repository: string;
  cause?: unknown;
}

const CREDENTIALS_HINT =
  'check REST_SERVER_USERNAME and REST_SERVER_PASSWORD in the secret (or user:password in the URL) against the server’s .htpasswd';

function subjectOf(target: RestTarget): ErrorSubject {
  return target === 'repository' ? 'bucket' : 'object';
}

function what(context: RestErrorContext): string {
  return context.target === 'repository'
    ? `the repository at ${context.repository}`
    : `file "${context.key ?? ''}"`;
}

/** A failed HTTP answer (status >= 400, or an unexpected one) as a StorageError. */
export function restError(status: number, context: RestErrorContext): StorageError {
  const base = {
    provider: REST_PROVIDER,
    operation: context.operation,
    key: context.key,
    cause: context.cause ?? new Error(`HTTP ${status}`),
  };
  switch (status) {
    case 400:
      return new StorageError({
        ...base,
        code: 'InvalidConfig',
        message: `${what(context)}: the REST server refused the request as malformed (HTTP 400)`,
        hint:
          context.operation === 'put'
            ? 'rest-server refuses a file whose content does not hash (SHA-256) to its name; only restic’s own files can be stored'
            : 'check that the URL points at a restic REST server (rest-server, rclone serve restic)',
      });
    case 401:
      return new StorageError({
        ...base,
        code: 'Unauthenticated',
        message: 'the REST server rejected the credentials',
        hint: CREDENTIALS_HINT,
      });
    case 403:
      return new StorageError({
        ...base,
        code: 'PermissionDenied',
        subject: subjectOf(context.target),
        message:
          context.operation === 'delete'
            ? `the REST server refuses to delete ${what(context)} (HTTP 403; rest-server answers so in append-only mode)`
            : `access to ${what(context)} is denied`,
        hint:
          context.operation === 'delete'
            ? 'an append-only server keeps everything restic wrote: run forget/prune on the server side, or serve the repository without --append-only'
            : 'with --private-repos, rest-server lets a user reach only repositories below /<username>/; check the URL path and the user',
      });
    case 404:
      return new StorageError({
        ...base,
        code: 'NotFound',
        subject: subjectOf(context.target),
        message: `${what(context)} does not exist`,
        hint:
          context.target === 'repository'
            ? 'check the URL path; run initialize to create the repository'
            : undefined,
      });
    case 405:
    case 501:
      return new StorageError({
        ...base,
        code: 'Unimplemented',
        message: `${what(context)}: the server does not implement this request (HTTP ${status})`,
        hint: 'check that the URL points at a restic REST server (rest-server, rclone serve restic), not another web server',
      });
    case 408:
      return new StorageError({
        ...base,
        code: 'Timeout',
        message: `${what(context)}: the server timed out reading the request (HTTP 408)`,
      });
    case 409:
    case 412:
      return new StorageError({
        ...base,
        code: 'PreconditionFailed',
        subject: subjectOf(context.target),
        message: `${what(context)}: conflict (HTTP ${status})`,
      });
    case 413:
    case 507:
      return new StorageError({
        ...base,
        code: 'QuotaExceeded',
        message: `${what(context)}: the server is out of space or over its quota (HTTP ${status})`,
        hint: 'raise rest-server’s --max-size or free space on the server (restic forget/prune)',
      });
    case 429:
      return new StorageError({
        ...base,
        code: 'RateLimited',
        message: `${what(context)}: the server asks to slow down (HTTP 429)`,
      });
    default:
      if (status >= 500 && status <= 599) {
        return new StorageError({
          ...base,
          code: 'Unavailable',
          message: `the REST server is not available right now (HTTP ${status})`,
          hint:
            status === 500
              ? 'rest-server answers 500 when it cannot read or write its files: see its log'
              : undefined,
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
export function restFailure(error: unknown, context: RestErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const base = { provider: REST_PROVIDER, operation: context.operation, key: context.key, cause: error };
  const transport = classifyTransportError(error);
  if (transport) return new StorageError({ ...base, ...transport });
  return new StorageError({
    ...base,
    code: 'Unknown',
    message: `unexpected failure talking to ${what(context)}`,
  });
}

/** Passing failures worth another attempt (retry.ts): 408, 429 and 5xx except 501 and 507. */
export function restRetryVerdict(
  response: Pick<HttpResponse, 'status' | 'header'>,
): { retryAfterMs?: number; notProcessed?: boolean } | undefined {
  const { status } = response;
  const passing =
    status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 507);
  if (!passing) return undefined;
  const retryAfterMs = parseRetryAfter(response.header('retry-after'));
  return { ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), notProcessed: status === 429 };
}

/** A key or prefix the REST protocol cannot express: a clear refusal, never a silent wrong answer. */
export function notExpressible(operation: StorageOperation, key: string, what: string): StorageError {
  return new StorageError({
    code: 'Unimplemented',
    provider: REST_PROVIDER,
    operation,
    key,
    message: `${what} "${key}" cannot be expressed in restic's REST protocol, which stores only config, keys/, locks/, snapshots/, index/ and data/<xx>/ files named by a 64-hex ID`,
    hint: 'a REST server holds one restic repository (a Stash backend); KubeStash storages and other files need an object store (s3, gcs, azure, swift, b2, local)',
  });
}
