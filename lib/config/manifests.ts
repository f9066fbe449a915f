/**
 * Reads every storage shape we accept into one StorageTarget:
 * - a KubeStash BackupStorage (storage.kubestash.com/v1alpha1),
 * - a Stash Repository (stash.appscode.com/v1alpha1 or v1beta1) or v1alpha1 Restic (its spec.backend),
 * - a bare Stash `backend` block with `storageSecretName`,
 * - our own normalized form `{ provider, ...block, secretName?, name?, namespace?, flavor? }`,
 * as an object or as YAML exactly as `kubectl get -o yaml` prints it. Manifest envelopes are read
 * loosely (metadata, status, managedFields are ignored); provider blocks are strict.
 */
import { z } from 'zod';
import { parseDocument } from 'yaml';
import {
  PROVIDERS,
  azureBlock,
  b2Block,
  gcsBlock,
  legacyStashLocalBlock,
  localBlock,
  restBlock,
  s3Block,
  swiftBlock,
  type BackendConfig,
  type Provider,
  type StorageTarget,
} from './backend.js';
import { RequestError, parseOrThrow, formatPath } from './request-error.js';

const secretNameSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'must be a Kubernetes object name (lowercase letters, digits, "-" and ".")',
  );

const BLOCKS = {
  local: localBlock,
  s3: s3Block,
  gcs: gcsBlock,
  azure: azureBlock,
  swift: swiftBlock,
  b2: b2Block,
  rest: restBlock,
} as const;

/** KubeStash keeps the secret name inside the provider block; before 2024 it was called `secret`. */
function withSecretField<S extends z.ZodObject>(block: S) {
  return block.extend({ secretName: secretNameSchema.optional(), secret: secretNameSchema.optional() });
}

// Schemas are built once at module load: a fleet run parses thousands of manifests.
const KUBESTASH_BLOCKS = {
  s3: withSecretField(s3Block),
  gcs: withSecretField(gcsBlock),
  azure: withSecretField(azureBlock),
  swift: withSecretField(swiftBlock),
  b2: withSecretField(b2Block),
} as const;

const metadataSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
});

const backupStorageEnvelope = z.looseObject({
  metadata: metadataSchema.optional(),
  spec: z.looseObject({
    storage: z.looseObject({ provider: z.enum(PROVIDERS) }),
    deletionPolicy: z.enum(['Delete', 'WipeOut']).optional(),
  }),
});

const stashEnvelope = z.looseObject({
  metadata: metadataSchema.optional(),
  spec: z.looseObject({ backend: z.unknown(), wipeOut: z.boolean().optional() }),
});

function providerKeysIn(value: Record<string, unknown>): Provider[] {
  return PROVIDERS.filter((provider) => value[provider] !== undefined && value[provider] !== null);
}

function asRecord(value: unknown, path: readonly PropertyKey[], what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RequestError('InvalidRequest', `${formatPath(path)} must be ${what}`, [
      { path: formatPath(path), message: `expected ${what}` },
    ]);
  }
  return value as Record<string, unknown>;
}

/** kubestash: secretName inside the block; stash: legacy local fields allowed; plain: the block alone. */
type BlockDialect = 'kubestash' | 'stash' | 'plain';

function parseBlock(
  provider: Provider,
  value: unknown,
  path: readonly PropertyKey[],
  dialect: BlockDialect,
): { backend: BackendConfig; secretName?: string } {
  if (provider === 'local' && dialect === 'stash') {
    const record = asRecord(value, path, 'an object');
    if ('path' in record && !('mountPath' in record)) {
      const legacy = parseOrThrow(legacyStashLocalBlock, value, path, 'local backend');
      return { backend: { provider: 'local', ...legacy } };
    }
  }
  if (dialect === 'kubestash' && provider !== 'local' && provider !== 'rest') {
    const parsed = parseOrThrow(KUBESTASH_BLOCKS[provider], value, path, `${provider} backend`) as Record<
      string,
      unknown
    > & { secretName?: string; secret?: string };
    const { secretName, secret, ...block } = parsed;
    return { backend: { provider, ...block } as BackendConfig, secretName: secretName ?? secret };
  }
  const block = parseOrThrow(BLOCKS[provider], value, path, `${provider} backend`) as Record<string, unknown>;
  return { backend: { provider, ...block } as BackendConfig };
}

/** `{ storageSecretName, <one provider block> }`: Stash's `spec.backend`. */
function parseStashBackend(
  value: unknown,
  path: readonly PropertyKey[],
): { backend: BackendConfig; secretName?: string } {
  const record = asRecord(value, path, 'a backend object');
  const providers = providerKeysIn(record);
  const allowed = new Set<string>(['storageSecretName', ...PROVIDERS]);
  const unknown = Object.keys(record).filter((key) => !allowed.has(key));
  const issues = unknown.map((key) => ({
    path: formatPath(path, [key]),
    message: `unknown field; a backend has storageSecretName and exactly one of ${PROVIDERS.join(', ')}`,
  }));
  if (providers.length !== 1) {
    issues.push({
      path: formatPath(path),
      message:
        providers.length === 0
          ? `no provider block; expected exactly one of ${PROVIDERS.join(', ')}`
          : `several provider blocks (${providers.join(', ')}); expected exactly one`,
    });
  }
  if (issues.length > 0) {
    throw new RequestError(
      'InvalidRequest',
      `invalid backend: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  const provider = providers[0] as Provider;
  const secretName =
    record.storageSecretName === undefined
      ? undefined
      : parseOrThrow(
          secretNameSchema,
          record.storageSecretName,
          [...path, 'storageSecretName'],
          'storageSecretName',
        );
  return { ...parseBlock(provider, record[provider], [...path, provider], 'stash'), secretName };
}

function parseBackupStorage(doc: Record<string, unknown>, path: readonly PropertyKey[]): StorageTarget {
  const envelope = parseOrThrow(backupStorageEnvelope, doc, path, 'BackupStorage');
  const storagePath = [...path, 'spec', 'storage'];
  const storage = asRecord(envelope.spec.storage, storagePath, 'an object');
  const provider = envelope.spec.storage.provider;
  const unexpected = Object.keys(storage).filter((key) => key !== 'provider' && key !== provider);
  if (unexpected.length > 0) {
    const issues = unexpected.map((key) => ({
      path: formatPath(storagePath, [key]),
      message: `unexpected field: provider is "${provider}", so only spec.storage.${provider} is read`,
    }));
    throw new RequestError(
      'InvalidRequest',
      `invalid BackupStorage: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  if (storage[provider] === undefined) {
    throw new RequestError('InvalidRequest', `invalid BackupStorage: spec.storage.${provider} is missing`, [
      { path: formatPath(storagePath, [provider]), message: `required when provider is "${provider}"` },
    ]);
  }
  const { backend, secretName } = parseBlock(
    provider,
    storage[provider],
    [...storagePath, provider],
    'kubestash',
  );
  return {
    flavor: 'kubestash',
    kind: 'BackupStorage',
    name: envelope.metadata?.name,
    namespace: envelope.metadata?.namespace,
    uid: envelope.metadata?.uid,
    secretName,
    deletionPolicy: envelope.spec.deletionPolicy ?? 'Delete',
    backend,
  };
}

function parseStashManifest(
  doc: Record<string, unknown>,
  kind: 'Repository' | 'Restic',
  path: readonly PropertyKey[],
): StorageTarget {
  const envelope = parseOrThrow(stashEnvelope, doc, path, kind);
  if (envelope.spec.backend === undefined) {
    throw new RequestError('InvalidRequest', `invalid ${kind}: spec.backend is missing`, [
      { path: formatPath(path, ['spec', 'backend']), message: 'required' },
    ]);
  }
  const { backend, secretName } = parseStashBackend(envelope.spec.backend, [...path, 'spec', 'backend']);
  return {
    flavor: 'stash',
    kind,
    name: envelope.metadata?.name,
    namespace: envelope.metadata?.namespace,
    uid: envelope.metadata?.uid,
    secretName,
    deletionPolicy: envelope.spec.wipeOut ? 'WipeOut' : 'Delete',
    backend,
  };
}

const normalizedEnvelope = z.looseObject({
  provider: z.enum(PROVIDERS),
  flavor: z.enum(['kubestash', 'stash']).optional(),
  name: z.string().max(253).optional(),
  namespace: z.string().max(63).optional(),
  secretName: secretNameSchema.optional(),
  deletionPolicy: z.enum(['Delete', 'WipeOut']).optional(),
});
const NORMALIZED_ENVELOPE_KEYS = new Set([
  'provider',
  'flavor',
  'name',
  'namespace',
  'secretName',
  'deletionPolicy',
]);

function parseNormalized(doc: Record<string, unknown>, path: readonly PropertyKey[]): StorageTarget {
  const envelope = parseOrThrow(normalizedEnvelope, doc, path, 'storage');
  const block = Object.fromEntries(Object.entries(doc).filter(([key]) => !NORMALIZED_ENVELOPE_KEYS.has(key)));
  const flavor = envelope.flavor ?? 'kubestash';
  const { backend } = parseBlock(envelope.provider, block, path, flavor === 'stash' ? 'stash' : 'plain');
  return {
    flavor,
    kind: 'Storage',
    name: envelope.name,
    namespace: envelope.namespace,
    secretName: envelope.secretName,
    deletionPolicy: envelope.deletionPolicy,
    backend,
  };
}

const KUBESTASH_GROUP = 'storage.kubestash.com/';
const STASH_GROUP = 'stash.appscode.com/';

/** Parses a YAML (or JSON, a subset of YAML) document into a plain value, or a MalformedBody error. */
export function parseYamlDocument(text: string, what: string, fieldPath?: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const offset = first?.pos[0];
    const before = offset === undefined ? undefined : text.slice(0, offset).split('\n');
    const where = before ? ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}` : '';
    const message = `${what} is not valid YAML or JSON${where}: ${first?.code ?? 'parse error'}`;
    throw new RequestError(
      'MalformedBody',
      message,
      fieldPath !== undefined ? [{ path: fieldPath, message }] : [],
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Aliases are resolved here, not while parsing: an unknown anchor or an alias bomb throws.
    const message = `${what} is not valid YAML: ${(error as Error).message}`;
    throw new RequestError(
      'MalformedBody',
      message,
      fieldPath !== undefined ? [{ path: fieldPath, message }] : [],
    );
  }
}

/** Any accepted storage input → StorageTarget; `path` is where it sits in the request, for error messages. */
export function parseStorage(input: unknown, path: readonly PropertyKey[] = ['storage']): StorageTarget {
  const value =
    typeof input === 'string' ? parseYamlDocument(input, formatPath(path), formatPath(path)) : input;
  const doc = asRecord(
    value,
    path,
    'a BackupStorage, a Stash Repository/Restic, a backend block or a normalized storage object',
  );
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : undefined;
  const kind = typeof doc.kind === 'string' ? doc.kind : undefined;

  if (apiVersion !== undefined || kind !== undefined) {
    if (apiVersion === `${KUBESTASH_GROUP}v1alpha1` && kind === 'BackupStorage')
      return parseBackupStorage(doc, path);
    if (
      (apiVersion === `${STASH_GROUP}v1alpha1` || apiVersion === `${STASH_GROUP}v1beta1`) &&
      (kind === 'Repository' || kind === 'Restic')
    ) {
      return parseStashManifest(doc, kind, path);
    }
    // Name the field that is off: a known kind under an unknown group/version is an apiVersion problem.
    const knownKind = kind === 'BackupStorage' || kind === 'Repository' || kind === 'Restic';
    throw new RequestError('InvalidRequest', `unsupported manifest ${apiVersion ?? '?'} ${kind ?? '?'}`, [
      {
        path: formatPath(path, [knownKind ? 'apiVersion' : 'kind']),
        message:
          'expected storage.kubestash.com/v1alpha1 BackupStorage, stash.appscode.com/v1alpha1 Repository or Restic, or stash.appscode.com/v1beta1 Repository',
      },
    ]);
  }
  if ('provider' in doc) return parseNormalized(doc, path);
  if ('storageSecretName' in doc || providerKeysIn(doc).length > 0) {
    const { backend, secretName } = parseStashBackend(doc, path);
    return { flavor: 'stash', kind: 'Backend', secretName, backend };
  }
  throw new RequestError('InvalidRequest', `${formatPath(path)}: unrecognized storage shape`, [
    {
      path: formatPath(path),
      message:
        'expected a manifest with apiVersion/kind, a backend block (storageSecretName + provider block), or a normalized object with "provider"',
    },
  ]);
}
