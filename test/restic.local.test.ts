/**
 * restic repositories on the local backend, proven with the real restic 0.14 binary in both directions:
 * repositories our initialize writes pass restic's cat config, backup, snapshots and check --read-data;
 * repositories restic writes (versions 1 and 2) are opened and reported by our check.
 */
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../lib/backends/local/store.js';
import type { CallOptions, ListOptions, ObjectStore } from '../lib/backends/object-store.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import type { OperationContext } from '../lib/operations/context.js';
import type { RepositoryReport } from '../lib/operations/repositories.js';
import { runOperation } from '../lib/operations/run.js';
import type { OperationResult } from '../lib/status/result.js';
import { seal } from '../lib/restic/crypto.js';
import { sealConfig } from '../lib/restic/config.js';
import { openKeyFile, parseKeyFile } from '../lib/restic/keys.js';
import { fileId } from '../lib/restic/layout.js';
import { randomPolynomial } from '../lib/restic/polynomial.js';
import { initRepository } from '../lib/restic/repository.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { secretDir } from './support/mounted-secret.js';
import { isoMillis, restic, resticAcceptance, resticOk, sampleData } from './support/restic.js';

const PASSWORD = 'correct horse battery staple';
/** Cheap scrypt where strength is not the point. */
const FAST_KDF = { N: 1024, r: 8, p: 1 };
let root: string;

const context = (): OperationContext => ({
  deadline: Deadline.in(50_000),
  config: loadRuntimeConfig({ BSF_STAGE: 'local', BSF_ALLOW_WEAK_KDF: '1' }),
  log: silentLog,
});

/** A Stash Repository whose backend is the local directory `<root>/<subPath>`. */
function stash(subPath: string) {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'local-repo', namespace: 'demo' },
    spec: {
      backend: {
        storageSecretName: 'restic-secret',
        local: { mountPath: root, subPath, hostPath: { path: '/data' } },
      },
    },
  };
}

function backupStorage(subPath: string) {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'local-storage', namespace: 'demo' },
    spec: {
      storage: { provider: 'local', local: { mountPath: root, subPath, hostPath: { path: '/data' } } },
    },
  };
}

const condition = (result: { status: { conditions: { type: string }[] } }, type: string) =>
  result.status.conditions.find((c) => c.type === type) as Record<string, unknown> | undefined;
const repositories = (result: OperationResult) => (result.status.repositories ?? []) as RepositoryReport[];

let password: string;
let wrongPassword: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bsf-restic-local-'));
  password = await secretDir({ RESTIC_PASSWORD: PASSWORD }, 'restic-right');
  wrongPassword = await secretDir({ RESTIC_PASSWORD: 'not the password' }, 'restic-wrong');
});

describe('restic on local: ours → restic', () => {
  it('initializes a Stash backend as a version-2 repository that restic backs up to and checks', async () => {
    await mkdir(join(root, 'stash-v2'));
    const result = await runOperation(
      'initialize',
      { storage: stash('stash-v2'), credentials: password, options: { kdf: FAST_KDF } },
      context(),
    );
    expect(result.status.phase, JSON.stringify(result.status)).toBe('Ready');
    expect(condition(result, 'RepositoryInitialized')).toMatchObject({ status: 'True' });
    expect(condition(result, 'BackendInitialized')).toMatchObject({
      status: 'True',
      message: expect.stringMatching(/Created/),
    });
    const [report] = repositories(result);
    expect(report).toMatchObject({
      path: '',
      created: true,
      version: 2,
      keyCount: 1,
      snapshotCount: 0,
      kdf: FAST_KDF,
    });
    // restic's own local init layout, and no metadata.yaml: the repository is the marker.
    const dir = join(root, 'stash-v2');
    expect((await readdir(dir)).sort()).toEqual(['config', 'data', 'index', 'keys', 'locks', 'snapshots']);
    expect(await readdir(join(dir, 'data'))).toHaveLength(256);

    const accepted = await resticAcceptance(dir, PASSWORD);
    expect(accepted.config).toMatchObject({ version: 2, id: report?.id });
    expect(accepted.config.chunker_polynomial).toMatch(/^[0-9a-f]{14}$/);

    const checked = await runOperation(
      'check',
      { storage: stash('stash-v2'), credentials: password },
      context(),
    );
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    expect(repositories(checked)[0]).toMatchObject({
      snapshotCount: 1,
      newestSnapshotTime: isoMillis(accepted.snapshotTime),
      unreadableSnapshots: 0,
    });
    expect(condition(checked, 'RepositoryUnlocked')).toMatchObject({
      status: 'True',
      reason: 'NoLocks',
      severity: 'Warning',
    });
  });

  it('writes a version-1 repository on request', async () => {
    await mkdir(join(root, 'stash-v1'));
    const result = await runOperation(
      'initialize',
      {
        storage: stash('stash-v1'),
        credentials: password,
        options: { kdf: FAST_KDF, resticConfigVersion: 1 },
      },
      context(),
    );
    expect(repositories(result)[0]).toMatchObject({ created: true, version: 1 });
    const accepted = await resticAcceptance(join(root, 'stash-v1'), PASSWORD);
    expect(accepted.config.version).toBe(1);
  });

  it('calibrates scrypt to restic’s own strength when no parameters are given', async () => {
    await mkdir(join(root, 'calibrated'));
    const result = await runOperation(
      'initialize',
      { storage: stash('calibrated'), credentials: password },
      context(),
    );
    const kdf = repositories(result)[0]?.kdf;
    // N = 32768 unless this machine is too slow for it right now (then halved, as restic does).
    expect(kdf?.r).toBe(8);
    expect([32768, 16384, 8192, 4096, 2048, 1024]).toContain(kdf?.N);
    expect(kdf?.p).toBeGreaterThanOrEqual(1);
    const [keyName] = await readdir(join(root, 'calibrated', 'keys'));
    const keyFile = JSON.parse(
      await readFile(join(root, 'calibrated', 'keys', keyName as string), 'utf8'),
    ) as object;
    expect(keyFile).toMatchObject({ kdf: 'scrypt', ...kdf });
    const keys = JSON.parse(
      await resticOk(join(root, 'calibrated'), PASSWORD, ['key', 'list', '--json']),
    ) as unknown[];
    expect(keys).toHaveLength(1);
  });

  it('never overwrites: a second initialize opens the repository and leaves every file as it was', async () => {
    const dir = join(root, 'stash-v2');
    const config = await readFile(join(dir, 'config'));
    const keys = await readdir(join(dir, 'keys'));
    const again = await runOperation(
      'initialize',
      { storage: stash('stash-v2'), credentials: password, options: { kdf: FAST_KDF } },
      context(),
    );
    expect(again.status.phase).toBe('Ready');
    expect(repositories(again)[0]).toMatchObject({ created: false, snapshotCount: 1 });
    expect(await readFile(join(dir, 'config'))).toEqual(config);
    expect(await readdir(join(dir, 'keys'))).toEqual(keys);
    // With the wrong password it still writes nothing, and says so.
    const wrong = await runOperation(
      'initialize',
      { storage: stash('stash-v2'), credentials: wrongPassword, options: { kdf: FAST_KDF } },
      context(),
    );
    expect(wrong.status.phase).toBe('NotReady');
    expect(condition(wrong, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'WrongPassword',
    });
    expect(condition(wrong, 'BackendInitialized')).toMatchObject({
      status: 'False',
      reason: 'WrongPassword',
    });
    expect(await readdir(join(dir, 'keys'))).toEqual(keys);
  });

  it('initializes KubeStash component repositories named by the request, each with its encryption secret', async () => {
    await mkdir(join(root, 'kubestash'));
    const other = await secretDir({ RESTIC_PASSWORD: 'another one' }, 'restic-other');
    const options = {
      createBucket: true,
      kdf: FAST_KDF,
      repositories: [
        { path: 'demo/postgres', session: 'frequent-backup', component: 'dump', encryptionSecret: password },
        { path: 'demo/mysql', session: 'daily', component: 'dump', encryptionSecret: other },
      ],
    };
    const result = await runOperation(
      'initialize',
      { storage: backupStorage('kubestash'), options },
      context(),
    );
    expect(result.status.phase, JSON.stringify(result.status)).toBe('Ready');
    expect(condition(result, 'RepositoriesReady')).toMatchObject({ status: 'True', severity: 'Warning' });
    expect(repositories(result).map((r) => [r.path, r.created, r.phase])).toEqual([
      ['demo/postgres/repository/v1/frequent-backup/dump', true, 'Ready'],
      ['demo/mysql/repository/v1/daily/dump', true, 'Ready'],
    ]);
    await expect(stat(join(root, 'kubestash', 'metadata.yaml'))).resolves.toBeTruthy();
    await resticAcceptance(
      join(root, 'kubestash', 'demo/postgres/repository/v1/frequent-backup/dump'),
      PASSWORD,
    );

    // check: one repository with the wrong secret is that repository's failure; the storage stays Ready.
    const checked = await runOperation(
      'check',
      {
        storage: backupStorage('kubestash'),
        options: {
          repositories: [
            options.repositories[0],
            { ...options.repositories[1], encryptionSecret: wrongPassword },
            { path: 'demo/none' },
          ],
        },
      },
      context(),
    );
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    expect(condition(checked, 'RepositoriesReady')).toMatchObject({
      status: 'False',
      severity: 'Warning',
      reason: 'RepositoriesNotReady',
    });
    const [postgres, mysql, none] = repositories(checked);
    expect(postgres).toMatchObject({ phase: 'Ready', snapshotCount: 1 });
    expect(mysql?.conditions.find((c) => c.type === 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'WrongPassword',
    });
    // No encryptionSecret and no storage secret: the password is missing, which is said before anything is read.
    expect(none?.conditions.find((c) => c.type === 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'PasswordMissing',
    });
  });

  it('refuses repository options that would leave the prefix', async () => {
    await expect(
      runOperation(
        'check',
        { storage: backupStorage('kubestash'), options: { repositories: [{ path: '../escape' }] } },
        context(),
      ),
    ).rejects.toMatchObject({ code: 'InvalidRequest' });
    await expect(
      runOperation(
        'check',
        { storage: backupStorage('kubestash'), options: { repositories: [{ path: 'a', session: 's' }] } },
        context(),
      ),
    ).rejects.toMatchObject({ code: 'InvalidRequest' });
    await expect(
      runOperation(
        'initialize',
        { storage: backupStorage('kubestash'), options: { kdf: { N: 1000, r: 8, p: 1 } } },
        context(),
      ),
    ).rejects.toMatchObject({
      code: 'InvalidRequest',
    });
  });
});

describe('restic on local: restic → ours', () => {
  for (const version of [2, 1]) {
    it(`opens a version-${version} repository restic made, with its snapshot`, async () => {
      const dir = join(root, `by-restic-v${version}`);
      await resticOk(dir, PASSWORD, ['init', '--repository-version', String(version)]);
      await resticOk(dir, PASSWORD, ['backup', '--host', 'bsf-test', await sampleData()]);
      const [snapshot] = JSON.parse(await resticOk(dir, PASSWORD, ['snapshots', '--json'])) as {
        time: string;
      }[];
      const id = (JSON.parse(await resticOk(dir, PASSWORD, ['cat', 'config'])) as { id: string }).id;

      const checked = await runOperation(
        'check',
        { storage: stash(`by-restic-v${version}`), credentials: password },
        context(),
      );
      expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
      expect(repositories(checked)[0]).toMatchObject({
        version,
        id,
        keyCount: 1,
        snapshotCount: 1,
        newestSnapshotTime: isoMillis(snapshot?.time ?? ''),
      });

      const wrong = await runOperation(
        'check',
        { storage: stash(`by-restic-v${version}`), credentials: wrongPassword },
        context(),
      );
      expect(wrong.status.phase).toBe('NotReady');
      expect(condition(wrong, 'RepositoryInitialized')).toMatchObject({
        status: 'False',
        reason: 'WrongPassword',
      });
      expect(condition(wrong, 'BackendReachable')).toMatchObject({ status: 'True' });
    });
  }

  it('says NoRepository for an empty path, not WrongPassword (restic#925)', async () => {
    await mkdir(join(root, 'empty'));
    const checked = await runOperation(
      'check',
      { storage: stash('empty'), credentials: password },
      context(),
    );
    expect(checked.status.phase).toBe('NotReady');
    expect(condition(checked, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'NoRepository',
    });
    expect(condition(checked, 'BackendInitialized')).toMatchObject({
      status: 'False',
      reason: 'NoRepository',
    });
    expect(await readdir(join(root, 'empty'))).toEqual([]);
  });

  it('says PasswordMissing when the Stash secret has no RESTIC_PASSWORD', async () => {
    const noPassword = await secretDir({ OTHER: 'x' }, 'restic-no-password');
    const checked = await runOperation(
      'check',
      { storage: stash('stash-v2'), credentials: noPassword },
      context(),
    );
    expect(condition(checked, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'PasswordMissing',
    });
  });
});

/** The master key of a local repository, through its one key file (test-only access). */
async function masterKeyOf(dir: string) {
  const [keyName] = await readdir(join(dir, 'keys'));
  const key = await openKeyFile(parseKeyFile(await readFile(join(dir, 'keys', keyName as string))), PASSWORD);
  if (!key) throw new Error('the password does not open the key');
  return key;
}

describe('restic on local: damaged repositories and locks', () => {
  it('reports a stale lock (which restic unlock agrees is stale) and an exclusive one as warnings', async () => {
    const dir = join(root, 'locked');
    await resticOk(dir, PASSWORD, ['init']);
    const masterKey = await masterKeyOf(dir);
    const writeLock = async (lock: object) => {
      const sealed = seal(masterKey, Buffer.from(JSON.stringify(lock)));
      await writeFile(join(dir, 'locks', fileId(sealed)), sealed);
    };
    await writeLock({
      time: new Date(Date.now() - 2 * 3600_000).toISOString(),
      exclusive: false,
      hostname: 'old-node',
      username: 'root',
      pid: 4242,
    });
    const stale = await runOperation(
      'check',
      { storage: stash('locked'), credentials: password, options: { readOnly: true } },
      context(),
    );
    expect(stale.status.phase).toBe('Ready');
    expect(condition(stale, 'RepositoryUnlocked')).toMatchObject({
      status: 'False',
      severity: 'Warning',
      reason: 'StaleLock',
    });
    expect(condition(stale, 'RepositoryUnlocked')?.message).toMatch(/old-node \(pid 4242\), 2h old/);
    await resticOk(dir, PASSWORD, ['unlock']);
    expect(await readdir(join(dir, 'locks'))).toEqual([]);

    await writeLock({
      time: new Date().toISOString(),
      exclusive: true,
      hostname: 'prune-node',
      username: 'root',
      pid: 7,
    });
    const exclusive = await runOperation(
      'check',
      { storage: stash('locked'), credentials: password, options: { readOnly: true } },
      context(),
    );
    expect(exclusive.status.phase).toBe('Ready');
    expect(condition(exclusive, 'RepositoryUnlocked')).toMatchObject({
      status: 'False',
      severity: 'Warning',
      reason: 'ExclusiveLock',
    });
    expect(repositories(exclusive)[0]?.locks?.[0]).toMatchObject({
      exclusive: true,
      hostname: 'prune-node',
      stale: false,
    });
  });

  it('tells CorruptConfig and UnsupportedVersion apart from a wrong password', async () => {
    const dir = join(root, 'damaged');
    await resticOk(dir, PASSWORD, ['init']);
    const masterKey = await masterKeyOf(dir);
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'config'), 0o600);

    await writeFile(
      join(dir, 'config'),
      sealConfig({ version: 3, id: 'f'.repeat(64), chunkerPolynomial: randomPolynomial() }, masterKey),
    );
    const future = await runOperation(
      'check',
      { storage: stash('damaged'), credentials: password, options: { readOnly: true } },
      context(),
    );
    expect(condition(future, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'UnsupportedVersion',
    });

    await writeFile(
      join(dir, 'config'),
      sealConfig({ version: 2, id: 'f'.repeat(64), chunkerPolynomial: 0x38f1e565e288dfn }, masterKey),
    );
    const reducible = await runOperation(
      'check',
      { storage: stash('damaged'), credentials: password, options: { readOnly: true } },
      context(),
    );
    expect(condition(reducible, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'CorruptConfig',
    });
    expect(condition(reducible, 'RepositoryInitialized')?.message).toMatch(/irreducible/);

    await writeFile(join(dir, 'config'), Buffer.alloc(80, 1));
    const garbage = await runOperation(
      'check',
      { storage: stash('damaged'), credentials: password, options: { readOnly: true } },
      context(),
    );
    expect(condition(garbage, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'CorruptConfig',
    });
    // restic agrees the repository is unusable.
    expect((await restic(dir, PASSWORD, ['cat', 'config'])).code).not.toBe(0);
  });

  it('refuses to initialize over key files without a config, and leaves them', async () => {
    const dir = join(root, 'orphan-keys');
    await mkdir(join(dir, 'keys'), { recursive: true });
    await writeFile(join(dir, 'keys', 'a'.repeat(64)), '{}');
    const result = await runOperation(
      'initialize',
      { storage: stash('orphan-keys'), credentials: password, options: { kdf: FAST_KDF } },
      context(),
    );
    expect(condition(result, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'IncompleteRepository',
    });
    expect(await readdir(dir)).toEqual(['keys']);
  });
});

describe('restic on local: concurrent initializers', () => {
  it('20 initializers on one path make exactly one repository with one config and one key', async () => {
    const dir = join(root, 'race');
    await mkdir(dir);
    const store = new LocalStore(dir);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => initRepository(store, 'repo', PASSWORD, { kdf: FAST_KDF })),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.info.id)).size).toBe(1);
    expect(results.every((result) => result.info.keyCount === 1)).toBe(true);
    expect(await readdir(join(dir, 'repo', 'keys'))).toHaveLength(1);
    expect((await readdir(join(dir, 'repo'))).filter((name) => name === 'config')).toHaveLength(1);
    await resticOk(join(dir, 'repo'), PASSWORD, ['check']);
  });

  it('an initializer whose config read answered before a concurrent winner wrote opens the winner’s repository', async () => {
    const dir = join(root, 'late-reader');
    await mkdir(dir);
    const store = new LocalStore(dir);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The loser's config read is answered now (nothing there yet) but delivered late; its listings run late.
    const late: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      get: (key: string, options?: CallOptions) => {
        const answer = store.get(key, options);
        answer.catch(() => undefined);
        return gate.then(() => answer);
      },
      list: (prefix: string, options?: ListOptions) => gate.then(() => store.list(prefix, options)),
    });
    const loser = initRepository(late, 'repo', PASSWORD, { kdf: FAST_KDF });
    const winner = await initRepository(store, 'repo', PASSWORD, { kdf: FAST_KDF });
    release();
    const result = await loser;
    expect(winner.created).toBe(true);
    expect(result).toMatchObject({ created: false, info: { id: winner.info.id, keyCount: 1 } });
  });

  it('20 concurrent initialize calls on one Stash backend all end Ready on the same repository', async () => {
    await mkdir(join(root, 'race-ops'));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        runOperation(
          'initialize',
          { storage: stash('race-ops'), credentials: password, options: { kdf: FAST_KDF } },
          context(),
        ),
      ),
    );
    expect(results.map((result) => result.status.phase)).toEqual(Array(20).fill('Ready'));
    expect(results.map((result) => repositories(result)[0]?.created).filter(Boolean)).toHaveLength(1);
    expect(new Set(results.map((result) => repositories(result)[0]?.id)).size).toBe(1);
    expect(await readdir(join(root, 'race-ops', 'keys'))).toHaveLength(1);
  });
});
