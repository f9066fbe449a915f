/**
 * Request options for restic repositories (docs/restic.md), spread into the request's options schema.
 * KubeStash keeps one restic repository per component at
 * `<prefix>/<repository path>/repository/v1/<session>/<component>/` (kubestash-layout.md §3.4).
 */
import { z } from 'zod';
import { RequestError } from './request-error.js';
import { prefixSchema } from './backend.js';
import { checkParams, weakness, type KdfParams } from './kdf-params.js';

const pathSegment = z
  .string()
  .min(1)
  .max(253)
  .refine(
    (value) => !value.includes('/') && value !== '.' && value !== '..' && !value.includes('\0'),
    'must be one path segment',
  );

/** A Secret by name (resolved with the deployment's CREDENTIALS_SOURCE template), as KubeStash's Repository names it. */
const secretObjectReference = z.strictObject({
  name: z.string().min(1).max(253),
  namespace: z.string().min(1).max(63).optional(),
});

export const repositoryRequestSchema = z
  .strictObject({
    /** The Repository's `spec.path` under the storage prefix; alone (no session/component), the restic repository itself. */
    path: prefixSchema.refine((value) => value !== '', 'must not be empty'),
    /** BackupConfiguration session name: with `component`, selects `<path>/repository/v1/<session>/<component>`. */
    session: pathSegment.optional(),
    component: pathSegment.optional(),
    /** Where RESTIC_PASSWORD is: a credentials reference ("dir:/secrets/demo/encrypt-secret"), or a Secret name. Default: the storage secret. */
    encryptionSecret: z.union([z.string().min(1).max(2048), secretObjectReference]).optional(),
    /** initialize: create the repository when absent (default true); false only verifies it. */
    create: z.boolean().optional(),
  })
  .refine((value) => (value.session === undefined) === (value.component === undefined), {
    message: 'session and component go together',
    path: ['component'],
  });
export type RepositoryRequest = z.output<typeof repositoryRequestSchema>;

const kdfSchema = z
  .strictObject({ N: z.number().int(), r: z.number().int(), p: z.number().int() })
  .superRefine((value, context) => {
    const problem = checkParams(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

export const resticOptionsShape = {
  /** Restic repositories below the storage prefix to initialize (initialize) or verify (check). */
  repositories: z.array(repositoryRequestSchema).min(1).max(50).optional(),
  /** initialize: repository version to write; 2 (restic ≥ 0.14's default) unless 1 is asked for. */
  resticConfigVersion: z.union([z.literal(1), z.literal(2)]).optional(),
  /** initialize: fixed scrypt parameters for the key file instead of restic-strength calibration. */
  kdf: kdfSchema.optional(),
};

/**
 * options.kdf may not be weaker than restic's own key files: otherwise a caller could have a key file
 * for someone else's password written to storage it reads, and guess that password offline at a
 * fraction of restic's cost. Only tests on the workstation stage (BSF_ALLOW_WEAK_KDF) may ask for less.
 * Checked by the operation, which has the deployment's configuration that request parsing has not.
 */
export function assertKdfStrength(kdf: KdfParams | undefined, allowWeak: boolean): void {
  const problem = kdf && !allowWeak ? weakness(kdf) : undefined;
  if (problem === undefined) return;
  throw new RequestError('InvalidRequest', `invalid request: options.kdf: ${problem}`, [
    { path: 'options.kdf', message: problem },
  ]);
}

/** The repository's key prefix relative to the storage prefix. */
export function repositoryPath(request: RepositoryRequest): string {
  return request.session !== undefined && request.component !== undefined
    ? `${request.path}/repository/v1/${request.session}/${request.component}`
    : request.path;
}
