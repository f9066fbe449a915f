/**
 * A deployed stage for the attack suites (test/attack.*.test.ts): HMAC-signed HTTP with two keys (two
 * clusters), namespace grants with tenants, a CREDENTIALS_SOURCE with `{tenant}`, and Secrets laid out
 * per tenant and namespace holding canaries. Set it up before the handlers are imported: they read the
 * deployment's settings at cold start, as in Lambda.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_KEY_ID, signRequest } from '../../functions/common/auth.js';
import { httpEvent } from './lambda.js';
import { writeSecret } from './mounted-secret.js';

export const PROVIDERS = ['s3', 'gcs', 'azure', 'swift', 'b2', 'local'] as const;
export type AttackProvider = (typeof PROVIDERS)[number];

/** The HMAC keys of two clusters: `default` is cluster A's operator, `cluster-b` cluster B's. */
export const KEYS = {
  [DEFAULT_KEY_ID]: `key-a-${randomBytes(12).toString('hex')}`,
  'cluster-b': `key-b-${randomBytes(12).toString('hex')}`,
} as const;
export type KeyId = keyof typeof KEYS;

/** Both clusters have a `demo` namespace; A also has `team-x`; nobody is granted `other-ns` over HTTP. */
export const GRANTS = [
  { principal: 'hmac:default', namespaces: ['demo', 'team-*'], tenant: 'a' },
  { principal: 'hmac:cluster-b', namespaces: ['demo'], tenant: 'b' },
];

export interface DeployedStage {
  secretsRoot: string;
  /** Every secret value written, for leak searches. */
  secretValues: string[];
  /** Writes `<root>/<tenant>/<namespace>/<name>` with canary values for every key the providers read. */
  secret(
    tenant: string,
    namespace: string,
    name: string,
  ): Promise<{ reference: string; values: Record<string, string> }>;
}

const SECRET_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AZURE_ACCOUNT_NAME',
  'AZURE_ACCOUNT_KEY',
  'B2_ACCOUNT_ID',
  'B2_ACCOUNT_KEY',
  'ST_USER',
  'ST_KEY',
  'GOOGLE_PROJECT_ID',
  'RESTIC_PASSWORD',
];

/** Sets the environment of a deployed stage (`prod`) and returns its secrets root. */
export async function deployStage(extra: Record<string, string> = {}): Promise<DeployedStage> {
  const secretsRoot = await mkdtemp(join(tmpdir(), 'bsf-attack-secrets-'));
  Object.assign(process.env, {
    BSF_STAGE: 'prod',
    BSF_API_AUTH: 'hmac',
    API_AUTH_SECRET_REF: 'env:BSF_ATTACK_',
    BSF_ATTACK_API_AUTH_SECRET: KEYS.default,
    BSF_ATTACK_API_AUTH_KEY_CLUSTER_B: KEYS['cluster-b'],
    API_GRANTS: JSON.stringify(GRANTS),
    CREDENTIALS_SOURCE: `dir:${secretsRoot}/{tenant}/{namespace}/{name}`,
    ...extra,
  });
  delete process.env.BSF_ALLOW_WEAK_KDF;
  const secretValues: string[] = [];
  return {
    secretsRoot,
    secretValues,
    secret: async (tenant, namespace, name) => {
      const values = Object.fromEntries(
        SECRET_KEYS.map((key) => [
          key,
          key === 'AZURE_ACCOUNT_KEY'
            ? randomBytes(32).toString('base64')
            : `${tenant}${namespace}${key.toLowerCase().replaceAll('_', '')}${randomBytes(8).toString('hex')}`,
        ]),
      );
      secretValues.push(...Object.values(values));
      const reference = await writeSecret(join(secretsRoot, tenant, namespace, name), values);
      return { reference, values };
    },
  };
}

let lastTimestamp = 0;

/** An HTTP API event signed with `keyId`'s key (a fresh timestamp each time: signatures are accepted once). */
export function signedEvent(
  body: unknown,
  path = '/v1/check',
  keyId: KeyId = DEFAULT_KEY_ID,
): Record<string, unknown> {
  const text = JSON.stringify(body);
  lastTimestamp = Math.max(lastTimestamp + 1, Math.floor(Date.now() / 1000) - 120);
  const signature = signRequest(KEYS[keyId], {
    method: 'POST',
    path,
    timestamp: lastTimestamp,
    body: Buffer.from(text),
  });
  return httpEvent(text, {
    path,
    headers: {
      'X-BSF-Key-Id': keyId,
      'X-BSF-Timestamp': String(lastTimestamp),
      'X-BSF-Signature': `v1=${signature}`,
    },
  });
}

/**
 * A KubeStash BackupStorage in `namespace` naming Secret `secretName`, whose every connection goes to
 * `endpoint` (the attacker's listener); local storages point at `mountPath`.
 */
export function storageFor(
  provider: AttackProvider,
  namespace: string | undefined,
  endpoint: string,
  secretName = `${provider}-secret`,
  mountPath = '/etc',
): { storage: Record<string, unknown>; options: Record<string, unknown> } {
  const blocks: Record<AttackProvider, Record<string, unknown>> = {
    s3: { endpoint, bucket: 'victim', region: 'us-east-1', prefix: 'p', secretName },
    gcs: { bucket: 'victim', prefix: 'p', secretName },
    azure: { storageAccount: 'victim', container: 'victim', prefix: 'p', secretName },
    swift: { container: 'victim', prefix: 'p', secretName },
    b2: { bucket: 'victim', prefix: 'p', secretName },
    local: { mountPath, subPath: 'p' },
  };
  return {
    storage: {
      apiVersion: 'storage.kubestash.com/v1alpha1',
      kind: 'BackupStorage',
      metadata: { name: `attack-${provider}`, ...(namespace ? { namespace } : {}) },
      spec: { storage: { provider, [provider]: blocks[provider] }, deletionPolicy: 'WipeOut' },
    },
    options: provider === 's3' || provider === 'local' ? {} : { endpoint },
  };
}

/** `value`'s appearances in `text`, raw and in the encodings a leak takes on the wire. */
export function leaked(values: readonly string[], text: string): string[] {
  return values.filter((value) =>
    [value, encodeURIComponent(value), Buffer.from(value).toString('base64')].some((form) =>
      text.includes(form),
    ),
  );
}

/** The four operation handlers, imported now (call after the stage's environment is set: cold start). */
export async function operationHandlers() {
  return {
    initialize: (await import('../../functions/initialize.js')).handler,
    check: (await import('../../functions/check.js')).handler,
    inventory: (await import('../../functions/inventory.js')).handler,
    cleanup: (await import('../../functions/cleanup.js')).handler,
  };
}
export type OperationHandlers = Awaited<ReturnType<typeof operationHandlers>>;
export type OperationName = keyof OperationHandlers;
export const OPERATION_NAMES: readonly OperationName[] = ['initialize', 'check', 'inventory', 'cleanup'];
