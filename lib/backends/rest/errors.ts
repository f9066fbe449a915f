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
import { StorageError, type ErrorSubject, type StorageOperation } from '../errors.js';
import {
  httpStatusError,
  httpTransportError,
  isHttpAnswer,
  type HttpFailureContext,
} from '../http-status.js';

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
const NOT_A_REST_SERVER_HINT =
  'check that the URL points at a restic REST server (rest-server, rclone serve restic), not another web server';

function subjectOf(target: RestTarget): ErrorSubject {
  return target === 'repository' ? 'bucket' : 'object';
}

function what(context: RestErrorContext): string {
  return context.target === 'repository'
    ? `the repository at ${context.repository}`
    : `file "${context.key ?? ''}"`;
}

function httpContext(context: RestErrorContext): HttpFailureContext {
  return {
    provider: REST_PROVIDER,
    operation: context.operation,
    key: context.key,
    what: what(context),
    server: 'the REST server',
    subject: subjectOf(context.target),
    cause: context.cause,
    hints: {
      InvalidConfig:
        context.operation === 'put'
          ? 'rest-server refuses a file whose content does not hash (SHA-256) to its name; only restic’s own files can be stored'
          : NOT_A_REST_SERVER_HINT,
      Unauthenticated: CREDENTIALS_HINT,
      PermissionDenied:
        'with --private-repos, rest-server lets a user reach only repositories below /<username>/; check the URL path and the user',
      NotFound:
        context.target === 'repository'
          ? 'check the URL path; run initialize to create the repository'
          : undefined,
      Unimplemented: NOT_A_REST_SERVER_HINT,
      QuotaExceeded: 'raise rest-server’s --max-size or free space on the server (restic forget/prune)',
      Unavailable: 'a 500 from rest-server means it cannot read or write its files: see its log',
    },
  };
}

/**
 * Any failure of a REST request as a StorageError: an answer (`HttpResponse`) by its status, anything
 * else (DNS, TCP, TLS, deadline) by the transport reading. A 403 on a DELETE is the append-only mode.
 */
export function restError(failure: unknown, context: RestErrorContext): StorageError {
  if (!isHttpAnswer(failure)) return httpTransportError(failure, httpContext({ ...context, cause: failure }));
  const http = httpContext(context);
  if (failure.status === 403 && context.operation === 'delete') {
    const hints = {
      PermissionDenied:
        'an append-only server keeps everything restic wrote: run forget/prune on the server side, or serve the repository without --append-only',
    };
    return httpStatusError(
      403,
      { ...http, hints },
      {
        code: 'PermissionDenied',
        message: `the REST server refuses to delete ${http.what} (HTTP 403; rest-server answers so in append-only mode)`,
      },
    );
  }
  return httpStatusError(failure.status, http);
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
