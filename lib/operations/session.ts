/**
 * The first steps every operation shares: resolve the credentials reference (KubeStash's
 * BackendSecretFound condition), then open the store for the backend.
 */
import { backendEndpoint, type Provider, type StorageTarget } from '../config/backend.js';
import { checkEndpoint, isEndpointRefused } from '../net/endpoint-guard.js';
import type { OperationRequest } from '../config/request.js';
import {
  CredentialsError,
  KNOWN_SECRET_KEYS,
  referenceFromTemplate,
  resolveCredentials,
  splitReference,
} from '../credentials/resolve.js';
import { SecretBag } from '../credentials/secret.js';
import { openStore, preloadAdapter } from '../backends/registry.js';
import type { ObjectStore } from '../backends/object-store.js';
import { isStorageError, unknownError } from '../backends/errors.js';
import { ConditionType, KubeStashReason, type StatusBuilder } from '../status/conditions.js';
import type { OperationContext } from './context.js';

export interface Session {
  store: ObjectStore;
  credentials: SecretBag;
}

/** Which reference to resolve: the request's own, else the deployment's template for the manifest's secret. */
function credentialsReference(
  target: StorageTarget,
  explicit: string | undefined,
  template: string | undefined,
  tenant: string | undefined,
): { reference?: string; problem?: string } {
  if (explicit) return { reference: explicit };
  if (!target.secretName) return {};
  if (!template) {
    return {
      problem: `the storage names secret "${target.secretName}" but the request has no credentials reference and the deployment sets no CREDENTIALS_SOURCE template`,
    };
  }
  return {
    reference: referenceFromTemplate(template, {
      name: target.secretName,
      namespace: target.namespace ?? 'default',
      ...(tenant ? { tenant } : {}),
    }),
  };
}

/** The start of every secret key a provider's adapter reads; `local` reads none. */
const PROVIDER_KEY_PREFIXES: Record<Provider, readonly string[]> = {
  local: [],
  s3: ['AWS_'],
  gcs: ['GOOGLE_'],
  azure: ['AZURE_'],
  swift: ['ST_', 'OS_'],
  b2: ['B2_'],
  rest: ['REST_SERVER_'],
};

/**
 * An `env` reference (the only kind that reads whatever happens to be set) that found none of the
 * provider's keys: the variables it looked for, else undefined. A secret directory or a stored secret
 * is taken as written.
 */
function missingEnvKeys(reference: string, provider: Provider, credentials: SecretBag): string[] | undefined {
  const [scheme, location] = splitReference(reference);
  const prefixes = PROVIDER_KEY_PREFIXES[provider];
  if (scheme !== 'env' || prefixes.length === 0) return undefined;
  const providerKeys = KNOWN_SECRET_KEYS.filter((key) => prefixes.some((prefix) => key.startsWith(prefix)));
  if (providerKeys.some((key) => credentials.has(key))) return undefined;
  return providerKeys.map((key) => location + key);
}

/** Resolves credentials into `status`; undefined (with a False condition) when they cannot be had. */
export async function resolveSessionCredentials(
  request: OperationRequest,
  context: OperationContext,
  status: StatusBuilder,
): Promise<SecretBag | undefined> {
  const secretHint =
    'create the Secret with the keys your provider needs, and point the request’s "credentials" (or the CREDENTIALS_SOURCE template) at it';
  let reference: string | undefined;
  try {
    const chosen = credentialsReference(
      request.storage,
      request.credentials,
      context.config.credentialsTemplate,
      context.scope?.tenant ?? request.tenant,
    );
    if (chosen.problem) {
      status.set({
        type: ConditionType.BackendSecretFound,
        status: 'False',
        reason: KubeStashReason.BackendSecretNotAvailable,
        message: chosen.problem,
        hint: 'pass "credentials" (e.g. "dir:/secrets/demo/s3-secret") or configure CREDENTIALS_SOURCE (e.g. "dir:/secrets/{namespace}/{name}")',
      });
      return undefined;
    }
    reference = chosen.reference;
    if (!reference) return SecretBag.empty('credential-less');
    const credentials = await status.time('credentials', () =>
      resolveCredentials(reference as string, { signal: context.deadline.signal() }),
    );
    status.addSecrets(credentials.revealAll());
    const provider = request.storage.backend.provider;
    const missing = missingEnvKeys(reference, provider, credentials);
    if (missing && credentials.size === 0) {
      // Nothing at all: an explicit `env` that finds nothing must not quietly become credential-less.
      status.set({
        type: ConditionType.BackendSecretFound,
        status: 'False',
        reason: KubeStashReason.BackendSecretNotAvailable,
        message: `credentials "${reference}": none of ${provider}'s keys is set in the environment (looked for ${missing.join(', ')})`,
        hint: `set the keys your ${provider} account needs in the environment, point "credentials" at a secret (e.g. "dir:/secrets/demo/${provider}-secret"), or leave "credentials" out to use the function's own identity`,
      });
      return undefined;
    }
    status.ok(
      ConditionType.BackendSecretFound,
      KubeStashReason.BackendSecretAvailable,
      missing
        ? `Backend secret found in the environment, but without ${provider}'s keys (looked for ${missing.join(', ')}): the backend is used with the function's own identity.`
        : 'Backend secret exists.',
    );
    return credentials;
  } catch (error) {
    const credentialsError =
      error instanceof CredentialsError
        ? error
        : new CredentialsError('Unavailable', reference ?? 'unknown', 'the credentials could not be read');
    status.set({
      type: ConditionType.BackendSecretFound,
      status: 'False',
      reason: KubeStashReason.BackendSecretNotAvailable,
      message: `${credentialsError.message} (reference ${credentialsError.reference})`,
      hint: credentialsError.hint ?? secretHint,
    });
    context.log.warn('credentials not available', {
      reference: credentialsError.reference,
      code: credentialsError.code,
    });
    return undefined;
  }
}

/**
 * A configured endpoint the SSRF guard refuses is refused before any client is built, so no SDK spends
 * the deadline retrying a connection that will never be allowed. Anything else (a name that does not
 * resolve, say) is left to the adapter, whose table classifies it with a provider-specific hint.
 */
async function refuseGuardedEndpoint(request: OperationRequest): Promise<void> {
  const endpoint = backendEndpoint(request.storage.backend, request.options.endpoint);
  if (!endpoint) return;
  await checkEndpoint(endpoint).catch((error: unknown) => {
    if (isEndpointRefused(error)) throw error;
  });
}

/** Credentials, then the store; undefined when either failed (the reason is in `status`). */
export async function openSession(
  request: OperationRequest,
  context: OperationContext,
  status: StatusBuilder,
  connections?: number,
): Promise<Session | undefined> {
  preloadAdapter(request.storage.backend.provider);
  const credentials = await resolveSessionCredentials(request, context, status);
  if (!credentials) return undefined;
  try {
    await refuseGuardedEndpoint(request);
    const store = await status.time('connect', () =>
      openStore(request.storage.backend, {
        credentials,
        endpoint: request.options.endpoint,
        signal: context.deadline.signal(),
        localVolumeRoot: context.config.localVolumeRoot,
        localSubPathTemplate: context.config.localSubPathTemplate,
        requireLocalVolumeRoot: !context.config.workstation,
        ...(context.scope ? { scope: context.scope } : {}),
        ...(connections !== undefined ? { connections } : {}),
      }),
    );
    return { store, credentials };
  } catch (error) {
    const storageError = isStorageError(error)
      ? error
      : unknownError(error, request.storage.backend.provider, 'connect');
    if (storageError.code === 'Unimplemented') throw storageError;
    status.fail(ConditionType.BackendReachable, storageError, 'cannot set up the backend client');
    return undefined;
  }
}
