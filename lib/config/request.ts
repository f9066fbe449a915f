/**
 * The request every function takes, from every event source:
 * `{ storage, credentials?, options? }` (later issues add sections such as `notify`).
 */
import { z } from 'zod';
import { parseStorage } from './manifests.js';
import type { StorageTarget } from './backend.js';
import { parseOrThrow, RequestError } from './request-error.js';
import { resticOptionsShape } from './restic-options.js';
import { notifySchema, type NotifyTargets } from './notify.js';

const credentialsReference = z
  .string()
  .min(1)
  .max(2048)
  .regex(
    /^[a-z][a-z0-9-]*(:.*)?$/,
    'must be a reference such as "env", "dir:/path" or "aws-secretsmanager:<id>"',
  );

export const optionsSchema = z.strictObject({
  /** Service endpoint for any provider (emulators, sovereign clouds, private endpoints). */
  endpoint: z.string().min(1).max(2048).optional(),
  /** initialize: create the bucket/container when it is missing. */
  createBucket: z.boolean().optional(),
  /** initialize: accept a prefix that already holds data but no metadata.yaml. */
  adopt: z.boolean().optional(),
  /** check: skip the write probe, for read-only credentials. */
  readOnly: z.boolean().optional(),
  /** Upper bound for the whole operation; the invocation's remaining time bounds it too. */
  timeoutSeconds: z.number().positive().max(900).optional(),
  /** restic repositories, scrypt parameters, repository version (docs/restic.md). */
  ...resticOptionsShape,
  /** inventory, cleanup (and check with inventory): resume from the token a previous call returned. */
  continuation: z
    .string()
    .min(1)
    .max(512 * 1024)
    .optional(),
  /** cleanup: the storage's `<bucket or container>/<prefix>`, repeated as explicit confirmation (docs/inventory.md). */
  confirm: z.string().min(1).max(2048).optional(),
  /** check: also inventory the storage (repositories, sizes, snapshots). */
  inventory: z.boolean().optional(),
});
export type OperationOptions = z.output<typeof optionsSchema>;

export const requestEnvelope = z.strictObject({
  storage: z.unknown().refine((value) => value !== undefined && value !== null, 'required'),
  credentials: credentialsReference.optional(),
  options: optionsSchema.optional(),
  /** Where to send the result besides the response (docs/delivery.md). */
  notify: notifySchema.optional(),
  /** Direct invokes only: the tenant for `{tenant}` in templates (over HTTP it comes from the caller's grant). */
  tenant: z
    .string()
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS label such as "cluster-a"')
    .optional(),
});

export interface OperationRequest {
  storage: StorageTarget;
  credentials?: string;
  options: OperationOptions;
  notify?: NotifyTargets;
  tenant?: string;
}

/** Body (already decoded from JSON or YAML) → OperationRequest, or a RequestError naming every bad field. */
export function parseRequest(body: unknown): OperationRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError('InvalidRequest', 'the request must be an object with a "storage" field', [
      { path: '', message: 'expected an object: { storage, credentials?, options? }' },
    ]);
  }
  const envelope = parseOrThrow(requestEnvelope, body, [], 'request');
  return {
    storage: parseStorage(envelope.storage, ['storage']),
    credentials: envelope.credentials,
    options: envelope.options ?? {},
    ...(envelope.notify ? { notify: envelope.notify } : {}),
    ...(envelope.tenant ? { tenant: envelope.tenant } : {}),
  };
}
