/**
 * Deployment configuration, read from the environment once at cold start and validated, so a bad
 * setting fails loudly at start instead of on some later request.
 */
import { z } from 'zod';
import { parseEndpointPolicy, type AllowableClass } from '../net/endpoint-guard.js';
import { parseGrants, WORKSTATION_GRANT, type Grant } from '../trust/grants.js';

/** How HTTP callers are identified (docs/security.md); `none` only on the workstation stage. */
export const API_AUTH_MODES = ['iam', 'hmac', 'none'] as const;
export type ApiAuthMode = (typeof API_AUTH_MODES)[number];

/** The stage that runs on a workstation (`serverless invoke local`, offline); every other stage is deployed. */
export const WORKSTATION_STAGE = 'local';

/** A comma list of patterns (`*.amazonaws.com`, `minio.internal:9000`); empty entries dropped. */
function patternList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

const runtimeSchema = z.object({
  /** Template turning a manifest's secretName into a credentials reference, e.g. `dir:/secrets/{namespace}/{name}`. */
  CREDENTIALS_SOURCE: z.string().min(1).optional(),
  /** The function's own mount of local volumes (EFS in Lambda); see lib/backends/local/store.ts. */
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
  /** The serverless stage; unset reads as deployed, so anything outside the packaged stack fails closed. */
  BSF_STAGE: z.string().min(1).max(64).optional(),
  /** `iam`, `hmac` or `none` (local stage only); default: hmac with API_AUTH_SECRET_REF, none locally, else iam. */
  BSF_API_AUTH: z.enum(API_AUTH_MODES).optional(),
  /** Namespace grants of HTTP principals (lib/trust/grants.ts), JSON or YAML. Deployed default: none. */
  API_GRANTS: z.string().min(1).optional(),
  /** Host patterns every caller-named or server-handed endpoint must match (lib/net/endpoint-guard.ts). */
  ENDPOINT_ALLOWED_HOSTS: z
    .string()
    .optional()
    .refine(
      (value) => (patternList(value) ?? []).every((entry) => /^[a-z0-9*.[\]:-]+$/i.test(entry)),
      'must be a comma list of host patterns such as "*.amazonaws.com,minio.internal:9000"',
    ),
  /** Queue URL patterns a request's notify.sqs may name besides the deployment's own queue. */
  NOTIFY_SQS_ALLOWED_QUEUES: z.string().optional(),
  /** The deployment's own targets get every result (`always`) or only phase transitions (`change`). */
  NOTIFY_ON: z.enum(['always', 'change']).default('always'),
  /** Host patterns (optional :port) a request's notify.webhook may name (lib/delivery/targets.ts). */
  NOTIFY_WEBHOOK_ALLOWED_HOSTS: z.string().optional(),
  /** Per-tenant/namespace directory under a shared local volume root, e.g. `{tenant}/{namespace}`. */
  LOCAL_SUBPATH_TEMPLATE: z.string().min(1).max(512).optional(),
  /** Tests only: accept scrypt parameters weaker than restic's. Refused on every deployed stage. */
  BSF_ALLOW_WEAK_KDF: z.enum(['0', '1', 'true', 'false']).optional(),
});

export type RuntimeConfig = {
  credentialsTemplate?: string;
  localVolumeRoot?: string;
  maxBodyBytes: number;
  defaultTimeoutMs: number;
  allowPrivateEndpoints: ReadonlySet<AllowableClass>;
  apiAuthSecretRef?: string;
  apiAuthWindowMs: number;
  /** The serverless stage, `deployed` when unset. */
  stage: string;
  /** The local stage: a developer's machine, where defaults may be open (docs/security.md). */
  workstation: boolean;
  apiAuth: ApiAuthMode;
  /** A reason every HTTP request is refused with 503 (the deployment is wrong, not the caller). */
  apiAuthProblem?: string;
  grants: readonly Grant[];
  endpointAllowedHosts?: readonly string[];
  notifySqsAllowedQueues?: readonly string[];
  notifyWebhookAllowedHosts?: readonly string[];
  notifyOn: 'always' | 'change';
  localSubPathTemplate?: string;
  allowWeakKdf: boolean;
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
  const stage = values.BSF_STAGE ?? 'deployed';
  const workstation = stage === WORKSTATION_STAGE;
  const apiAuth: ApiAuthMode =
    values.BSF_API_AUTH ?? (values.API_AUTH_SECRET_REF ? 'hmac' : workstation ? 'none' : 'iam');
  const problems: string[] = [];
  if (apiAuth === 'none' && !workstation) {
    problems.push(`BSF_API_AUTH=none is only for the ${WORKSTATION_STAGE} stage (stage is ${stage})`);
  }
  const allowWeakKdf = values.BSF_ALLOW_WEAK_KDF === '1' || values.BSF_ALLOW_WEAK_KDF === 'true';
  if (allowWeakKdf && !workstation) {
    problems.push(
      `BSF_ALLOW_WEAK_KDF is only for tests on the ${WORKSTATION_STAGE} stage (stage is ${stage})`,
    );
  }
  let grants: Grant[];
  try {
    grants = values.API_GRANTS ? parseGrants(values.API_GRANTS) : workstation ? [WORKSTATION_GRANT] : [];
  } catch (error) {
    problems.push((error as Error).message);
    grants = [];
  }
  if (problems.length > 0) throw new Error(`invalid deployment configuration: ${problems.join('; ')}`);
  return {
    credentialsTemplate: values.CREDENTIALS_SOURCE,
    localVolumeRoot: values.LOCAL_VOLUME_ROOT,
    maxBodyBytes: values.MAX_BODY_BYTES,
    defaultTimeoutMs: values.DEFAULT_TIMEOUT_SECONDS * 1000,
    allowPrivateEndpoints: parseEndpointPolicy(values.ALLOW_PRIVATE_ENDPOINTS).allow,
    apiAuthSecretRef: values.API_AUTH_SECRET_REF,
    apiAuthWindowMs: values.API_AUTH_WINDOW_SECONDS * 1000,
    stage,
    workstation,
    apiAuth,
    ...(apiAuth === 'hmac' && !values.API_AUTH_SECRET_REF
      ? { apiAuthProblem: 'BSF_API_AUTH=hmac but API_AUTH_SECRET_REF is not set' }
      : {}),
    grants,
    endpointAllowedHosts: patternList(values.ENDPOINT_ALLOWED_HOSTS),
    notifySqsAllowedQueues: patternList(values.NOTIFY_SQS_ALLOWED_QUEUES),
    notifyWebhookAllowedHosts: patternList(values.NOTIFY_WEBHOOK_ALLOWED_HOSTS),
    notifyOn: values.NOTIFY_ON,
    localSubPathTemplate: values.LOCAL_SUBPATH_TEMPLATE,
    allowWeakKdf,
  };
}
