/**
 * The one table from S3 (and S3-compatible) failures to portable codes, and the reading of a bucket's
 * real region out of an error. Messages are our own: SDK message text can carry request details, so at
 * most the S3 error code (a fixed identifier such as NoSuchBucket) is repeated.
 */
import {
  classifyTransportError,
  StorageError,
  type StorageErrorInit,
  type StorageOperation,
} from '../errors.js';

const PROVIDER = 's3';

/** The parts of an SDK error this table reads; the SDK keeps `$response` as a hidden property. */
interface S3ErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  Region?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const REGION = /^[a-z]{2}[a-z0-9-]{1,40}[0-9a-z]$/;
/** AWS and Swift's s3api: "the region 'us-east-1' is wrong; expecting 'eu-west-1'"; Scaleway says the same. */
const EXPECTING = /expecting '([a-z0-9-]+)'/i;

function shape(error: unknown): S3ErrorShape {
  return error !== null && typeof error === 'object' ? (error as S3ErrorShape) : {};
}

export function s3StatusCode(error: unknown): number | undefined {
  const e = shape(error);
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

/** The S3 error code: `Code` from the body, else the SDK's name (HEAD answers have no body: NotFound, Forbidden, …). */
export function s3ErrorCode(error: unknown): string | undefined {
  const e = shape(error);
  return e.Code ?? e.name;
}

/**
 * The bucket's real region, when a failure names it: the `x-amz-bucket-region` header (AWS sends it
 * on redirects and on HeadBucket), the `<Region>` of an error body, or an "expecting 'X'" message.
 */
export function regionFromError(error: unknown): string | undefined {
  const e = shape(error);
  const header = e.$response?.headers?.['x-amz-bucket-region'];
  if (typeof header === 'string' && REGION.test(header)) return header;
  if (typeof e.Region === 'string' && REGION.test(e.Region)) return e.Region;
  const named = EXPECTING.exec(e.message ?? '')?.[1];
  return named !== undefined && REGION.test(named) ? named : undefined;
}

/** True for the answers a region mismatch produces, with or without the right region in them. */
export function isRegionMismatch(error: unknown): boolean {
  const code = s3ErrorCode(error);
  const status = s3StatusCode(error);
  return (
    code === 'PermanentRedirect' ||
    code === 'AuthorizationHeaderMalformed' ||
    code === 'IllegalLocationConstraintException' ||
    status === 301 ||
    (status === 400 && regionFromError(error) !== undefined)
  );
}

export interface S3ErrorContext {
  operation: StorageOperation;
  key?: string;
  bucket: string;
  /** The region requests were signed for. */
  region: string;
}

const AUTH_HINT =
  'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the storage secret (no stray newline or space), and that the key is active';
const DENIED_HINT =
  'the credentials are valid but not allowed this action; grant s3:ListBucket on the bucket and s3:GetObject, s3:PutObject, s3:DeleteObject on the prefix';

/** Maps any failure of an S3 call to a StorageError. */
export function s3Error(error: unknown, context: S3ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const base = { provider: PROVIDER, operation: context.operation, key: context.key, cause: error };
  const make = (init: Omit<StorageErrorInit, 'provider' | 'operation' | 'key' | 'cause'>): StorageError =>
    new StorageError({ ...base, ...init });

  const transport = classifyTransportError(error);
  if (transport) return new StorageError({ ...base, ...transport });

  const code = s3ErrorCode(error) ?? 'Unknown';
  const status = s3StatusCode(error);
  const bucket = `bucket "${context.bucket}"`;

  if (isRegionMismatch(error)) {
    const region = regionFromError(error);
    return make({
      code: 'InvalidConfig',
      message: region
        ? `${bucket} is in region ${region}, but requests were signed for ${context.region}`
        : `${bucket} must be addressed through another region or endpoint (${code})`,
      hint: region
        ? `set region: ${region} in the storage (or leave region empty to let the function discover it)`
        : 'check the storage’s region and endpoint; leave region empty to let the function discover it',
    });
  }

  switch (code) {
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'InvalidClientTokenId':
      return make({
        code: 'Unauthenticated',
        message: `the credentials were rejected (${code})`,
        hint: AUTH_HINT,
      });
    case 'CredentialsProviderError':
      return make({
        code: 'Unauthenticated',
        message: 'no credentials: the storage has no secret and the AWS default credential chain found none',
        hint: 'name a secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the function an IAM role that may use the bucket',
      });
    case 'RequestTimeTooSkewed':
      return make({
        code: 'Unauthenticated',
        message: 'the request time is too far from the server’s clock (RequestTimeTooSkewed)',
        hint: 'the clock of the host or of the S3-compatible server is wrong',
      });
    case 'NoSuchBucket':
      return make({
        code: 'NotFound',
        subject: 'bucket',
        message: `${bucket} does not exist`,
        hint: 'check the bucket name, endpoint and region; create the bucket, or call initialize with options.createBucket',
      });
    case 'NoSuchKey':
    case 'NotFound':
      return make({
        code: 'NotFound',
        subject: 'object',
        message: `${context.key ?? 'the object'} does not exist`,
      });
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
    case 'AccountProblem':
    case 'InvalidObjectState':
      return make({
        code: 'PermissionDenied',
        message: `access denied (${code === 'Forbidden' ? 'HTTP 403' : code})`,
        hint: DENIED_HINT,
      });
    case 'BucketAlreadyOwnedByYou':
      return make({ code: 'AlreadyExists', subject: 'bucket', message: `${bucket} already exists` });
    case 'BucketAlreadyExists':
      return make({
        code: 'AlreadyExists',
        subject: 'bucket',
        message: `${bucket} already exists`,
        hint: 'bucket names are global on AWS: if the bucket is not yours, choose another name',
      });
    case 'PreconditionFailed':
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `${context.key ?? 'the object'} already exists`,
      });
    case 'ConditionalRequestConflict':
      return make({
        code: 'Unavailable',
        message: 'a concurrent conditional write is in progress (ConditionalRequestConflict)',
        retryable: true,
      });
    case 'NotImplemented':
      return make({ code: 'Unimplemented', message: `the server does not implement this request (${code})` });
    case 'InvalidBucketName':
      return make({
        code: 'InvalidConfig',
        message: `${bucket} is not a valid bucket name`,
        hint: 'bucket names are 3-63 lowercase letters, digits, dots and hyphens',
      });
    case 'QuotaExceeded':
    case 'XMinioStorageFull':
    case 'TooManyBuckets':
      return make({ code: 'QuotaExceeded', message: `the storage quota is exhausted (${code})` });
    case 'SlowDown':
    case 'TooManyRequests':
    case 'Throttling':
    case 'ThrottlingException':
    case 'RequestLimitExceeded':
      return make({
        code: 'RateLimited',
        message: `the server asks to slow down (${code})`,
        retryable: true,
        hint: 'lower maxConnections or the check frequency',
      });
    case 'BadDigest':
    case 'XAmzContentSHA256Mismatch':
      return make({ code: 'Unavailable', message: `the body arrived damaged (${code})`, retryable: true });
  }
  switch (status) {
    case 401:
      return make({
        code: 'Unauthenticated',
        message: 'the credentials were rejected (HTTP 401)',
        hint: AUTH_HINT,
      });
    case 403:
      return make({ code: 'PermissionDenied', message: 'access denied (HTTP 403)', hint: DENIED_HINT });
    case 404:
      return make({
        code: 'NotFound',
        subject: 'object',
        message: `${context.key ?? 'the object'} does not exist`,
      });
    case 409:
      return make({ code: 'AlreadyExists', message: `conflict (${code})` });
    case 412:
      return make({
        code: 'PreconditionFailed',
        subject: 'object',
        message: `${context.key ?? 'the object'} already exists`,
      });
    case 429:
    case 503:
      return make({
        code: 'RateLimited',
        message: `the server asks to slow down (HTTP ${status})`,
        retryable: true,
      });
    case 501:
      return make({
        code: 'Unimplemented',
        message: 'the server does not implement this request (HTTP 501)',
      });
  }
  if (status !== undefined && status >= 500) {
    return make({
      code: 'Unavailable',
      message: `the server failed (HTTP ${status}${code !== 'Unknown' ? `, ${code}` : ''})`,
      retryable: true,
    });
  }
  return make({
    code: 'Unknown',
    message: `unexpected S3 error during ${context.operation} (${status !== undefined ? `HTTP ${status}, ` : ''}${code.slice(0, 64)})`,
  });
}
