/**
 * restic's REST server, end to end: the contract fake (test/fakes/rest-server.ts) proven with the real
 * restic 0.14 first, then a Stash `Repository` with `spec.backend.rest` through initialize, check and
 * inventory in both directions (what we create, restic opens, backs up to and checks; what restic
 * made, we verify), append-only servers, credentials in the URL, and concurrent initializes.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RequestError } from '../lib/config/request-error.js';
import { parseStorage } from '../lib/config/manifests.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import type { OperationContext } from '../lib/operations/context.js';
import type { RepositoryReport } from '../lib/operations/repositories.js';
import type { OperationResult } from '../lib/status/result.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { secretDir } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';
import { isoMillis, resticAcceptance, resticInitAndBackup, resticOk, sampleData } from './support/restic.js';

const PASSWORD = 'restic over REST';
const FAST_KDF = { N: 1024, r: 8, p: 1 };
const context = (): OperationContext => ({
  deadline: Deadline.in(80_000),
  config: loadRuntimeConfig({ BSF_STAGE: 'local', BSF_ALLOW_WEAK_KDF: '1' }),
  log: silentLog,
});

const info = () => serverInfo('rest-fake');
const uniquePath = (label: string) => `/stash/${label}-${randomUUID().slice(0, 8)}`;
/** restic's repository string for a path, with the user in the URL as restic users write it. */
const resticRepo = (path: string, endpoint = info().endpoint as string) => {
  const url = new URL(path, endpoint);
  url.username = encodeURIComponent(info().username as string);
  url.password = encodeURIComponent(info().password as string);
  return `rest:${url.href}/`;
};
/** A Stash Repository manifest with `spec.backend.rest`. */
const repository = (url: string) => ({
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Repository',
  metadata: { name: 'rest-repo', namespace: 'demo' },
  spec: { backend: { rest: { url }, storageSecretName: 'rest-secret' } },
});
const condition = (result: OperationResult, type: string) =>
  result.status.conditions.find((c) => c.type === type);
const report = (result: OperationResult) => ((result.status.repositories ?? []) as RepositoryReport[])[0];

describe('the REST contract fake, proven with restic 0.14', () => {
  it('restic init, backup, snapshots and check --read-data pass against it', async () => {
    const repo = resticRepo(uniquePath('restic-only'));
    await resticOk(repo, PASSWORD, ['init']);
    await resticOk(repo, PASSWORD, ['backup', '--host', 'bsf-test', await sampleData()]);
    await resticOk(repo, PASSWORD, ['backup', '--host', 'bsf-test', await sampleData()]);
    const snapshots = JSON.parse(await resticOk(repo, PASSWORD, ['snapshots', '--json'])) as unknown[];
    expect(snapshots).toHaveLength(2);
    expect(await resticOk(repo, PASSWORD, ['check', '--read-data'])).toContain('no errors were found');
    // A second init is refused: the server never overwrites config.
    await expect(resticOk(repo, PASSWORD, ['init'])).rejects.toThrow(/already|exists|initialized/i);
  });

  it('restic backs up through the append-only listener (rest-server lets restic remove its locks)', async () => {
    const path = uniquePath('restic-append-only');
    await resticOk(resticRepo(path), PASSWORD, ['init']);
    const appendOnly = resticRepo(path, info().appendOnlyEndpoint as string);
    await resticOk(appendOnly, PASSWORD, ['backup', '--host', 'bsf-test', await sampleData()]);
    const snapshots = JSON.parse(await resticOk(appendOnly, PASSWORD, ['snapshots', '--json'])) as unknown[];
    expect(snapshots).toHaveLength(1);
    expect(await resticOk(appendOnly, PASSWORD, ['check'])).toContain('no errors were found');
  });
});

describe('a Stash Repository on a REST server', () => {
  let secret: string;
  let wrongSecret: string;
  let noPasswordSecret: string;
  let urlOnlySecret: string;
  const url = (path: string, endpoint = info().endpoint as string) => `${endpoint}${path}`;
  const call = (
    operation: 'initialize' | 'check' | 'inventory',
    repoUrl: string,
    credentials: string,
    options: object = {},
  ) => runOperation(operation, { storage: repository(repoUrl), credentials, options }, context());

  beforeAll(async () => {
    const auth = {
      REST_SERVER_USERNAME: info().username as string,
      REST_SERVER_PASSWORD: info().password as string,
    };
    secret = await secretDir({ ...auth, RESTIC_PASSWORD: PASSWORD }, 'rest');
    wrongSecret = await secretDir({ ...auth, RESTIC_PASSWORD: 'not the password' }, 'rest-wrong');
    noPasswordSecret = await secretDir(auth, 'rest-nopass');
    urlOnlySecret = await secretDir({ RESTIC_PASSWORD: PASSWORD }, 'rest-url');
  });

  it('ours → restic: initialize creates the repository, restic opens, backs up to and checks it; check is Ready', async () => {
    const path = uniquePath('ours');
    const initialized = await call('initialize', url(path), secret, { kdf: FAST_KDF });
    expect(initialized.status.phase, JSON.stringify(initialized.status)).toBe('Ready');
    expect(report(initialized)).toMatchObject({ created: true, version: 2, keyCount: 1 });
    expect(initialized.storage).toMatchObject({ provider: 'rest', flavor: 'stash', kind: 'Repository' });

    const accepted = await resticAcceptance(resticRepo(path), PASSWORD);
    expect(accepted.config.id).toBe(report(initialized)?.id);

    const checked = await call('check', url(path), secret);
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    expect(condition(checked, 'BackendWritable')).toMatchObject({
      status: 'True',
      message: expect.stringContaining('restic lock'),
    });
    expect(condition(checked, 'BackendDeletable')).toMatchObject({ status: 'True', reason: 'Deletable' });
    expect(report(checked)).toMatchObject({
      snapshotCount: 1,
      newestSnapshotTime: isoMillis(accepted.snapshotTime),
      unreadableSnapshots: 0,
    });
    // The probe lock is gone, and restic still finds nothing wrong.
    expect(await resticOk(resticRepo(path), PASSWORD, ['list', 'locks'])).toBe('');
    expect(await resticOk(resticRepo(path), PASSWORD, ['check'])).toContain('no errors were found');

    // A second initialize opens it and overwrites nothing.
    const again = await call('initialize', url(path), secret, { kdf: FAST_KDF });
    expect(again.status.phase).toBe('Ready');
    expect(report(again)).toMatchObject({ created: false, id: report(initialized)?.id, snapshotCount: 1 });
  });

  it('restic → ours: right password Ready, wrong password WrongPassword, empty path NoRepository', async () => {
    const path = uniquePath('restic');
    const time = await resticInitAndBackup(resticRepo(path), PASSWORD);
    const checked = await call('check', url(path), secret);
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    expect(report(checked)).toMatchObject({
      version: 2,
      keyCount: 1,
      snapshotCount: 1,
      newestSnapshotTime: isoMillis(time),
    });

    const wrong = await call('check', url(path), wrongSecret);
    expect(wrong.status.phase).toBe('NotReady');
    expect(condition(wrong, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'WrongPassword',
    });
    expect(condition(wrong, 'BackendWritable')).toMatchObject({
      status: 'Unknown',
      severity: 'Warning',
      reason: 'Skipped',
    });

    const empty = await call('check', url(uniquePath('empty')), secret);
    expect(empty.status.phase).toBe('NotReady');
    expect(condition(empty, 'RepositoryInitialized')).toMatchObject({
      status: 'False',
      reason: 'NoRepository',
    });

    // initialize with the wrong password leaves restic's repository as it is.
    const refused = await call('initialize', url(path), wrongSecret, { kdf: FAST_KDF });
    expect(refused.status.phase).toBe('NotReady');
    expect(condition(refused, 'RepositoryInitialized')).toMatchObject({ reason: 'WrongPassword' });
    expect(await resticOk(resticRepo(path), PASSWORD, ['check'])).toContain('no errors were found');
  });

  it('inventory reports the repository’s size and snapshot count', async () => {
    const path = uniquePath('inventory');
    await resticInitAndBackup(resticRepo(path), PASSWORD);
    const stats = JSON.parse(
      await resticOk(resticRepo(path), PASSWORD, ['stats', '--mode', 'raw-data', '--json']),
    ) as { total_size: number };
    const result = await call('inventory', url(path), secret);
    expect(result.status.phase, JSON.stringify(result.status)).toBe('Ready');
    const inventory = (
      result as { inventory?: { complete: boolean; repositories?: Record<string, unknown>[] } }
    ).inventory;
    expect(inventory?.complete).toBe(true);
    expect(inventory?.repositories).toHaveLength(1);
    const [found] = inventory?.repositories ?? [];
    expect(found).toMatchObject({ snapshotCount: 1 });
    // Packs alone hold at least the raw data restic counts.
    expect(Number(found?.sizeBytes ?? found?.bytes ?? 0)).toBeGreaterThanOrEqual(stats.total_size);
  });

  it('an append-only server (rest-server --append-only) is Ready with a Warning, and no lock is left', async () => {
    const path = uniquePath('append-only');
    expect((await call('initialize', url(path), secret, { kdf: FAST_KDF })).status.phase).toBe('Ready');
    const checked = await call('check', url(path, info().appendOnlyEndpoint as string), secret);
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    expect(condition(checked, 'BackendWritable')).toMatchObject({ status: 'True' });
    expect(condition(checked, 'BackendDeletable')).toMatchObject({
      status: 'False',
      severity: 'Warning',
      reason: 'AppendOnly',
    });
    expect(await resticOk(resticRepo(path), PASSWORD, ['list', 'locks'])).toBe('');
  });

  it('a server refusing every delete is Ready with a Warning naming the lock it left, which restic tolerates', async () => {
    const path = uniquePath('strict');
    expect((await call('initialize', url(path), secret, { kdf: FAST_KDF })).status.phase).toBe('Ready');
    const checked = await call('check', url(path, info().strictAppendOnlyEndpoint as string), secret);
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    const note = condition(checked, 'BackendDeletable');
    expect(note).toMatchObject({ status: 'False', severity: 'Warning', reason: 'AppendOnly' });
    const locks = (await resticOk(resticRepo(path), PASSWORD, ['list', 'locks'])).trim().split('\n');
    expect(locks).toHaveLength(1);
    expect(note?.message).toContain(`locks/${locks[0]}`);
    expect(note?.message).toContain('stale');
    // restic reads the probe's lock as its own kind: a shared lock does not stop a backup.
    await resticOk(resticRepo(path), PASSWORD, ['backup', '--host', 'bsf-test', await sampleData()]);
  });

  it('without RESTIC_PASSWORD the write probe is skipped with a Warning saying why', async () => {
    const path = uniquePath('no-password');
    await resticOk(resticRepo(path), PASSWORD, ['init']);
    const checked = await call('check', url(path), noPasswordSecret);
    expect(condition(checked, 'BackendWritable')).toMatchObject({
      status: 'Unknown',
      severity: 'Warning',
      reason: 'Skipped',
      message: expect.stringContaining('password'),
    });
    expect(condition(checked, 'BackendReadable')).toMatchObject({ status: 'True' });
    expect(await resticOk(resticRepo(path), PASSWORD, ['list', 'locks'])).toBe('');
  });

  it('takes user:password from the URL, and never shows them', async () => {
    const path = uniquePath('url-credentials');
    const withUser = new URL(url(path));
    withUser.username = encodeURIComponent(info().username as string);
    withUser.password = encodeURIComponent(info().password as string);
    const initialized = await call('initialize', withUser.href, urlOnlySecret, { kdf: FAST_KDF });
    expect(initialized.status.phase, JSON.stringify(initialized.status)).toBe('Ready');
    const checked = await call('check', withUser.href, urlOnlySecret);
    expect(checked.status.phase).toBe('Ready');
    const shown = JSON.stringify([initialized, checked]);
    expect(shown).not.toContain(info().password as string);
    expect(shown).not.toContain(encodeURIComponent(info().password as string));
    expect(checked.storage).toMatchObject({ endpoint: url(path) });

    const wrongUser = new URL(withUser.href);
    wrongUser.password = 'nope-not-it';
    const refused = await call('check', wrongUser.href, urlOnlySecret);
    expect(refused.status.phase).toBe('NotReady');
    expect(condition(refused, 'BackendAuthenticated')).toMatchObject({
      status: 'False',
      reason: 'Unauthenticated',
    });
    expect(JSON.stringify(refused)).not.toContain('nope-not-it');
  });

  it('20 concurrent initializes on one path make one repository with one key', async () => {
    const path = uniquePath('race');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call('initialize', url(path), secret, { kdf: FAST_KDF })),
    );
    expect(
      results.map((result) => result.status.phase),
      JSON.stringify(results.find((result) => result.status.phase !== 'Ready')?.status),
    ).toEqual(Array(20).fill('Ready'));
    expect(results.filter((result) => report(result)?.created)).toHaveLength(1);
    expect(new Set(results.map((result) => report(result)?.id)).size).toBe(1);
    const keys = JSON.parse(
      await resticOk(resticRepo(path), PASSWORD, ['key', 'list', '--json']),
    ) as unknown[];
    expect(keys).toHaveLength(1);
  });
});

describe('events/rest samples and the rest block', () => {
  it('every sample runs as it is, its URL pointed at the fake: initialize and check are Ready', async () => {
    const dir = join(import.meta.dirname, '..', 'events', 'rest');
    const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThan(0);
    const secret = await secretDir(
      {
        REST_SERVER_USERNAME: info().username as string,
        REST_SERVER_PASSWORD: info().password as string,
        RESTIC_PASSWORD: PASSWORD,
      },
      'rest-events',
    );
    const path = uniquePath('events');
    for (const file of files) {
      const event = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
        storage: { spec: { backend: { rest: { url: string } } } };
        options?: Record<string, unknown>;
      };
      event.storage.spec.backend.rest.url = `${info().endpoint}${path}`;
      for (const operation of ['initialize', 'check'] as const) {
        const result = await runOperation(
          operation,
          { ...event, credentials: secret, options: { ...event.options, kdf: FAST_KDF } },
          context(),
        );
        expect(result.status.phase, `${file} ${operation}: ${JSON.stringify(result.status)}`).toBe('Ready');
      }
    }
  });

  it('refuses a URL that is not http(s) with a 400 naming the field', () => {
    let caught: unknown;
    try {
      parseStorage(repository('sftp://host/repo'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RequestError);
    expect((caught as RequestError).status).toBe(400);
    expect((caught as RequestError).issues).toContainEqual(
      expect.objectContaining({ path: 'storage.spec.backend.rest.url' }),
    );
  });
});
