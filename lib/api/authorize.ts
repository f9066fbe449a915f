/**
 * The one place a request is authorized, before any secret is resolved or any connection made:
 *
 * - an HTTP caller must hold a grant for the namespace the request acts for (403 otherwise);
 * - over HTTP, secrets come from the deployment's CREDENTIALS_SOURCE template: an explicit reference is
 *   refused unless the grant lists it, `env`/`env:` never, and a webhook signing secret never;
 * - an encryption secret named in another namespace needs a grant for that namespace too.
 *
 * Operator calls (direct invokes, the fleet, the CLI) are trusted as whoever may invoke the function.
 */
import { RequestError, type FieldIssue } from '../config/request-error.js';
import type { OperationRequest } from '../config/request.js';
import type { RuntimeConfig } from '../config/runtime.js';
import { splitReference } from '../credentials/resolve.js';
import { grantAllowsReference, grantFor, type Grant } from '../trust/grants.js';
import { isHttpCaller, type Caller, type TrustScope } from '../trust/scope.js';

/** The namespace a storage acts for: its own, or `default` (as kubectl reads a manifest without one). */
export function requestNamespace(request: OperationRequest): string {
  return request.storage.namespace ?? 'default';
}

/** `..`, `.` and empty segments would let a pattern such as `dir:/secrets/demo/*` reach another directory. */
function isCanonicalReference(reference: string): boolean {
  const location = splitReference(reference)[1];
  return (
    !location
      .split('/')
      .some((segment, index) => segment === '..' || segment === '.' || (segment === '' && index > 0)) &&
    !/[\\\0]/.test(location)
  );
}

interface NamedReference {
  path: string;
  reference: string;
}

/** Every credentials reference the request names explicitly, with the field that names it. */
function explicitReferences(request: OperationRequest): NamedReference[] {
  const named: NamedReference[] = [];
  if (request.credentials) named.push({ path: 'credentials', reference: request.credentials });
  request.options.repositories?.forEach((repository, index) => {
    if (typeof repository.encryptionSecret === 'string') {
      named.push({
        path: `options.repositories[${index}].encryptionSecret`,
        reference: repository.encryptionSecret,
      });
    }
  });
  return named;
}

function refuse(message: string, issues: FieldIssue[]): never {
  throw new RequestError('Forbidden', message, issues);
}

function authorizeHttp(request: OperationRequest, principal: string, config: RuntimeConfig): TrustScope {
  const namespace = requestNamespace(request);
  const grant = grantFor(config.grants, principal, namespace);
  if (!grant) {
    refuse(`the caller is not granted namespace "${namespace}"`, [
      {
        path: request.storage.namespace === undefined ? 'storage' : 'storage.metadata.namespace',
        message: `${principal} may not act for namespace "${namespace}" (API_GRANTS)`,
      },
    ]);
  }
  if (request.tenant !== undefined) {
    refuse('an HTTP request cannot choose its tenant', [
      { path: 'tenant', message: 'the tenant comes from the caller’s grant; remove the field' },
    ]);
  }
  if (request.notify?.webhook?.secret !== undefined) {
    refuse('an HTTP request cannot choose a signing secret', [
      {
        path: 'notify.webhook.secret',
        message: 'webhooks are signed with the deployment’s NOTIFY_WEBHOOK_SECRET_REF; remove the field',
      },
    ]);
  }
  const issues = explicitReferences(request).flatMap(({ path, reference }) =>
    referenceProblem(grant, reference, namespace).map((message) => ({ path, message })),
  );
  request.options.repositories?.forEach((repository, index) => {
    const secret = repository.encryptionSecret;
    if (typeof secret === 'object' && secret.namespace !== undefined && secret.namespace !== namespace) {
      const other = grantFor(config.grants, principal, secret.namespace);
      if (!other || other.tenant !== grant.tenant) {
        issues.push({
          path: `options.repositories[${index}].encryptionSecret.namespace`,
          message: `${principal} may not read secrets of namespace "${secret.namespace}"`,
        });
      }
    }
  });
  if (issues.length > 0) refuse('the request names secrets the caller may not use', issues);
  return {
    caller: { kind: 'http', principal },
    namespace,
    ...(grant.tenant ? { tenant: grant.tenant } : {}),
  };
}

function referenceProblem(grant: Grant, reference: string, namespace: string): string[] {
  const scheme = splitReference(reference)[0];
  if (scheme === 'env') {
    return ['the function’s environment is the deployment’s: env references are not accepted over HTTP'];
  }
  if (!isCanonicalReference(reference))
    return ['a reference may not contain "..", "." or empty path segments'];
  if (grantAllowsReference(grant, reference, namespace)) return [];
  return [
    'explicit credentials references are not accepted over HTTP: name the Secret in the manifest (the deployment’s CREDENTIALS_SOURCE finds it), or have the deployment list this reference in the grant’s "references"',
  ];
}

/** Authorizes `request` for `caller`; throws RequestError 403 naming every refused field. */
export function authorizeRequest(
  request: OperationRequest,
  caller: Caller,
  config: RuntimeConfig,
): TrustScope {
  if (isHttpCaller(caller)) return authorizeHttp(request, caller.principal, config);
  return {
    caller,
    namespace: requestNamespace(request),
    ...(request.tenant ? { tenant: request.tenant } : {}),
  };
}
