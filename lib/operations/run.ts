/**
 * The one entry into lib/ for handlers and the CLI: decoded body in, result out. Request problems are
 * RequestErrors (4xx/501 at the edge); everything the backend does is in the returned status, which
 * the deployment's results store remembers (lib/results/) before it is delivered.
 */
import { randomUUID } from 'node:crypto';
import { RequestError } from '../config/request-error.js';
import { isProviderSupported, supportedProviders } from '../backends/registry.js';
import { parseRequest, type OperationRequest } from '../config/request.js';
// Registers the aws-secretsmanager: and aws-ssm: credentials schemes (their SDKs load on first use).
import '../credentials/aws.js';
import { withInMemoryCredentials } from '../credentials/memory.js';
import type { SecretBag } from '../credentials/secret.js';
import { deliverResult } from '../delivery/deliver.js';
import { deploymentResultsStore } from '../results/config.js';
import { rememberResult } from '../results/recorder.js';
import type { ResultsStore } from '../results/store.js';
import { authorizeRequest } from '../api/authorize.js';
import { OPERATOR } from '../trust/scope.js';
import type { Operation, OperationContext } from './context.js';
import { check } from './check.js';
import { cleanup } from './cleanup.js';
import { initialize } from './initialize.js';
import { withRepositories } from './repositories.js';
import { inventory } from './inventory.js';
import type { OperationResult } from '../status/result.js';

export const OPERATIONS = {
  initialize: withRepositories('initialize', initialize),
  check: withRepositories('verify', check),
  inventory,
  cleanup,
} satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;

export function assertProviderSupported(request: OperationRequest): void {
  const { provider } = request.storage.backend;
  if (!isProviderSupported(provider)) {
    throw new RequestError(
      'ProviderNotSupported',
      `provider "${provider}" is not supported yet (supported: ${supportedProviders().join(', ')})`,
      [{ path: 'storage', message: `provider "${provider}" has no adapter in this release` }],
    );
  }
}

export interface RunOptions {
  /** Where results are remembered; the deployment's (RESULTS_STORE) when absent, none when undefined. */
  results?: ResultsStore | undefined;
}

function storageOf(body: unknown): unknown {
  return body !== null && typeof body === 'object' ? (body as { storage?: unknown }).storage : undefined;
}

export async function runOperation(
  name: OperationName,
  body: unknown,
  context: OperationContext,
  options: RunOptions = {},
): Promise<OperationResult> {
  const request = parseRequest(body);
  // Before any secret is resolved or any connection made (lib/api/authorize.ts).
  const scope = authorizeRequest(request, context.caller ?? OPERATOR, context.config);
  assertProviderSupported(request);
  return execute(name, request, { ...context, scope }, storageOf(body), options);
}

async function execute(
  name: OperationName,
  request: OperationRequest,
  context: OperationContext,
  storage: unknown,
  options: RunOptions,
): Promise<OperationResult> {
  const result = await OPERATIONS[name](request, context);
  const eventId = randomUUID();
  const store = 'results' in options ? options.results : deploymentResultsStore();
  const remembered = await rememberResult(store, result, {
    eventId,
    storage,
    ...(request.options.endpoint ? { endpoint: request.options.endpoint } : {}),
    log: context.log,
  });
  // After the result exists, so delivery can never lose it; the report rides along in the response.
  const delivery = await deliverResult(remembered, request.notify, context, { eventId });
  return delivery ? { ...remembered, delivery } : remembered;
}

/**
 * The same, with secret values a person typed instead of a reference (the console's "Test connection"):
 * authorized as if the secret came from the deployment (the request may name no reference of its own),
 * then run with the bag held in memory for this one call (lib/credentials/memory.ts).
 */
export async function runOperationWithSecrets(
  name: OperationName,
  body: unknown,
  secrets: SecretBag,
  context: OperationContext,
  options: RunOptions = {},
): Promise<OperationResult> {
  const request = parseRequest(body);
  if (request.credentials !== undefined) {
    throw new RequestError('InvalidRequest', 'typed credentials replace the reference', [
      { path: 'credentials', message: 'remove the reference: the typed values are used instead' },
    ]);
  }
  const scope = authorizeRequest(request, context.caller ?? OPERATOR, context.config);
  assertProviderSupported(request);
  return withInMemoryCredentials(secrets, (credentials) =>
    execute(name, { ...request, credentials }, { ...context, scope }, storageOf(body), options),
  );
}
