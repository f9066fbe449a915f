/**
 * Deployment configuration, read from the environment once at cold start and validated, so a bad
 * setting fails loudly at start instead of on some later request.
 */
import { z } from 'zod';

const runtimeSchema = z.object({
  /** Template turning a manifest's secretName into a credentials reference, e.g. `dir:/secrets/{namespace}/{name}`. */
  CREDENTIALS_SOURCE: z.string().min(1).optional(),
  /** The function's own mount of local volumes (EFS in Lambda); see lib/backends/local.ts. */
  LOCAL_VOLUME_ROOT: z.string().min(1).optional(),
  /** Largest accepted HTTP body. */
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  /** Bound for one operation when the caller gives none and the invocation has more time. */
  DEFAULT_TIMEOUT_SECONDS: z.coerce.number().positive().default(25),
});

export type RuntimeConfig = {
  credentialsTemplate?: string;
  localVolumeRoot?: string;
  maxBodyBytes: number;
  defaultTimeoutMs: number;
};

export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  // serverless.yml maps unset settings to empty strings; read those as unset.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = runtimeSchema.safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid deployment configuration: ${problems}`);
  }
  const values = parsed.data;
  return {
    credentialsTemplate: values.CREDENTIALS_SOURCE,
    localVolumeRoot: values.LOCAL_VOLUME_ROOT,
    maxBodyBytes: values.MAX_BODY_BYTES,
    defaultTimeoutMs: values.DEFAULT_TIMEOUT_SECONDS * 1000,
  };
}
