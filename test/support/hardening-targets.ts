/**
 * Every provider with a real server or contract fake, described once for the hardening tests: where
 * its server listens (so a fault proxy can stand in front of it), the secret keys it reads and values
 * that work, and a request for a fresh bucket/prefix that reaches the server at a given base URL.
 */
import { randomUUID } from 'node:crypto';
import { serverInfo } from './servers.js';

export interface Location {
  bucket: string;
  prefix: string;
}

export interface HardeningTarget {
  provider: 's3' | 'azure' | 'gcs' | 'swift' | 'b2';
  /** Test server name (test/servers/). */
  server: string;
  /** The server's own base URL (scheme, host, port). */
  upstream(): string;
  /** Secret keys and values the server accepts (reached at `base` when given). */
  secrets(base?: string): Record<string, string>;
  /** Every secret key the adapter reads (for canaries), besides CA_CERT_DATA. */
  secretKeys: readonly string[];
  /** A request body for `location`, with the server reached at `base` (a proxy) or directly. */
  request(location: Location, credentials: string, base?: string): Record<string, unknown>;
}

function origin(url: string): string {
  return new URL(url).origin;
}

/** `url` with its origin replaced by `base` (path kept). */
export function rebase(url: string, base: string | undefined): string {
  if (base === undefined) return url;
  const parsed = new URL(url);
  return `${base.replace(/\/+$/, '')}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

function backupStorage(provider: string, block: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: `hardening-${provider}`, namespace: 'demo' },
    spec: { storage: { provider, [provider]: block }, deletionPolicy: 'WipeOut' },
  };
}

export const TARGETS: readonly HardeningTarget[] = [
  {
    provider: 's3',
    server: 's3rver',
    upstream: () => origin(serverInfo('s3rver').endpoint as string),
    secrets: () => ({
      AWS_ACCESS_KEY_ID: serverInfo('s3rver').accessKeyId as string,
      AWS_SECRET_ACCESS_KEY: serverInfo('s3rver').secretAccessKey as string,
    }),
    secretKeys: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
    request: (location, credentials, base) => ({
      storage: backupStorage('s3', {
        endpoint: rebase(serverInfo('s3rver').endpoint as string, base),
        bucket: location.bucket,
        region: 'us-east-1',
        prefix: location.prefix,
      }),
      credentials,
      options: { createBucket: true },
    }),
  },
  {
    provider: 'azure',
    server: 'azurite',
    upstream: () => origin(serverInfo('azurite').endpoint as string),
    secrets: () => ({ AZURE_ACCOUNT_KEY: serverInfo('azurite').accountKey as string }),
    secretKeys: ['AZURE_ACCOUNT_KEY', 'AZURE_ACCOUNT_SAS'],
    request: (location, credentials, base) => ({
      storage: backupStorage('azure', {
        storageAccount: serverInfo('azurite').accountName,
        container: location.bucket,
        prefix: location.prefix,
      }),
      credentials,
      options: { endpoint: rebase(serverInfo('azurite').endpoint as string, base), createBucket: true },
    }),
  },
  {
    provider: 'gcs',
    server: 'gcs-fake',
    upstream: () => origin(serverInfo('gcs-fake').endpoint as string),
    secrets: () => ({ GOOGLE_PROJECT_ID: serverInfo('gcs-fake').projectId as string }),
    secretKeys: ['GOOGLE_PROJECT_ID', 'GOOGLE_SERVICE_ACCOUNT_JSON_KEY'],
    request: (location, credentials, base) => ({
      storage: backupStorage('gcs', { bucket: location.bucket, prefix: location.prefix }),
      credentials,
      options: { endpoint: rebase(serverInfo('gcs-fake').endpoint as string, base), createBucket: true },
    }),
  },
  {
    provider: 'swift',
    server: 'swift',
    upstream: () => origin(serverInfo('swift').authUrl as string),
    secrets: (base) => ({
      ST_AUTH: rebase(serverInfo('swift').authUrl as string, base),
      ST_USER: serverInfo('swift').user as string,
      ST_KEY: serverInfo('swift').key as string,
    }),
    secretKeys: ['ST_KEY', 'OS_PASSWORD', 'OS_APPLICATION_CREDENTIAL_SECRET', 'OS_AUTH_TOKEN'],
    request: (location, credentials, base) => ({
      storage: backupStorage('swift', { container: location.bucket, prefix: location.prefix }),
      credentials,
      // The storage URL auth hands back is replaced, so storage requests go through `base` too.
      options: base
        ? { endpoint: rebase(serverInfo('swift').storageUrl as string, base), createBucket: true }
        : { createBucket: true },
    }),
  },
  {
    provider: 'b2',
    server: 'b2-fake',
    upstream: () => origin(serverInfo('b2-fake').endpoint as string),
    secrets: () => ({
      B2_ACCOUNT_ID: serverInfo('b2-fake').accountId as string,
      B2_ACCOUNT_KEY: serverInfo('b2-fake').masterKey as string,
    }),
    secretKeys: ['B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY'],
    request: (location, credentials, base) => ({
      storage: backupStorage('b2', { bucket: location.bucket, prefix: location.prefix }),
      credentials,
      options: { endpoint: rebase(serverInfo('b2-fake').endpoint as string, base), createBucket: true },
    }),
  },
];

/** A `dir:` credentials reference holding `values` (test/support/mounted-secret.ts). */
export { secretDir } from './mounted-secret.js';

/** A bucket/container name and prefix no test has used. */
export function freshLocation(tag: string): Location {
  const id = randomUUID().slice(0, 8);
  return { bucket: `bsf-h-${tag}-${id}`, prefix: `hardening/${tag}` };
}

/** Swift's proxy also takes the storage requests when the swift target is rebased. */
export function swiftStorageOrigin(): string {
  return origin(serverInfo('swift').storageUrl as string);
}
