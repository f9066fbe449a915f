import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RequestError } from '../lib/config/request-error.js';
import { parseStorage } from '../lib/config/manifests.js';
import { parseRequest } from '../lib/config/request.js';

/** The seed documents' storage examples, copied into the repository (see the fixture's header). */
const SEED_EXAMPLES = join(import.meta.dirname, 'fixtures', 'seed-storage-examples.yaml');

/** The YAML examples in the seed documents that describe a storage (Secrets and the like are skipped). */
function seedStorageExamples(): { file: string; yaml: string }[] {
  return readFileSync(SEED_EXAMPLES, 'utf8')
    .split(/^---\n/m)
    .slice(1)
    .map((yaml) => ({ file: /^# from (.*)$/m.exec(yaml)?.[1] ?? 'unknown', yaml }));
}

function requestError(run: () => unknown): RequestError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError);
    return error as RequestError;
  }
  throw new Error('expected a RequestError');
}

const backupStorage = (storage: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'storage.kubestash.com/v1alpha1',
  kind: 'BackupStorage',
  metadata: { name: 's3-storage', namespace: 'demo', uid: 'u-1', managedFields: [{ manager: 'kubectl' }] },
  spec: {
    storage,
    usagePolicy: { allowedNamespaces: { from: 'All' } },
    default: true,
    deletionPolicy: 'WipeOut',
    ...extra,
  },
  status: { phase: 'Ready', totalSize: '1 GiB' },
});

describe('parsing the seed documents', () => {
  const examples = seedStorageExamples();

  it('finds the storage examples in every seed that has one', () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
  });

  it.each(examples.map((example, index) => [index, example.file, example.yaml] as const))(
    'parses seed example %i from %s',
    (_index, _file, yaml) => {
      const target = parseStorage(yaml);
      expect(target.flavor).toBe('stash');
      expect(target.secretName).toMatch(/-secret$/);
      expect(['local', 's3', 'gcs', 'azure', 'swift', 'b2']).toContain(target.backend.provider);
    },
  );

  it('reads the Stash 0.5 local block (path + volumeSource) as mountPath', () => {
    const local = examples.map((e) => parseStorage(e.yaml)).find((t) => t.backend.provider === 'local');
    expect(local?.backend).toEqual({ provider: 'local', mountPath: '/repo' });
  });

  it('keeps the B2 seed’s prefix without its leading slash', () => {
    const b2 = examples.map((e) => parseStorage(e.yaml)).find((t) => t.backend.provider === 'b2');
    expect(b2).toMatchObject({
      kind: 'Repository',
      name: 'b2-repo',
      namespace: 'demo',
      secretName: 'b2-secret',
    });
    expect(b2?.backend).toEqual({
      provider: 'b2',
      bucket: 'stash-backup',
      prefix: 'demo/deployment/my-deploy',
    });
  });
});

describe('parsing every accepted storage shape', () => {
  it('reads a KubeStash BackupStorage as kubectl prints it, ignoring metadata and status', () => {
    const target = parseStorage(
      backupStorage({
        provider: 's3',
        s3: {
          endpoint: 'https://s3.amazonaws.com/',
          bucket: 'kubestash-qa/',
          prefix: '/demo/',
          region: 'us-west-1',
          secretName: 's3-secret',
          maxConnections: 8,
          insecureTLS: false,
        },
      }),
    );
    expect(target).toEqual({
      flavor: 'kubestash',
      kind: 'BackupStorage',
      name: 's3-storage',
      namespace: 'demo',
      uid: 'u-1',
      secretName: 's3-secret',
      deletionPolicy: 'WipeOut',
      backend: {
        provider: 's3',
        endpoint: 'https://s3.amazonaws.com',
        bucket: 'kubestash-qa',
        prefix: 'demo',
        region: 'us-west-1',
        maxConnections: 8,
        insecureTLS: false,
      },
    });
  });

  it('reads the same manifest from a YAML string', () => {
    const manifest = backupStorage({
      provider: 'gcs',
      gcs: { bucket: 'b', prefix: 'p', secretName: 'gcs-secret' },
    });
    expect(parseStorage(stringify(manifest))).toEqual(parseStorage(manifest));
  });

  it('accepts the pre-2024 `secret` field name of KubeStash provider blocks', () => {
    const target = parseStorage(
      backupStorage({ provider: 's3', s3: { bucket: 'b', endpoint: 'e', secret: 'linode' } }),
    );
    expect(target.secretName).toBe('linode');
  });

  it('reads KubeStash azure and local blocks, with inline volume sources', () => {
    const azure = parseStorage(
      backupStorage({
        provider: 'azure',
        azure: { storageAccount: 'acct', container: 'c', prefix: 'x/y', secretName: 'az' },
      }),
    );
    expect(azure.backend).toEqual({
      provider: 'azure',
      storageAccount: 'acct',
      container: 'c',
      prefix: 'x/y',
    });
    const local = parseStorage(
      backupStorage({
        provider: 'local',
        local: { mountPath: '/safe/data', subPath: 'a/b', nfs: { server: 'nfs', path: '/x' } },
      }),
    );
    expect(local.backend).toEqual({ provider: 'local', mountPath: '/safe/data', subPath: 'a/b' });
    expect(local.secretName).toBeUndefined();
  });

  it('reads Stash Repository v1alpha1 and v1beta1, a v1alpha1 Restic, and wipeOut', () => {
    for (const apiVersion of ['stash.appscode.com/v1alpha1', 'stash.appscode.com/v1beta1']) {
      const target = parseStorage({
        apiVersion,
        kind: 'Repository',
        metadata: { name: 'r', namespace: 'n' },
        spec: { backend: { storageSecretName: 's', swift: { container: 'c', prefix: 'p' } }, wipeOut: true },
      });
      expect(target).toMatchObject({
        flavor: 'stash',
        kind: 'Repository',
        deletionPolicy: 'WipeOut',
        secretName: 's',
      });
      expect(target.backend).toEqual({ provider: 'swift', container: 'c', prefix: 'p' });
    }
    const restic = parseStorage({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name: 'x' },
      spec: {
        selector: {},
        fileGroups: [],
        backend: { storageSecretName: 'rs', rest: { url: 'https://rest.example/repo' } },
      },
    });
    expect(restic.backend).toEqual({ provider: 'rest', url: 'https://rest.example/repo' });
  });

  it('reads a bare Stash backend block and our normalized form', () => {
    expect(
      parseStorage({ storageSecretName: 'gcs-secret', gcs: { bucket: 'b', maxConnections: 3 } }),
    ).toMatchObject({
      flavor: 'stash',
      kind: 'Backend',
      secretName: 'gcs-secret',
      backend: { provider: 'gcs', bucket: 'b', maxConnections: 3 },
    });
    expect(
      parseStorage({
        provider: 'b2',
        bucket: 'b',
        prefix: 'p',
        name: 'mine',
        secretName: 'b2s',
        flavor: 'stash',
      }),
    ).toMatchObject({
      flavor: 'stash',
      kind: 'Storage',
      name: 'mine',
      secretName: 'b2s',
      backend: { provider: 'b2', bucket: 'b', prefix: 'p' },
    });
    expect(parseStorage({ provider: 'local', mountPath: '/data' }).flavor).toBe('kubestash');
  });
});

describe('refusing bad storage input with the path of every offending field', () => {
  it('names an unknown field inside a provider block (a misplaced prefix never points at the bucket root)', () => {
    const error = requestError(() =>
      parseStorage(backupStorage({ provider: 's3', s3: { bucket: 'b', prefx: 'demo' } })),
    );
    expect(error.status).toBe(400);
    expect(error.issues).toContainEqual(expect.objectContaining({ path: 'storage.spec.storage.s3.prefx' }));
  });

  it('names a prefix put beside the provider block', () => {
    const error = requestError(() =>
      parseStorage(backupStorage({ provider: 's3', prefix: 'demo', s3: { bucket: 'b' } })),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['storage.spec.storage.prefix']);
  });

  it('names missing required fields and wrong types', () => {
    const missing = requestError(() =>
      parseStorage(backupStorage({ provider: 'azure', azure: { prefix: 'p' } })),
    );
    expect(missing.issues.map((i) => i.path)).toContain('storage.spec.storage.azure.container');
    const wrongType = requestError(() =>
      parseStorage(backupStorage({ provider: 's3', s3: { bucket: 'b', maxConnections: 'ten' } })),
    );
    expect(wrongType.issues.map((i) => i.path)).toContain('storage.spec.storage.s3.maxConnections');
    const noBlock = requestError(() => parseStorage(backupStorage({ provider: 'gcs' })));
    expect(noBlock.issues.map((i) => i.path)).toEqual(['storage.spec.storage.gcs']);
  });

  it('refuses an unknown provider', () => {
    const error = requestError(() => parseStorage(backupStorage({ provider: 'ftp', ftp: {} })));
    expect(error.issues.map((i) => i.path)).toContain('storage.spec.storage.provider');
  });

  it('refuses a backend with none or several provider blocks, and unknown backend fields', () => {
    expect(requestError(() => parseStorage({ storageSecretName: 's' })).issues[0]?.message).toMatch(
      /no provider block/,
    );
    expect(
      requestError(() => parseStorage({ s3: { bucket: 'a', endpoint: 'e' }, gcs: { bucket: 'b' } })).issues[0]
        ?.message,
    ).toMatch(/several/);
    expect(
      requestError(() =>
        parseStorage({ storageSecretName: 's', gcs: { bucket: 'b' }, bucket: 'x' }),
      ).issues.map((i) => i.path),
    ).toEqual(['storage.bucket']);
  });

  it.each([
    [
      'prefix with ..',
      backupStorage({ provider: 's3', s3: { bucket: 'b', prefix: 'demo/../other' } }),
      'storage.spec.storage.s3.prefix',
    ],
    [
      'relative mountPath',
      backupStorage({ provider: 'local', local: { mountPath: 'data' } }),
      'storage.spec.storage.local.mountPath',
    ],
    [
      'mountPath with ..',
      backupStorage({ provider: 'local', local: { mountPath: '/data/../etc' } }),
      'storage.spec.storage.local.mountPath',
    ],
    [
      'absolute subPath',
      backupStorage({ provider: 'local', local: { mountPath: '/data', subPath: '/etc' } }),
      'storage.spec.storage.local.subPath',
    ],
    [
      'subPath with ..',
      backupStorage({ provider: 'local', local: { mountPath: '/data', subPath: 'a/../../etc' } }),
      'storage.spec.storage.local.subPath',
    ],
  ])('refuses path traversal: %s', (_name, manifest, path) => {
    expect(requestError(() => parseStorage(manifest)).issues.map((i) => i.path)).toContain(path);
  });

  it('refuses malformed YAML with a position, and unsupported manifests by kind', () => {
    const malformed = requestError(() => parseStorage('spec: [unclosed'));
    expect(malformed.code).toBe('MalformedBody');
    expect(malformed.message).toMatch(/line 1/);
    expect(malformed.issues.map((i) => i.path)).toEqual(['storage']);
    const unknownAnchor = requestError(() => parseStorage('*!'));
    expect(unknownAnchor.code).toBe('MalformedBody');
    expect(unknownAnchor.issues.map((i) => i.path)).toEqual(['storage']);
    const aliasBomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    expect(requestError(() => parseStorage(aliasBomb)).code).toBe('MalformedBody');
    const wrongKind = requestError(() =>
      parseStorage({ apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', spec: {} }),
    );
    expect(wrongKind.issues.map((i) => i.path)).toEqual(['storage.kind']);
    const wrongVersion = requestError(() =>
      parseStorage({ apiVersion: 'storage.kubestash.com/v1', kind: 'BackupStorage', spec: {} }),
    );
    expect(wrongVersion.issues.map((i) => i.path)).toEqual(['storage.apiVersion']);
  });
});

describe('parsing the request envelope', () => {
  it('reads storage, credentials and options', () => {
    const request = parseRequest({
      storage: { provider: 'local', mountPath: '/data' },
      credentials: 'dir:/secrets/demo/local',
      options: { createBucket: true, timeoutSeconds: 5 },
    });
    expect(request.credentials).toBe('dir:/secrets/demo/local');
    expect(request.options).toEqual({ createBucket: true, timeoutSeconds: 5 });
  });

  it('names unknown top-level and option fields, and a missing storage', () => {
    expect(
      requestError(() =>
        parseRequest({ storage: { provider: 'local', mountPath: '/d' }, optons: {} }),
      ).issues.map((i) => i.path),
    ).toEqual(['optons']);
    expect(
      requestError(() =>
        parseRequest({ storage: { provider: 'local', mountPath: '/d' }, options: { creatBucket: true } }),
      ).issues.map((i) => i.path),
    ).toEqual(['options.creatBucket']);
    expect(requestError(() => parseRequest({ credentials: 'env' })).issues.map((i) => i.path)).toEqual([
      'storage',
    ]);
    expect(requestError(() => parseRequest([])).status).toBe(400);
  });
});
