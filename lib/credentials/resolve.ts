/**
 * Credentials travel by reference, never by value. A reference is `<scheme>[:<location>]`; each scheme
 * has one resolver in an open registry (`env` and `dir` here; AWS Secrets Manager and SSM register
 * themselves from their own modules).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretBag } from './secret.js';

export type CredentialsErrorCode = 'NotFound' | 'InvalidReference' | 'Unavailable' | 'Malformed';

/** A reference that could not be resolved. The message names the reference, never a value. */
export class CredentialsError extends Error {
  readonly code: CredentialsErrorCode;
  readonly reference: string;
  readonly hint: string | undefined;

  constructor(code: CredentialsErrorCode, reference: string, message: string, hint?: string) {
    super(message);
    this.name = 'CredentialsError';
    this.code = code;
    this.reference = reference;
    this.hint = hint;
  }
}

export interface ResolveContext {
  signal?: AbortSignal;
}

export type CredentialResolver = (
  location: string,
  reference: string,
  context: ResolveContext,
) => Promise<SecretBag>;

const resolvers = new Map<string, CredentialResolver>();

export function registerCredentialSource(scheme: string, resolver: CredentialResolver): void {
  resolvers.set(scheme, resolver);
}

export function credentialSchemes(): string[] {
  return [...resolvers.keys()].sort();
}

/** `scheme:location` → [scheme, location]; a bare `env` has an empty location. */
export function splitReference(reference: string): [string, string] {
  const colon = reference.indexOf(':');
  return colon < 0 ? [reference, ''] : [reference.slice(0, colon), reference.slice(colon + 1)];
}

export async function resolveCredentials(
  reference: string,
  context: ResolveContext = {},
): Promise<SecretBag> {
  const [scheme, location] = splitReference(reference);
  const resolver = resolvers.get(scheme);
  if (!resolver) {
    throw new CredentialsError(
      'InvalidReference',
      reference,
      `unknown credentials reference scheme "${scheme}"`,
      `use one of: ${credentialSchemes().join(', ')}`,
    );
  }
  return resolver(location, reference, context);
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Expands a deployment's template (e.g. `dir:/secrets/{tenant}/{namespace}/{name}`) for a manifest's
 * secretName. Every part must be a Kubernetes name, so a manifest cannot steer the lookup outside the
 * template; the tenant comes from the caller's grant (lib/trust), never from the manifest.
 */
export function referenceFromTemplate(
  template: string,
  secret: { name: string; namespace: string; tenant?: string },
): string {
  if (template.includes('{tenant}') && secret.tenant === undefined) {
    throw new CredentialsError(
      'InvalidReference',
      template,
      'the CREDENTIALS_SOURCE template names {tenant} but the request has no tenant',
      'give the caller’s grant a tenant in API_GRANTS (or, for a direct invoke, set the request’s "tenant")',
    );
  }
  for (const [field, value] of Object.entries(secret)) {
    if (!K8S_NAME.test(value) || value.length > 253) {
      throw new CredentialsError(
        'InvalidReference',
        template,
        `secret ${field} "${value}" is not a Kubernetes name`,
      );
    }
  }
  return template
    .replaceAll('{tenant}', secret.tenant ?? '')
    .replaceAll('{namespace}', secret.namespace)
    .replaceAll('{name}', secret.name);
}

/** Every key the seeds and the spec name for a storage or encryption secret. */
export const KNOWN_SECRET_KEYS = [
  'RESTIC_PASSWORD',
  'CA_CERT_DATA',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'GOOGLE_PROJECT_ID',
  'GOOGLE_SERVICE_ACCOUNT_JSON_KEY',
  'AZURE_ACCOUNT_NAME',
  'AZURE_ACCOUNT_KEY',
  'AZURE_ACCOUNT_SAS',
  'AZURE_ENDPOINT_SUFFIX',
  'B2_ACCOUNT_ID',
  'B2_ACCOUNT_KEY',
  'ST_AUTH',
  'ST_USER',
  'ST_KEY',
  'OS_AUTH_URL',
  'OS_REGION_NAME',
  'OS_USERNAME',
  'OS_USER_ID',
  'OS_PASSWORD',
  'OS_TENANT_ID',
  'OS_TENANT_NAME',
  'OS_USER_DOMAIN_NAME',
  'OS_USER_DOMAIN_ID',
  'OS_PROJECT_NAME',
  'OS_PROJECT_ID',
  'OS_PROJECT_DOMAIN_NAME',
  'OS_PROJECT_DOMAIN_ID',
  'OS_TRUST_ID',
  'OS_INTERFACE',
  'OS_APPLICATION_CREDENTIAL_ID',
  'OS_APPLICATION_CREDENTIAL_NAME',
  'OS_APPLICATION_CREDENTIAL_SECRET',
  'OS_STORAGE_URL',
  'OS_AUTH_TOKEN',
  'REST_SERVER_USERNAME',
  'REST_SERVER_PASSWORD',
  'WEBHOOK_SECRET',
] as const;

/**
 * `env`: the known secret keys from the process environment. `env:PREFIX_`: every variable starting
 * with PREFIX_, with the prefix removed (so one function can hold several storages' secrets).
 */
registerCredentialSource('env', async (location, reference) => {
  const entries: [string, string][] =
    location === ''
      ? KNOWN_SECRET_KEYS.flatMap((key) => {
          const value = process.env[key];
          return value === undefined ? [] : [[key, value] as [string, string]];
        })
      : Object.entries(process.env).flatMap(([key, value]) =>
          key.startsWith(location) && value !== undefined
            ? [[key.slice(location.length), value] as [string, string]]
            : [],
        );
  if (location !== '' && entries.length === 0) {
    throw new CredentialsError('NotFound', reference, `no environment variable starts with "${location}"`);
  }
  return new SecretBag(entries, reference);
});

/**
 * `dir:<path>`: one file per key, the layout of a mounted Kubernetes Secret (whose keys are symlinks
 * into `..data`) and of the seeds' `echo -n … > KEY` examples. Dot-files are Kubernetes' bookkeeping.
 */
registerCredentialSource('dir', async (location, reference) => {
  if (location === '' || location.includes('\0')) {
    throw new CredentialsError('InvalidReference', reference, 'a dir: reference needs a directory path');
  }
  let names: string[];
  try {
    names = await readdir(location);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CredentialsError(
        'NotFound',
        reference,
        `secret directory ${location} does not exist`,
        'create the Secret (or mount it) where the credentials reference points',
      );
    }
    throw new CredentialsError(
      'Unavailable',
      reference,
      `secret directory ${location} cannot be read (${code ?? 'error'})`,
    );
  }
  const entries: [string, string][] = [];
  for (const name of names.filter((entry) => !entry.startsWith('.')).sort()) {
    const path = join(location, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    entries.push([name, await readFile(path, 'utf8')]);
  }
  return new SecretBag(entries, reference);
});
