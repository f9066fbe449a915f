/** Opening S3 stores on the test servers (s3rver, Swift's s3api) the way the function does. */
import { randomUUID } from 'node:crypto';
import { openStore } from '../../lib/backends/registry.js';
import type { ObjectStore } from '../../lib/backends/object-store.js';
import type { S3Backend } from '../../lib/config/backend.js';
import { SecretBag } from '../../lib/credentials/secret.js';

/** What a test needs from a server's published info. */
export interface S3Target {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  tlsEndpoint?: string;
  caPath?: string;
}

export function secrets(values: Record<string, string | undefined>): SecretBag {
  return new SecretBag(
    Object.entries(values).flatMap(([key, value]) =>
      value === undefined ? [] : [[key, value] as [string, string]],
    ),
    'test',
  );
}

export function keysOf(target: S3Target): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: target.accessKeyId, AWS_SECRET_ACCESS_KEY: target.secretAccessKey };
}

export function openS3(
  target: S3Target,
  backend: Partial<Omit<S3Backend, 'provider'>> = {},
  credentials: Record<string, string | undefined> = keysOf(target),
): Promise<ObjectStore> {
  // Through the registry, as the operations open it: the connection limit is applied there.
  return openStore(
    { provider: 's3', endpoint: target.endpoint, bucket: target.bucket, ...backend },
    { credentials: secrets(credentials) },
  );
}

/** A bucket name no test has used. */
export function freshBucket(tag: string): string {
  return `bsf-${tag}-${randomUUID().slice(0, 8)}`;
}

/** A `dir:` credentials reference holding `values` (test/support/mounted-secret.ts). */
export { secretDir } from './mounted-secret.js';

/** Swift's s3api as an S3Target (the Swift harness publishes its own field names). */
export function s3apiTarget(info: Record<string, string>, bucket: string): S3Target {
  return {
    endpoint: info.s3Endpoint as string,
    accessKeyId: info.s3AccessKey as string,
    secretAccessKey: info.s3SecretKey as string,
    bucket,
    tlsEndpoint: info.tlsS3Endpoint,
    caPath: info.caFile,
  };
}

/** Makes the target's bucket exist (a server without a default bucket). */
export async function ensureBucket(target: S3Target): Promise<void> {
  const store = await openS3(target);
  try {
    if (!(await store.bucketExists())) await store.createBucket();
  } finally {
    await store.close();
  }
}
