/**
 * The one table from Azure Blob (and @azure/identity) failures to portable codes. Messages are our own:
 * at most the service's short error code (x-ms-error-code) is repeated.
 */
import {
  classifyTransportError,
  StorageError,
  type StorageErrorInit,
  type StorageOperation,
} from '../errors.js';
import type { AzureAuth } from './auth.js';

const PROVIDER = 'azure';
/** Names @azure/identity gives the errors of a token that could not be had. */
const IDENTITY_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/** The short error code the service sent (x-ms-error-code), when it looks like one. */
function serviceErrorCode(error: unknown): string | undefined {
  const err = error as { code?: unknown; details?: { errorCode?: unknown } } | undefined;
  const code = err?.details?.errorCode ?? err?.code;
  return typeof code === 'string' && /^[A-Za-z]{2,64}$/.test(code) ? code : undefined;
}

function statusCode(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** azurite answers a wrong key or signature with AuthorizationFailure, where Azure says AuthenticationFailed; only its message tells. */
function isAzuriteAuthenticationFailure(error: unknown): boolean {
  const message = (error as { details?: { message?: unknown } } | undefined)?.details?.message;
  return typeof message === 'string' && message.startsWith('Server failed to authenticate the request');
}

export interface AzureErrorContext {
  operation: StorageOperation;
  key?: string;
  /** The service URL's host, for the hint of a host that does not resolve. */
  host?: string;
  auth?: AzureAuth;
}

const CREDENTIALS_HINT: Record<AzureAuth, string> = {
  sharedKey:
    'check AZURE_ACCOUNT_KEY (a key of this storage account, not of another one) and the account name',
  sas: 'check AZURE_ACCOUNT_SAS: it must be signed with a key of this account, its expiry time must not have passed and its start time must have',
  identity:
    'the function’s Azure identity (workload or managed identity) was rejected; check the federated credential and the tenant',
};

const PERMISSIONS_HINT =
  'KubeStash and restic need read, list, write (create) and delete on the container; grant a SAS with the permissions rwdlc (or the role Storage Blob Data Contributor), or run check with options.readOnly';

/** The one table from Azure Blob (and @azure/identity) failures to portable codes. Messages are our own. */
export function azureError(error: unknown, context: AzureErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const { operation, key } = context;
  const base = { provider: PROVIDER, operation, key, cause: error };
  const make = (init: StorageErrorInit): StorageError => new StorageError({ ...base, ...init });
  const name = (error as { name?: unknown } | undefined)?.name;

  if (typeof name === 'string' && IDENTITY_ERRORS.has(name)) {
    return make({
      code: 'Unauthenticated',
      message:
        'no Azure identity token could be obtained (the secret has neither AZURE_ACCOUNT_KEY nor AZURE_ACCOUNT_SAS)',
      hint: 'give the function a workload or managed identity with access to the account (AZURE_TOKEN_CREDENTIALS=prod limits the chain to those), or put AZURE_ACCOUNT_KEY or AZURE_ACCOUNT_SAS in the secret',
    });
  }

  const transport = classifyTransportError(error);
  if (transport) {
    const unresolved = (error as { code?: unknown }).code === 'ENOTFOUND';
    return make(
      unresolved
        ? {
            ...transport,
            message: context.host
              ? `the storage host ${context.host} does not resolve`
              : 'the storage host does not resolve',
            hint: 'the storage account name may be wrong (it forms the host name <account>.blob.<suffix>), or the endpoint suffix does not match the account’s cloud; check also the function’s DNS and VPC settings',
          }
        : transport,
    );
  }

  const code = serviceErrorCode(error);
  const status = statusCode(error);
  const credentialsHint = CREDENTIALS_HINT[context.auth ?? 'sharedKey'];
  switch (code) {
    case 'AuthenticationFailed':
    case 'InvalidAuthenticationInfo':
    case 'NoAuthenticationInformation':
      return make({
        code: 'Unauthenticated',
        message: `the storage account rejected the credentials (${code})`,
        hint: credentialsHint,
      });
    case 'AuthorizationFailure':
      if (isAzuriteAuthenticationFailure(error)) {
        return make({
          code: 'Unauthenticated',
          message: 'the storage account rejected the credentials (signature mismatch)',
          hint: credentialsHint,
        });
      }
      return make({
        code: 'PermissionDenied',
        message: 'the storage account refused the request (AuthorizationFailure)',
        hint: 'the account’s firewall or network rules may block the function, or the SAS is restricted (IP range, protocol, services); check Networking on the storage account',
      });
    case 'AuthorizationPermissionMismatch':
    case 'AuthorizationResourceTypeMismatch':
    case 'AuthorizationServiceMismatch':
    case 'InsufficientAccountPermissions':
      return make({
        code: 'PermissionDenied',
        subject: key ? 'object' : 'bucket',
        message: `the credentials may not ${operationVerb(operation)} (${code})`,
        hint: PERMISSIONS_HINT,
      });
    case 'AuthorizationProtocolMismatch':
    case 'AuthorizationSourceIPMismatch':
      return make({
        code: 'PermissionDenied',
        message: `the SAS does not allow this request (${code})`,
        hint: 'the SAS restricts the protocol or the source IP range; issue one that allows https from the function’s addresses',
      });
    case 'AccountIsDisabled':
      return make({
        code: 'PermissionDenied',
        subject: 'account',
        message: 'the storage account is disabled',
        hint: 'enable the storage account (or its subscription) in Azure',
      });
    case 'ContainerNotFound':
      return make({
        code: 'NotFound',
        subject: 'bucket',
        message: 'the container does not exist',
        hint: 'create the container, or call initialize with options.createBucket',
      });
    case 'BlobNotFound':
      return make({ code: 'NotFound', subject: 'object', message: `${key ?? 'the blob'} does not exist` });
    case 'ContainerAlreadyExists':
      return make({ code: 'AlreadyExists', subject: 'bucket', message: 'the container already exists' });
    case 'ContainerBeingDeleted':
      return make({
        code: 'Unavailable',
        subject: 'bucket',
        retryable: true,
        message: 'the container is being deleted',
        hint: 'Azure keeps a deleted container’s name for about 30 seconds; try again shortly',
      });
    case 'BlobAlreadyExists':
      return make({
        code: 'AlreadyExists',
        subject: 'object',
        message: `${key ?? 'the blob'} already exists`,
      });
    case 'ConditionNotMet':
    case 'TargetConditionNotMet':
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `the condition on ${key ?? 'the blob'} was not met`,
      });
    case 'ServerBusy':
      return make({
        code: 'RateLimited',
        message: 'the storage account is throttling requests (ServerBusy)',
        hint: 'lower maxConnections, or spread checks over time',
      });
    case 'OperationTimedOut':
    case 'InternalError':
      return make({
        code: 'Unavailable',
        message: `the storage service failed the request (${code})`,
        retryable: true,
      });
    case 'InvalidResourceName':
    case 'OutOfRangeInput':
      return make({
        code: 'InvalidConfig',
        message: `the container name or key is not valid for Azure (${code})`,
        hint: 'container names have 3 to 63 lowercase letters, digits and single hyphens',
      });
    case 'InvalidHeaderValue':
    case 'UnsupportedHeader':
      return make({
        code: 'InvalidConfig',
        message: `the service refused a request header (${code})`,
        hint: 'an emulator or Azure Stack may not support this service version; run azurite with --skipApiVersionCheck',
      });
    case 'PARSE_ERROR':
      return make({
        code: 'Unknown',
        message: 'the endpoint answered with something that is not an Azure Blob response',
        hint: 'check that options.endpoint points at a blob service (…blob.core.windows.net or your emulator)',
      });
    default:
      return byStatus(make, status, code, key);
  }
}

/** The table's fallback when the service sent no code we know. */
function byStatus(
  make: (init: StorageErrorInit) => StorageError,
  status: number | undefined,
  code: string | undefined,
  key: string | undefined,
): StorageError {
  const what = code ? `${code}, HTTP ${status ?? '?'}` : `HTTP ${status ?? '?'}`;
  switch (status) {
    case 401:
      return make({
        code: 'Unauthenticated',
        message: `the storage account rejected the credentials (${what})`,
      });
    case 403:
      return make({
        code: 'PermissionDenied',
        message: `the storage account refused the request (${what})`,
        hint: PERMISSIONS_HINT,
      });
    case 404:
      return make({ code: 'NotFound', subject: key ? 'object' : 'bucket', message: `not found (${what})` });
    case 409:
      return make({
        code: 'AlreadyExists',
        subject: key ? 'object' : 'bucket',
        message: `conflict (${what})`,
      });
    case 412:
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `precondition failed (${what})`,
      });
    case 429:
      return make({ code: 'RateLimited', message: `the storage account is throttling requests (${what})` });
    case 500:
    case 502:
    case 503:
    case 504:
      return make({
        code: 'Unavailable',
        message: `the storage service is unavailable (${what})`,
        retryable: true,
      });
    case 400:
      return make({ code: 'InvalidConfig', message: `the service refused the request as invalid (${what})` });
    default:
      // A redirect the pipeline did not follow: the endpoint is not the Blob service itself.
      if (status !== undefined && status >= 300 && status < 400) {
        return make({
          code: 'InvalidConfig',
          message: `the endpoint answered with a redirect (${what})`,
          hint: 'point options.endpoint at the Blob service itself, not at a proxy or portal that redirects',
        });
      }
      return make({ code: 'Unknown', message: `unexpected Azure Blob error (${what})` });
  }
}

function operationVerb(operation: StorageOperation): string {
  switch (operation) {
    case 'put':
      return 'write blobs';
    case 'delete':
      return 'delete blobs';
    case 'list':
      return 'list blobs';
    case 'get':
    case 'stat':
      return 'read blobs';
    case 'createBucket':
      return 'create containers';
    default:
      return 'do this';
  }
}
