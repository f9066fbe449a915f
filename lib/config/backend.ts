/**
 * The normalized backend configuration every input shape (KubeStash, Stash, our own) is parsed into,
 * and the zod schemas of each provider block. Provider blocks are strict: an unknown or misplaced field
 * is an error naming it, so a `prefix` under the wrong key never silently points a check at the
 * bucket root (velero#8918).
 */
import { z } from 'zod';

export const PROVIDERS = ['local', 's3', 'gcs', 'azure', 'swift', 'b2', 'rest'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Which API family the storage came from; decides the storage marker (metadata.yaml or a restic repository). */
export type StorageFlavor = 'kubestash' | 'stash';

function hasTraversal(value: string): boolean {
  return value.split(/[/\\]/).some((segment) => segment === '..' || segment === '.');
}

/** Object-key prefix: leading and trailing slashes are dropped (KubeStash trims them too); `..` is refused. */
export const prefixSchema = z
  .string()
  .max(1024)
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters')
  .refine((value) => !hasTraversal(value), 'must not contain "." or ".." path segments')
  .transform((value) => value.split('/').filter(Boolean).join('/'));

const bucketName = z
  .string()
  .min(1, 'must not be empty')
  .max(255)
  .transform((value) => value.replace(/\/+$/, ''))
  .refine((value) => value !== '' && !value.includes('/'), 'must be a bare bucket name without "/"');

const maxConnections = z.number().int().min(1).max(1024);

const absolutePath = z
  .string()
  .min(1)
  .refine((value) => value.startsWith('/'), 'must be an absolute path')
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters')
  .refine((value) => !hasTraversal(value), 'must not contain "." or ".." path segments');

const relativePath = z
  .string()
  .refine((value) => !value.includes('\0'), 'must not contain NUL characters')
  .refine((value) => !value.startsWith('/'), 'must be a path relative to the volume')
  .refine((value) => !hasTraversal(value), 'must not contain "." or ".." path segments');

/** Kubernetes VolumeSource members that may sit inline in a `local` block; their content is not ours to check. */
const VOLUME_SOURCE_KEYS = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
] as const;
const volumeSourceShape = Object.fromEntries(
  VOLUME_SOURCE_KEYS.map((key) => [key, z.record(z.string(), z.unknown()).optional()]),
) as Record<(typeof VOLUME_SOURCE_KEYS)[number], z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodUnknown>>>;

export const localBlock = z
  .strictObject({
    ...volumeSourceShape,
    mountPath: absolutePath,
    subPath: relativePath.optional(),
    maxConnections: maxConnections.optional(),
  })
  // The volume source tells Kubernetes what to mount; the function only needs where it is mounted.
  .transform(({ mountPath, subPath, maxConnections }) => ({
    mountPath,
    ...(subPath ? { subPath: subPath.replace(/\/+$/, '') } : {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
  }));
/** Stash 0.5-era `local {path, volumeSource}` (seed 001), read as mountPath. */
export const legacyStashLocalBlock = z
  .strictObject({
    path: absolutePath,
    volumeSource: z.record(z.string(), z.unknown()).optional(),
    volume: z.record(z.string(), z.unknown()).optional(),
  })
  .transform(({ path }) => ({ mountPath: path }));

export const s3Block = z.strictObject({
  endpoint: z
    .string()
    .max(2048)
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  bucket: bucketName,
  prefix: prefixSchema.optional(),
  region: z.string().max(64).optional(),
  insecureTLS: z.boolean().optional(),
  maxConnections: maxConnections.optional(),
});
export const gcsBlock = z.strictObject({
  bucket: bucketName,
  prefix: prefixSchema.optional(),
  maxConnections: maxConnections.optional(),
});
export const azureBlock = z.strictObject({
  storageAccount: z.string().min(1).max(64).optional(),
  container: bucketName,
  prefix: prefixSchema.optional(),
  maxConnections: maxConnections.optional(),
});
export const swiftBlock = z.strictObject({
  container: bucketName,
  prefix: prefixSchema.optional(),
});
export const b2Block = z.strictObject({
  bucket: bucketName,
  prefix: prefixSchema.optional(),
  maxConnections: maxConnections.optional(),
});
export const restBlock = z.strictObject({
  url: z
    .string()
    .min(1)
    .max(2048)
    .refine(
      (value) => /^https?:\/\//i.test(value) && URL.canParse(value),
      'must be an http:// or https:// URL',
    ),
});

export type LocalBackend = {
  provider: 'local';
  mountPath: string;
  subPath?: string;
  maxConnections?: number;
};
export type S3Backend = { provider: 's3' } & z.output<typeof s3Block>;
export type GcsBackend = { provider: 'gcs' } & z.output<typeof gcsBlock>;
export type AzureBackend = { provider: 'azure' } & z.output<typeof azureBlock>;
export type SwiftBackend = { provider: 'swift' } & z.output<typeof swiftBlock>;
export type B2Backend = { provider: 'b2' } & z.output<typeof b2Block>;
export type RestBackend = { provider: 'rest' } & z.output<typeof restBlock>;

export type BackendConfig =
  LocalBackend | S3Backend | GcsBackend | AzureBackend | SwiftBackend | B2Backend | RestBackend;

/** One storage to act on, whatever shape it arrived in. */
export interface StorageTarget {
  flavor: StorageFlavor;
  /** The manifest kind it came from (BackupStorage, Repository, Restic, Backend, Storage). */
  kind: string;
  name?: string;
  namespace?: string;
  uid?: string;
  /** The Kubernetes Secret the manifest names (secretName / storageSecretName), resolved by template. */
  secretName?: string;
  /** KubeStash `deletionPolicy`, or `WipeOut` for a Stash Repository with `wipeOut: true`. */
  deletionPolicy?: 'Delete' | 'WipeOut';
  backend: BackendConfig;
}

/** The object-key prefix of a backend, `` for none (local stores are rooted at mountPath/subPath). */
export function backendPrefix(backend: BackendConfig): string {
  return 'prefix' in backend && backend.prefix ? backend.prefix : '';
}

/** Where a backend keeps its objects, and what the provider calls that place. */
export interface BackendPlace {
  field: 'bucket' | 'container' | 'path' | 'endpoint';
  value: string;
}

/** Drops userinfo, query and fragment from a URL, so it can be shown. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url.includes('://') ? url : `https://${url}`);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '[invalid URL]';
  }
}

export function backendPlace(backend: BackendConfig): BackendPlace {
  switch (backend.provider) {
    case 'local':
      return {
        field: 'path',
        value: backend.subPath
          ? `${backend.mountPath.replace(/\/+$/, '')}/${backend.subPath}`
          : backend.mountPath,
      };
    case 's3':
    case 'gcs':
    case 'b2':
      return { field: 'bucket', value: backend.bucket };
    case 'azure':
    case 'swift':
      return { field: 'container', value: backend.container };
    case 'rest':
      return { field: 'endpoint', value: displayUrl(backend.url) };
  }
}

/** The service endpoint the request names for a backend (options.endpoint wins over a manifest's own), as a URL. */
export function backendEndpoint(backend: BackendConfig, override?: string): string | undefined {
  const own =
    backend.provider === 's3' ? backend.endpoint : backend.provider === 'rest' ? backend.url : undefined;
  const endpoint = override ?? own;
  if (!endpoint) return undefined;
  // Users write bare hosts (`s3.amazonaws.com`, `nyc3.digitaloceanspaces.com`): those mean https.
  return endpoint.includes('://') ? endpoint : `https://${endpoint}`;
}

/** `bucket`, `container`, or the local root path: what to name in messages. */
export function backendLocation(backend: BackendConfig): string {
  return backendPlace(backend).value;
}
