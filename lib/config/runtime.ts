/**
 * Deployment configuration, read from the environment once at cold start and validated, so a bad
 * setting fails loudly at start instead of on some later request.
 */
import { z } from 'zod';
import { parseEndpointPolicy, type AllowableClass } from '../net/endpoint-guard.js';

const runtimeSchema = z.object({
  /** Template turning a manifest's secretName into a credentials reference, e.g. `dir:/secrets/{namespace}/{name}`. */
  CREDENTIALS_SOURCE: z.string().min(1).optional(),
  /** The function's own mount of local volumes (EFS in Lambda); see lib/backends/local.ts. */
  LOCAL_VOLUME_ROOT: z.string().min(1).optional(),
  /** Largest accepted HTTP body. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Bound for one operation when the caller gives none and the invocation has more time. */
  DEFAULT_TIMEOUT_SECONDS: z.coerce.number().positive().default(25),
  /** Address classes endpoints may resolve to besides public ones: `loopback`, `private` (lib/net/endpoint-guard.ts). */
  ALLOW_PRIVATE_ENDPOINTS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        parseEndpointPolicy(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** Credentials reference holding API_AUTH_SECRET: HTTP requests must then be HMAC-signed (functions/common/auth.ts). */
  API_AUTH_SECRET_REF: z.string().min(1).optional(),
  /** How far a signed request's timestamp may be from now. */
  API_AUTH_WINDOW_SECONDS: z.coerce.number().int().positive().max(3600).default(300),
});

export type RuntimeConfig = {
  credentialsTemplate?: string;
  localVolumeRoot?: string;
  maxBodyBytes: number;
  defaultTimeoutMs: number;
  allowPrivateEndpoints: ReadonlySet<AllowableClass>;
  apiAuthSecretRef?: string;
  apiAuthWindowMs: number;
};

export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  // serverless.yml maps unset settings to empty strings; read those as unset.
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = runtimeSchema.safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new Error(`invalid deployment configuration: ${problems}`);
  }
  const values = parsed.data;
  return {
    credentialsTemplate: values.CREDENTIALS_SOURCE,
    localVolumeRoot: values.LOCAL_VOLUME_ROOT,
    maxBodyBytes: values.MAX_BODY_BYTES,
    defaultTimeoutMs: values.DEFAULT_TIMEOUT_SECONDS * 1000,
    allowPrivateEndpoints: parseEndpointPolicy(values.ALLOW_PRIVATE_ENDPOINTS).allow,
    apiAuthSecretRef: values.API_AUTH_SECRET_REF,
    apiAuthWindowMs: values.API_AUTH_WINDOW_SECONDS * 1000,
  };
}
