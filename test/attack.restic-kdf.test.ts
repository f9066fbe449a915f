/**
 * Attack: weak scrypt parameters for someone else's password. A caller asks initialize to write a
 * restic key file with `options.kdf` as weak as N=2, sealing the master key under a password it does
 * not know (another repository's encryption secret), on storage it can read; then it guesses the
 * password offline at almost no cost per guess. On a deployed stage, through the real handlers, over
 * signed HTTP and as a direct invoke: anything weaker than restic's own key files is a 400 naming
 * options.kdf and nothing is written; restic-strength parameters and calibration still initialize.
 * The test-only override (BSF_ALLOW_WEAK_KDF) is refused by every deployed stage's configuration.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { runOperation } from '../lib/operations/run.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { deployStage, signedEvent } from './support/attack.js';
import { snapshot } from './support/fs-snapshot.js';
import { lambdaContext, parseHttpResult } from './support/lambda.js';

const volume = await mkdtemp(join(tmpdir(), 'bsf-attack-kdf-'));
const stage = await deployStage({ LOCAL_VOLUME_ROOT: volume });
await stage.secret('a', 'demo', 'encrypt-secret');
await stage.secret('a', 'demo', 'stash-secret');
const { handler: initialize } = await import('../functions/initialize.js');

type Invoke = (body: Record<string, unknown>) => Promise<{ statusCode: number; json: any }>;

const http: Invoke = async (body) =>
  parseHttpResult(await initialize(signedEvent(body, '/v1/initialize') as never, lambdaContext()));
// A direct invoke is the operator's: it names its tenant itself.
const direct: Invoke = async (body) => {
  const { statusCode, ...json } = (await initialize({ ...body, tenant: 'a' } as never, lambdaContext())) as {
    statusCode?: number;
  };
  return { statusCode: statusCode ?? 200, json };
};
const CHANNELS: [string, Invoke][] = [
  ['signed HTTP', http],
  ['direct invoke', direct],
];

let counter = 0;
/** A KubeStash storage in `demo` whose repository is sealed with the `encrypt-secret` of tenant a's demo. */
function kubestash(kdf?: Record<string, number>): { body: Record<string, unknown>; dir: string } {
  const subPath = `kubestash-${++counter}`;
  return {
    dir: join(volume, subPath),
    body: {
      storage: {
        apiVersion: 'storage.kubestash.com/v1alpha1',
        kind: 'BackupStorage',
        metadata: { name: 'victim-storage', namespace: 'demo' },
        spec: { storage: { provider: 'local', local: { mountPath: '/ignored', subPath } } },
      },
      options: {
        createBucket: true,
        repositories: [{ path: 'demo/postgres', encryptionSecret: { name: 'encrypt-secret' } }],
        ...(kdf ? { kdf } : {}),
      },
    },
  };
}

/** A Stash Repository: the storage itself is the restic repository, sealed with the storage secret. */
function stash(kdf: Record<string, number>): Record<string, unknown> {
  return {
    storage: {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'victim-repo', namespace: 'demo' },
      spec: {
        backend: {
          storageSecretName: 'stash-secret',
          local: { mountPath: '/ignored', subPath: `stash-${++counter}` },
        },
      },
    },
    options: { createBucket: true, kdf },
  };
}

/** Key files under a repository directory, parsed. */
async function keyFiles(repository: string): Promise<{ N: number; r: number; p: number }[]> {
  const names = await readdir(join(repository, 'keys'));
  return Promise.all(
    names.map(async (name) => JSON.parse(await readFile(join(repository, 'keys', name), 'utf8'))),
  );
}

const WEAK = [
  ['N=2 (the reported attack)', { N: 2, r: 1, p: 1 }],
  ['N=1024', { N: 1024, r: 8, p: 1 }],
  ['N=16384 (restic’s fallback, below what it calibrates from)', { N: 16384, r: 8, p: 1 }],
  ['r=1', { N: 32768, r: 1, p: 1 }],
  ['r=4 with a larger N', { N: 65536, r: 4, p: 1 }],
] as const;

describe.each(CHANNELS)('weak options.kdf on a deployed stage, %s', (_, invoke) => {
  it.each(WEAK)('%s: 400 naming options.kdf and what is expected, nothing written', async (_name, kdf) => {
    const before = await snapshot(volume);
    const { body } = kubestash(kdf);
    const { statusCode, json } = await invoke(body);
    expect(statusCode).toBe(400);
    expect(json.error.code).toBe('InvalidRequest');
    expect(json.error.issues).toEqual([
      { path: 'options.kdf', message: expect.stringMatching(/N ≥ 32768, r ≥ 8, p ≥ 1/) },
    ]);
    expect(json.error.message).toMatch(/options\.kdf/);
    expect(json.status).toBeUndefined();
    expect(await snapshot(volume)).toEqual(before);
  });

  it('hours of scrypt (p = 100,000) are refused too: scrypt holds a thread past any deadline', async () => {
    const before = await snapshot(volume);
    const { statusCode, json } = await invoke(kubestash({ N: 32768, r: 8, p: 100_000 }).body);
    expect(statusCode).toBe(400);
    expect(json.error.issues).toEqual([
      { path: 'options.kdf', message: expect.stringMatching(/N·r·p must be at most/) },
    ]);
    expect(await snapshot(volume)).toEqual(before);
  });

  it('a Stash repository (the storage itself) with weak kdf: 400, no key file', async () => {
    const before = await snapshot(volume);
    const { statusCode, json } = await invoke(stash({ N: 2, r: 1, p: 1 }));
    expect(statusCode).toBe(400);
    expect(json.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['options.kdf']);
    expect(await snapshot(volume)).toEqual(before);
  });

  it('restic’s own strength (N=32768, r=8, p=1) still initializes: Ready, and the key file has it', async () => {
    const { body, dir } = kubestash({ N: 32768, r: 8, p: 1 });
    const { statusCode, json } = await invoke(body);
    expect(statusCode).toBe(200);
    expect(json.status.phase).toBe('Ready');
    const [report] = json.status.repositories;
    expect(report).toMatchObject({ phase: 'Ready', created: true, kdf: { N: 32768, r: 8, p: 1 } });
    expect(await keyFiles(join(dir, 'demo', 'postgres'))).toEqual([
      expect.objectContaining({ kdf: 'scrypt', N: 32768, r: 8, p: 1 }),
    ]);
  });
});

describe('without options.kdf', () => {
  it('calibrates as restic does and initializes: Ready, r = 8, p ≥ 1', async () => {
    const { body, dir } = kubestash();
    const { statusCode, json } = await http(body);
    expect(statusCode).toBe(200);
    expect(json.status.repositories[0]).toMatchObject({ phase: 'Ready', created: true });
    const [key] = await keyFiles(join(dir, 'demo', 'postgres'));
    expect(key).toMatchObject({ r: 8 });
    expect(key?.p).toBeGreaterThanOrEqual(1);
  });
});

describe('the test-only override', () => {
  it('is refused at cold start on every deployed stage, an unset stage included', () => {
    for (const BSF_STAGE of ['prod', 'dev', 'staging', undefined]) {
      expect(() =>
        loadRuntimeConfig({ BSF_ALLOW_WEAK_KDF: '1', ...(BSF_STAGE ? { BSF_STAGE } : {}) }),
      ).toThrow(/BSF_ALLOW_WEAK_KDF/);
    }
    expect(stage.secretValues.length).toBeGreaterThan(0);
  });

  it('is off on the workstation stage unless set: weak kdf is refused there too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bsf-attack-kdf-local-'));
    const body = {
      storage: { provider: 'local', mountPath: dir, flavor: 'kubestash', name: 's', namespace: 'demo' },
      options: { createBucket: true, kdf: { N: 1024, r: 8, p: 1 } },
    };
    const context = (env: Record<string, string>) => ({
      deadline: Deadline.in(20_000),
      config: loadRuntimeConfig({ BSF_STAGE: 'local', ...env }),
      log: silentLog,
    });
    await expect(runOperation('initialize', body, context({}))).rejects.toMatchObject({
      status: 400,
      issues: [{ path: 'options.kdf' }],
    });
    expect(await readdir(dir)).toEqual([]);
    const allowed = await runOperation('initialize', body, context({ BSF_ALLOW_WEAK_KDF: '1' }));
    expect(allowed.status.phase).toBe('Ready');
  });
});
