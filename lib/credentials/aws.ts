/**
 * Credentials kept in AWS: `aws-secretsmanager:<secret id or ARN>` and `aws-ssm:<parameter name>`, each
 * holding a JSON object with the Secret-style keys (`{"AWS_ACCESS_KEY_ID": "...", ...}`), the same keys a
 * Kubernetes Secret would carry. Importing this module registers both schemes; the SDKs load on first
 * use only. Resolved bags are cached for the warm function (CREDENTIALS_CACHE_SECONDS, default 300), so a
 * fleet run reads each secret once. Errors name the reference and the AWS error's name, never a value.
 */
import { deploymentRequestHandler } from '../net/deployment-agents.js';
import { functionRegion } from '../runtime/aws-region.js';
import { SharedPromises } from '../runtime/memo.js';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import {
  CredentialsError,
  registerCredentialSource,
  type CredentialsErrorCode,
  type ResolveContext,
} from './resolve.js';
import { SecretBag } from './secret.js';

const DEFAULT_CACHE_SECONDS = 300;

let secretsManager: Promise<SecretsManagerClient> | undefined;
let ssm: Promise<SSMClient> | undefined;

function secretsManagerClient(): Promise<SecretsManagerClient> {
  secretsManager ??= import('@aws-sdk/client-secrets-manager').then(
    ({ SecretsManagerClient: Client }) =>
      new Client({ region: functionRegion(), requestHandler: deploymentRequestHandler() }),
  );
  return secretsManager;
}

function ssmClient(): Promise<SSMClient> {
  ssm ??= import('@aws-sdk/client-ssm').then(
    ({ SSMClient: Client }) =>
      new Client({ region: functionRegion(), requestHandler: deploymentRequestHandler() }),
  );
  return ssm;
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && /^[A-Za-z0-9.]{1,80}$/.test(name) ? name : 'Error';
}

/** The one table from Secrets Manager / SSM error names to credentials error codes and hints. */
function mapAwsError(
  error: unknown,
  reference: string,
  service: string,
  signal?: AbortSignal,
): CredentialsError {
  if (signal?.aborted)
    return new CredentialsError('Unavailable', reference, `${service} did not answer before the deadline`);
  const name = errorName(error);
  const table: Record<string, [CredentialsErrorCode, string, string?]> = {
    ResourceNotFoundException: ['NotFound', 'does not exist', 'create the secret, or fix the reference'],
    ParameterNotFound: ['NotFound', 'does not exist', 'create the parameter, or fix the reference'],
    ParameterVersionNotFound: ['NotFound', 'has no such version'],
    AccessDeniedException: [
      'Unavailable',
      'is not readable by this function (AccessDenied)',
      'grant the function’s role read access to exactly this secret or parameter (serverless.yml params)',
    ],
    DecryptionFailure: [
      'Unavailable',
      'cannot be decrypted (DecryptionFailure)',
      'grant the function kms:Decrypt on the secret’s KMS key',
    ],
    InvalidKeyId: [
      'Unavailable',
      'cannot be decrypted (InvalidKeyId)',
      'grant the function kms:Decrypt on the parameter’s KMS key',
    ],
    InvalidRequestException: ['Unavailable', 'cannot be read now (InvalidRequest: scheduled for deletion?)'],
    InvalidParameterException: ['InvalidReference', 'is not a valid secret id'],
    ValidationException: ['InvalidReference', 'is not a valid name'],
  };
  const [code, what, hint] = table[name] ?? ['Unavailable', `could not be read (${name})`];
  return new CredentialsError(
    code,
    reference,
    `${service} ${reference.slice(reference.indexOf(':') + 1)} ${what}`,
    hint,
  );
}

/** A JSON object of string values (numbers and booleans are written as text) → SecretBag. */
export function bagFromJson(text: string, reference: string): SecretBag {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialsError(
      'Malformed',
      reference,
      `${reference} is not JSON`,
      'store a JSON object such as {"AWS_ACCESS_KEY_ID": "...", "AWS_SECRET_ACCESS_KEY": "..."}',
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CredentialsError(
      'Malformed',
      reference,
      `${reference} is JSON but not an object of keys`,
      'store a JSON object whose keys are the Secret’s keys',
    );
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'string') entries.push([key, value]);
    else if (typeof value === 'number' || typeof value === 'boolean') entries.push([key, String(value)]);
    else throw new CredentialsError('Malformed', reference, `${reference}: key "${key}" is not a string`);
  }
  return new SecretBag(entries, reference);
}

/** Reads a Secrets Manager secret's SecretString. */
async function readSecretString(secretId: string, reference: string, signal?: AbortSignal): Promise<string> {
  try {
    const [{ GetSecretValueCommand }, client] = await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      secretsManagerClient(),
    ]);
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }), {
      abortSignal: signal,
    });
    if (result.SecretString === undefined) {
      throw new CredentialsError(
        'Malformed',
        reference,
        `${reference} holds a binary secret`,
        'store the keys as a JSON SecretString',
      );
    }
    return result.SecretString;
  } catch (error) {
    throw error instanceof CredentialsError ? error : mapAwsError(error, reference, 'secret', signal);
  }
}

/** Reads an SSM parameter (SecureString decrypted). Also used to load fleet manifests. */
export async function readSsmParameter(
  name: string,
  reference: string,
  signal?: AbortSignal,
): Promise<string> {
  try {
    const [{ GetParameterCommand }, client] = await Promise.all([import('@aws-sdk/client-ssm'), ssmClient()]);
    const result = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }), {
      abortSignal: signal,
    });
    const value = result.Parameter?.Value;
    if (value === undefined)
      throw new CredentialsError('NotFound', reference, `parameter ${name} has no value`);
    return value;
  } catch (error) {
    throw error instanceof CredentialsError ? error : mapAwsError(error, reference, 'parameter', signal);
  }
}

/** Bags per reference while warm (CREDENTIALS_CACHE_SECONDS). */
const cache = new SharedPromises<string, SecretBag>();

function cacheMs(): number {
  const seconds = Number(process.env.CREDENTIALS_CACHE_SECONDS ?? DEFAULT_CACHE_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_CACHE_SECONDS * 1000;
}

/** Concurrent lookups of one reference share one call; failures are not cached. */
function cached(reference: string, load: () => Promise<SecretBag>): Promise<SecretBag> {
  const hit = cache.peek(reference);
  if (hit && hit.startedAt + cacheMs() > Date.now()) return hit.promise;
  return cache.start(reference, load);
}

/** Forgets every cached bag (tests; a rotation could call it too). */
export function clearAwsCredentialCache(): void {
  cache.clear();
}

function requireLocation(location: string, reference: string, what: string): void {
  if (location === '' || location.length > 2048) {
    throw new CredentialsError(
      'InvalidReference',
      reference,
      `${reference.slice(0, reference.indexOf(':'))}: needs ${what}`,
    );
  }
}

export async function resolveSecretsManager(
  location: string,
  reference: string,
  context: ResolveContext,
): Promise<SecretBag> {
  requireLocation(location, reference, 'a secret name or ARN');
  return cached(reference, async () =>
    bagFromJson(await readSecretString(location, reference, context.signal), reference),
  );
}

export async function resolveSsm(
  location: string,
  reference: string,
  context: ResolveContext,
): Promise<SecretBag> {
  requireLocation(location, reference, 'a parameter name');
  return cached(reference, async () =>
    bagFromJson(await readSsmParameter(location, reference, context.signal), reference),
  );
}

registerCredentialSource('aws-secretsmanager', resolveSecretsManager);
registerCredentialSource('aws-ssm', resolveSsm);
