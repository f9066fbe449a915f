/**
 * Continuation tokens: what a long walk (inventory, cleanup) hands back when its time runs out, and
 * takes again to resume. A token is base64url of a small JSON document naming the operation, the storage
 * it belongs to (a fingerprint, so a token cannot be replayed against another storage) and the walk's
 * state. It is opaque to callers, but not secret: it holds prefixes and counts, never credentials.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RequestError } from '../config/request-error.js';
import { backendLocation, backendPrefix, type StorageTarget } from '../config/backend.js';

const TOKEN_VERSION = 1;
/** A token travels in a request body (1 MiB by default); the walk keeps its frontier far below this. */
export const MAX_TOKEN_CHARS = 512 * 1024;
const FIELD = 'options.continuation';

/** Which storage a token belongs to: flavor, provider, bucket/container/root and prefix. */
export function storageFingerprint(target: StorageTarget): string {
  const { backend } = target;
  const identity = JSON.stringify([
    target.flavor,
    backend.provider,
    backendLocation(backend),
    backendPrefix(backend),
  ]);
  return createHash('sha256').update(identity).digest('base64url').slice(0, 22);
}

const envelope = z.object({
  v: z.literal(TOKEN_VERSION),
  op: z.string(),
  fp: z.string(),
  state: z.unknown(),
});

export function encodeContinuation(operation: string, fingerprint: string, state: unknown): string {
  return Buffer.from(
    JSON.stringify({ v: TOKEN_VERSION, op: operation, fp: fingerprint, state }),
    'utf8',
  ).toString('base64url');
}

function refuse(message: string): RequestError {
  return new RequestError('InvalidRequest', `invalid continuation token: ${message}`, [
    { path: FIELD, message },
  ]);
}

/** Token → state, or an InvalidRequest naming options.continuation when it is garbled, foreign or stale. */
export function decodeContinuation<S extends z.ZodType>(
  token: string,
  operation: string,
  fingerprint: string,
  schema: S,
): z.output<S> {
  if (token.length > MAX_TOKEN_CHARS) throw refuse('too long');
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw refuse('not base64url');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse('not a token issued by this service');
  }
  const outer = envelope.safeParse(decoded);
  if (!outer.success) throw refuse('not a token issued by this service (or from an incompatible version)');
  if (outer.data.op !== operation) {
    throw refuse(`issued by ${outer.data.op}, not ${operation}; pass it to the operation that returned it`);
  }
  if (outer.data.fp !== fingerprint)
    throw refuse('issued for a different storage (provider, bucket or prefix)');
  const state = schema.safeParse(outer.data.state);
  if (!state.success) throw refuse('its state is malformed');
  return state.data;
}
