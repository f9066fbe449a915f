/**
 * Attack: a local storage as a window onto the function's filesystem. Reported: on a deployed stage
 * without LOCAL_VOLUME_ROOT the caller's mountPath was the root (an inventory of /etc listed 350
 * files, the write probe wrote and deleted anywhere), and a symlink in subPath let initialize write
 * metadata.yaml outside the volume. Through the real handlers (signed HTTP, direct invokes) on a
 * deployed stage, every attempt is refused with a classified condition and leaves the directories it
 * aimed at exactly as they were (a before/after snapshot); legitimate storages stay Ready; tenants
 * sharing a volume (LOCAL_SUBPATH_TEMPLATE) cannot reach each other; a link swapped in after the store
 * opened is caught on the next call. On the workstation stage mountPath keeps working.
 */
import { mkdir, mkdtemp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { expandSubPathTemplate } from '../lib/backends/local/store.js';
import type { StoreContext } from '../lib/backends/object-store.js';
import { openStore } from '../lib/backends/registry.js';
import type { LocalBackend } from '../lib/config/backend.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { DEFAULT_KEY_ID } from '../functions/common/auth.js';
import { deployStage, signedEvent, type KeyId } from './support/attack.js';
import { snapshot } from './support/fs-snapshot.js';
import { lambdaContext, parseHttpResult } from './support/lambda.js';

/** A directory the attacker aims at: not part of any volume. */
const outside = await mkdtemp(join(tmpdir(), 'bsf-attack-outside-'));
await mkdir(join(outside, 'nested'));
await writeFile(join(outside, 'secret.txt'), 'not yours');
await writeFile(join(outside, 'nested', 'passwd'), 'root:x:0:0');
/** What only the outside directory holds (its names and content), to spot in any response. */
const OUTSIDE_NAMES = /secret\.txt|passwd|root:x/;

const volume = await mkdtemp(join(tmpdir(), 'bsf-attack-volume-'));
await deployStage();

type Op = 'initialize' | 'check' | 'inventory';
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let handlers: Record<Op, Handler>;

/** The handlers as a cold start with these settings loads them (they read the deployment once). */
async function coldStart(env: Record<string, string | undefined>): Promise<void> {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  vi.resetModules();
  handlers = {
    initialize: (await import('../functions/initialize.js')).handler as Handler,
    check: (await import('../functions/check.js')).handler as Handler,
    inventory: (await import('../functions/inventory.js')).handler as Handler,
  };
}

interface Response {
  statusCode: number;
  json: any;
}

async function http(op: Op, body: unknown, key: KeyId = DEFAULT_KEY_ID): Promise<Response> {
  return parseHttpResult(await handlers[op](signedEvent(body, `/v1/${op}`, key), lambdaContext()));
}

async function direct(op: Op, body: Record<string, unknown>): Promise<Response> {
  const { statusCode, ...json } = (await handlers[op](body, lambdaContext())) as { statusCode?: number };
  return { statusCode: statusCode ?? 200, json };
}

/** A KubeStash BackupStorage on a local volume. */
function local(
  mountPath: string,
  subPath?: string,
  options: Record<string, unknown> = {},
  namespace = 'demo',
): Record<string, unknown> {
  return {
    storage: {
      apiVersion: 'storage.kubestash.com/v1alpha1',
      kind: 'BackupStorage',
      metadata: { name: 'local-storage', namespace },
      spec: {
        storage: {
          provider: 'local',
          local: { mountPath, ...(subPath ? { subPath } : {}), persistentVolumeClaim: { claimName: 'pvc' } },
        },
      },
    },
    options,
  };
}

const condition = (json: any, type: string) =>
  (json.status.conditions as { type: string; status: string; reason: string; hint?: string }[]).find(
    (c) => c.type === type,
  );
const failed = (json: any) =>
  (json.status.conditions as { status: string; reason: string }[]).filter((c) => c.status === 'False');

describe('deployed stage without LOCAL_VOLUME_ROOT: local storages are refused', () => {
  beforeAll(() =>
    coldStart({ BSF_STAGE: 'prod', LOCAL_VOLUME_ROOT: undefined, LOCAL_SUBPATH_TEMPLATE: undefined }),
  );

  it('inventory of mountPath=/etc over HTTP: a condition naming LOCAL_VOLUME_ROOT, 0 entries listed', async () => {
    const { statusCode, json } = await http('inventory', local('/etc'));
    expect(statusCode).toBe(200);
    expect(json.status.phase).toBe('NotReady');
    expect(condition(json, 'BackendReachable')).toMatchObject({
      status: 'False',
      reason: 'InvalidConfig',
      hint: expect.stringMatching(/LOCAL_VOLUME_ROOT/),
    });
    expect(json.status.repositories ?? []).toEqual([]);
    expect(json.inventory?.objects ?? 0).toBe(0);
    expect(JSON.stringify(json)).not.toMatch(/passwd|hostname|fstab/);
  });

  it.each([
    ['check (write probe)', 'check', {}],
    ['initialize with createBucket', 'initialize', { createBucket: true }],
    ['inventory', 'inventory', {}],
  ] as const)(
    'direct %s aimed at a directory outside: nothing created, deleted or listed',
    async (_, op, options) => {
      const before = await snapshot(outside);
      for (const subPath of [undefined, 'nested', 'fresh']) {
        const { statusCode, json } = await direct(op, { ...local(outside, subPath, options), tenant: 'a' });
        expect(statusCode).toBe(200);
        expect(json.status.phase).toBe('NotReady');
        expect(condition(json, 'BackendReachable')?.reason).toBe('InvalidConfig');
        expect(JSON.stringify(json)).not.toMatch(OUTSIDE_NAMES);
      }
      expect(await snapshot(outside)).toEqual(before);
    },
  );
});

describe('deployed stage with LOCAL_VOLUME_ROOT and LOCAL_SUBPATH_TEMPLATE={tenant}/{namespace}', () => {
  const areaA = join(volume, 'a', 'demo');
  const areaB = join(volume, 'b', 'demo');
  beforeAll(async () => {
    await coldStart({
      BSF_STAGE: 'prod',
      LOCAL_VOLUME_ROOT: volume,
      LOCAL_SUBPATH_TEMPLATE: '{tenant}/{namespace}',
    });
    await mkdir(areaA, { recursive: true });
    await mkdir(areaB, { recursive: true });
  });

  it('legitimate use: initialize, check and inventory are Ready under <volume>/<tenant>/<namespace>, mountPath ignored', async () => {
    const initialized = await http('initialize', local('/etc', 'legit', { createBucket: true }));
    expect(initialized.statusCode).toBe(200);
    expect(initialized.json.status.phase, JSON.stringify(initialized.json.status.conditions)).toBe('Ready');
    expect(await readFile(join(areaA, 'legit', 'metadata.yaml'), 'utf8')).toMatch(
      /BackupStorage\/demo\/local-storage/,
    );
    const checked = await http('check', local('/etc', 'legit'));
    expect(checked.json.status.phase, JSON.stringify(checked.json.status.conditions)).toBe('Ready');
    const listed = await http('inventory', local('/etc', 'legit'));
    expect(listed.json.status.phase).toBe('Ready');
    expect(JSON.stringify(listed.json)).not.toMatch(/passwd|hostname|fstab/);
  });

  it('inventory with mountPath=/etc and no subPath lists the tenant’s own directory, never /etc', async () => {
    const { json } = await http('inventory', local('/etc'));
    expect(json.status.phase).toBe('Ready');
    expect(JSON.stringify(json)).not.toMatch(/passwd|hostname|fstab/);
  });

  it.each([
    ['initialize with createBucket', 'initialize', { createBucket: true }],
    ['check (write probe)', 'check', {}],
    ['inventory', 'inventory', {}],
  ] as const)(
    'a symlink in subPath leading outside: %s writes, deletes and lists nothing there',
    async (_, op, options) => {
      await symlink(outside, join(areaA, `escape-${op}`));
      await symlink(join(outside, 'missing'), join(areaA, `dangling-${op}`));
      const before = await snapshot(outside);
      for (const subPath of [
        `escape-${op}`,
        `escape-${op}/nested`,
        `escape-${op}/new/deeper`,
        `dangling-${op}`,
      ]) {
        const { statusCode, json } = await http(op, local('/ignored', subPath, options));
        expect(statusCode).toBe(200);
        expect(json.status.phase, subPath).toBe('NotReady');
        expect(
          failed(json).map((c) => c.reason),
          subPath,
        ).toEqual(expect.arrayContaining([expect.stringMatching(/^(PermissionDenied|InvalidConfig)$/)]));
        expect(JSON.stringify(json)).not.toMatch(OUTSIDE_NAMES);
      }
      expect(await snapshot(outside)).toEqual(before);
    },
  );

  it('a storage swapped for a symlink between two invocations: the next initialize and check touch nothing outside', async () => {
    const first = await http('initialize', local('/ignored', 'later', { createBucket: true }));
    expect(first.json.status.phase).toBe('Ready');
    await rename(join(areaA, 'later'), join(areaA, 'later-moved'));
    await symlink(outside, join(areaA, 'later'));
    const before = await snapshot(outside);
    for (const op of ['initialize', 'check', 'inventory'] as const) {
      const { json } = await http(op, local('/ignored', 'later', { createBucket: op === 'initialize' }));
      expect(json.status.phase, op).toBe('NotReady');
    }
    expect(await snapshot(outside)).toEqual(before);
  });

  it('`..` in subPath is a 400 naming the field; nothing is written anywhere', async () => {
    const before = await snapshot(volume);
    for (const subPath of ['../../b/demo/legit', 'legit/../../..', '..']) {
      const { statusCode, json } = await http(
        'initialize',
        local('/ignored', subPath, { createBucket: true }),
      );
      expect(statusCode, subPath).toBe(400);
      expect(json.error.issues.map((issue: { path: string }) => issue.path)).toContain(
        'storage.spec.storage.local.subPath',
      );
    }
    expect(await snapshot(volume)).toEqual(before);
  });

  it('tenants sharing the volume: a’s demo and b’s demo are separate directories, and b cannot reach a’s', async () => {
    const a = await http('initialize', local('/ignored', 'shared', { createBucket: true }));
    const b = await http('initialize', local('/ignored', 'shared', { createBucket: true }), 'cluster-b');
    expect([a.json.status.phase, b.json.status.phase]).toEqual(['Ready', 'Ready']);
    expect(
      a.json.status.conditions.find((c: { type: string }) => c.type === 'BackendInitialized').message,
    ).not.toMatch(/already/);
    expect(
      b.json.status.conditions.find((c: { type: string }) => c.type === 'BackendInitialized').message,
    ).not.toMatch(/already/);
    // Both wrote their own marker (neither found the other's): two directories, one per tenant.
    expect(await readFile(join(areaA, 'shared', 'metadata.yaml'), 'utf8')).toMatch(/local-storage/);
    expect(await readFile(join(areaB, 'shared', 'metadata.yaml'), 'utf8')).toMatch(/local-storage/);

    // b plants links to a's directory (inside the volume, outside b's own directory) and to the volume root.
    await symlink(join(areaA, 'legit'), join(areaB, 'steal'));
    await symlink(volume, join(areaB, 'volume-root'));
    const beforeA = await snapshot(areaA);
    for (const subPath of ['steal', 'volume-root', 'volume-root/a/demo/legit']) {
      for (const op of ['check', 'inventory', 'initialize'] as const) {
        const { json } = await http(
          op,
          local('/ignored', subPath, { createBucket: op === 'initialize' }),
          'cluster-b',
        );
        expect(json.status.phase, `${op} ${subPath}`).toBe('NotReady');
        expect(failed(json).length, `${op} ${subPath}`).toBeGreaterThan(0);
        // Nothing of a's marker is read back (its owner line, "already initialized").
        expect(JSON.stringify(json), `${op} ${subPath}`).not.toMatch(
          /owner|already|Inventoried \d+ objects: [1-9]/,
        );
      }
    }
    expect(await snapshot(areaA)).toEqual(beforeA);
  });

  it('a namespace gets its own directory within the tenant’s', async () => {
    const { json } = await http('initialize', local('/ignored', 'shared', { createBucket: true }, 'team-x'));
    expect(json.status.phase).toBe('Ready');
    expect(await readFile(join(volume, 'a', 'team-x', 'shared', 'metadata.yaml'), 'utf8')).toMatch(
      /BackupStorage\/team-x\/local-storage/,
    );
  });

  it('a direct invoke without the tenant the template needs is refused with a hint, and writes nothing', async () => {
    const before = await snapshot(volume);
    const { statusCode, json } = await direct(
      'initialize',
      local('/ignored', 'no-tenant', { createBucket: true }),
    );
    expect(statusCode).toBe(200);
    expect(condition(json, 'BackendReachable')).toMatchObject({
      status: 'False',
      reason: 'InvalidConfig',
      hint: expect.stringMatching(/tenant/),
    });
    expect(await snapshot(volume)).toEqual(before);
    const named = await direct('initialize', {
      ...local('/ignored', 'with-tenant', { createBucket: true }),
      tenant: 'b',
    });
    expect(named.json.status.phase).toBe('Ready');
    expect(await readFile(join(areaB, 'with-tenant', 'metadata.yaml'), 'utf8')).toMatch(/local-storage/);
  });
});

describe('a link swapped in after the store opened (every call checks, not only opening)', () => {
  const area = join(volume, 'a', 'swap');
  const context = (): StoreContext => ({
    credentials: SecretBag.empty('credential-less'),
    localVolumeRoot: volume,
    localSubPathTemplate: '{tenant}/{namespace}',
    requireLocalVolumeRoot: true,
    scope: { namespace: 'swap', tenant: 'a' },
  });
  const backend = (subPath: string): LocalBackend => ({ provider: 'local', mountPath: '/etc', subPath });

  it('the storage root becomes a link outside: every call is refused, nothing outside changes', async () => {
    await mkdir(join(area, 'root'), { recursive: true });
    const store = await openStore(backend('root'), context());
    await store.put('metadata.yaml', Buffer.from('mine'));
    expect((await store.list('')).objects.map((o) => o.key)).toEqual(['metadata.yaml']);

    await rename(join(area, 'root'), join(area, 'root-moved'));
    await symlink(outside, join(area, 'root'));
    const before = await snapshot(outside);
    const calls: [string, () => Promise<unknown>][] = [
      ['bucketExists', () => store.bucketExists()],
      ['createBucket', () => store.createBucket()],
      ['list', () => store.list('')],
      ['stat', () => store.stat('secret.txt')],
      ['get', () => store.get('secret.txt')],
      ['get nested', () => store.get('nested/passwd')],
      ['put', () => store.put('metadata.yaml', Buffer.from('planted'))],
      ['put create', () => store.put('new/object', Buffer.from('planted'), { ifNotExists: true })],
      ['delete', () => store.delete('secret.txt')],
    ];
    for (const [name, call] of calls) {
      await expect(call(), name).rejects.toMatchObject({ code: 'PermissionDenied', provider: 'local' });
    }
    expect(await snapshot(outside)).toEqual(before);
  });

  it('a directory inside the storage becomes a link outside, or an object becomes a link: refused', async () => {
    await mkdir(join(area, 'inner'), { recursive: true });
    const store = await openStore(backend('inner'), context());
    await store.put('keys/first', Buffer.from('key'));
    await rename(join(area, 'inner', 'keys'), join(area, 'inner', 'keys-moved'));
    await symlink(outside, join(area, 'inner', 'keys'));
    await symlink(join(outside, 'secret.txt'), join(area, 'inner', 'object-link'));
    const before = await snapshot(outside);

    await expect(store.get('keys/secret.txt')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(store.put('keys/second', Buffer.from('key'))).rejects.toMatchObject({
      code: 'PermissionDenied',
    });
    await expect(store.delete('keys/secret.txt')).rejects.toMatchObject({ code: 'PermissionDenied' });
    await expect(store.list('keys/')).rejects.toMatchObject({ code: 'PermissionDenied' });
    // The last name is never followed: a link is not an object, wherever it points.
    await expect(store.get('object-link')).rejects.toMatchObject({ code: 'InvalidConfig' });
    await expect(store.stat('object-link')).rejects.toMatchObject({ code: 'InvalidConfig' });
    const listed = await store.list('', { delimiter: '/' });
    expect([...listed.objects.map((o) => o.key), ...listed.prefixes]).toEqual(['keys-moved/']);
    await store.delete('object-link');
    expect(await snapshot(outside)).toEqual(before);
  });
});

describe('workstation stage (local) without LOCAL_VOLUME_ROOT', () => {
  let mountPath: string;
  beforeAll(async () => {
    await coldStart({ BSF_STAGE: 'local', LOCAL_VOLUME_ROOT: undefined, LOCAL_SUBPATH_TEMPLATE: undefined });
    mountPath = await mkdtemp(join(tmpdir(), 'bsf-attack-workstation-'));
  });

  it('mountPath is the volume root, as today: initialize and check are Ready', async () => {
    const initialized = await direct(
      'initialize',
      local(mountPath, 'demo/local-storage', { createBucket: true }),
    );
    expect(initialized.json.status.phase).toBe('Ready');
    expect(await readFile(join(mountPath, 'demo', 'local-storage', 'metadata.yaml'), 'utf8')).toMatch(
      /local-storage/,
    );
    const checked = await direct('check', local(mountPath, 'demo/local-storage'));
    expect(checked.json.status.phase).toBe('Ready');
  });

  it('a symlink in subPath still cannot lead out of mountPath', async () => {
    await symlink(outside, join(mountPath, 'escape'));
    const before = await snapshot(outside);
    for (const op of ['initialize', 'check'] as const) {
      const { json } = await direct(op, local(mountPath, 'escape', { createBucket: true }));
      expect(json.status.phase, op).toBe('NotReady');
    }
    expect(await snapshot(outside)).toEqual(before);
  });
});

describe('LOCAL_SUBPATH_TEMPLATE expansion', () => {
  it('puts the scope’s tenant and namespace in, as path segments', () => {
    expect(expandSubPathTemplate('{tenant}/{namespace}', { namespace: 'demo', tenant: 'a' })).toEqual([
      'a',
      'demo',
    ]);
    expect(expandSubPathTemplate('volumes/ns-{namespace}/', { namespace: 'demo' })).toEqual([
      'volumes',
      'ns-demo',
    ]);
  });

  it.each([
    ['a template needing a tenant the scope lacks', '{tenant}/{namespace}', { namespace: 'demo' }, /tenant/],
    ['no scope at all', '{namespace}', undefined, /namespace/],
    ['an unknown placeholder', '{cluster}/{namespace}', { namespace: 'demo', tenant: 'a' }, /\{cluster\}/],
    ['a namespace that is not a DNS name', '{namespace}', { namespace: '..' }, /not a DNS name/],
    ['a namespace with a slash', '{namespace}', { namespace: 'a/b' }, /not a DNS name/],
    ['`..` in the template', '{namespace}/..', { namespace: 'demo' }, /\.\./],
    ['an absolute template', '/{namespace}', { namespace: 'demo' }, /absolute/],
  ])('refuses %s', (_, template, scope, message) => {
    expect(() => expandSubPathTemplate(template, scope)).toThrow(
      expect.objectContaining({ code: 'InvalidConfig', message: expect.stringMatching(message) }),
    );
  });
});
