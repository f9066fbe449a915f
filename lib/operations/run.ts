/**
 * The one entry into lib/ for handlers and the CLI: decoded body in, result out. Request problems are
 * RequestErrors (4xx/501 at the edge); everything the backend does is in the returned status.
 */
import { RequestError } from '../api/request-error.js';
import { isProviderSupported, supportedProviders } from '../backends/registry.js';
import { parseRequest, type OperationRequest } from '../config/request.js';
// Registers the aws-secretsmanager: and aws-ssm: credentials schemes (their SDKs load on first use).
import '../credentials/aws.js';
import { deliverResult } from '../delivery/deliver.js';
import { authorizeRequest } from '../trust/authorize.js';
import { OPERATOR } from '../trust/scope.js';
import type { OperationContext } from './context.js';
import { check } from './check.js';
import { cleanup } from './cleanup.js';
import { initialize } from './initialize.js';
import { withRepositories } from './repositories.js';
import { inventory } from './inventory.js';
import type { OperationResult } from './result.js';

export type Operation = (request: OperationRequest, context: OperationContext) => Promise<OperationResult>;

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

export async function runOperation(
  name: OperationName,
  body: unknown,
  context: OperationContext,
): Promise<OperationResult> {
  const request = parseRequest(body);
  // Before any secret is resolved or any connection made (lib/trust/authorize.ts).
  const scope = authorizeRequest(request, context.caller ?? OPERATOR, context.config);
  assertProviderSupported(request);
  context = { ...context, scope };
  const result = await OPERATIONS[name](request, context);
  // After the result exists, so delivery can never lose it; the report rides along in the response.
  const delivery = await deliverResult(result, request.notify, context);
  return delivery ? { ...result, delivery } : result;
}
