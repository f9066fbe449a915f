/**
 * The deployment package, not the sources: every function's zip holds its handler and exactly the chunks
 * it can load, and initialize then check run from the unpacked zips (fresh Node processes, the template's
 * environment) against every provider's server the suite starts.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { artifact, invoke, type Artifact, type PackagedFunction } from './support/artifact.js';
import { freshLocation, secretDir, TARGETS } from './support/hardening-targets.js';
import { serverInfo } from './support/servers.js';

let packaged: Artifact;
beforeAll(async () => {
  packaged = await artifact();
}, 300_000);

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+\.mjs)["']/g;

/** Every file the handler can load: its static and dynamic relative imports, followed to the end. */
async function reachable(fn: PackagedFunction): Promise<string[]> {
  const seen = new Set<string>();
  const pending = [fn.file];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    const local = normalize(file.slice(fn.root.length + 1));
    if (seen.has(local)) continue;
    seen.add(local);
    for (const match of (await readFile(file, 'utf8')).matchAll(IMPORT))
      pending.push(join(dirname(file), match[1] as string));
  }
  return [...seen].sort();
}

describe('the packaged functions (serverless package, one zip per function)', () => {
  it('packages every function of serverless.yml, each with its handler and only the chunks it can load', async () => {
    const declared = parse(await readFile('serverless.yml', 'utf8')) as {
      functions: Record<string, unknown>;
    };
    expect(Object.keys(packaged.functions).sort()).toEqual(Object.keys(declared.functions).sort());
    for (const fn of Object.values(packaged.functions)) {
      expect(fn.file.endsWith(`functions/${fn.name}.mjs`)).toBe(true);
      expect(fn.files).toEqual(await reachable(fn));
      // The provider SDKs stay lazy chunks, and no other function's handler rides along.
      expect(fn.files.filter((file) => /^functions\/[a-zA-Z]+\.mjs$/.test(file))).toEqual([
        `functions/${fn.name}.mjs`,
      ]);
    }
  });

  it('runs initialize and check from the unpacked zips on a local volume', async () => {
    const volume = await mkdtemp(join(tmpdir(), 'bsf-artifact-local-'));
    const event = JSON.parse(await readFile('events/local/initialize.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const env = { LOCAL_VOLUME_ROOT: volume };
    const initialized = await invoke(packaged.functions.initialize as PackagedFunction, event, env);
    expect(initialized.error).toBeUndefined();
    expect(initialized.result.status.phase).toBe('Ready');
    const checked = await invoke(
      packaged.functions.check as PackagedFunction,
      JSON.parse(await readFile('events/local/check.json', 'utf8')),
      env,
    );
    expect(checked.result).toMatchObject({ operation: 'check', status: { phase: 'Ready' } });
  });

  for (const target of TARGETS) {
    it(`runs initialize and check from the unpacked zips on ${target.provider} (${target.server})`, async () => {
      const credentials = await secretDir(target.secrets(), `artifact-${target.provider}`);
      const request = target.request(freshLocation(`art-${target.provider}`), credentials);
      const env = { ALLOW_PRIVATE_ENDPOINTS: 'loopback' };
      const initialized = await invoke(packaged.functions.initialize as PackagedFunction, request, env);
      expect(initialized.error).toBeUndefined();
      expect(initialized.result.operation).toBe('initialize');
      expect(initialized.result.status.phase).toBe('Ready');
      const { createBucket: _create, ...options } = request.options as Record<string, unknown>;
      const checked = await invoke(
        packaged.functions.check as PackagedFunction,
        { ...request, options },
        env,
      );
      expect(checked.result.storage.provider).toBe(target.provider);
      expect(checked.result.status.phase).toBe('Ready');
    });
  }

  it('runs initialize and check from the unpacked zips on a restic REST server (rest-fake)', async () => {
    const rest = serverInfo('rest-fake');
    const credentials = await secretDir(
      {
        REST_SERVER_USERNAME: rest.username as string,
        REST_SERVER_PASSWORD: rest.password as string,
        RESTIC_PASSWORD: 'artifact-rest-password',
      },
      'artifact-rest',
    );
    const request = {
      storage: {
        apiVersion: 'stash.appscode.com/v1alpha1',
        kind: 'Repository',
        metadata: { name: 'rest-repo', namespace: 'demo' },
        spec: {
          backend: {
            rest: { url: new URL(`/artifact/${freshLocation('rest').bucket}`, rest.endpoint).href },
            storageSecretName: 'rest-secret',
          },
        },
      },
      credentials,
    };
    const env = { ALLOW_PRIVATE_ENDPOINTS: 'loopback' };
    const initialized = await invoke(packaged.functions.initialize as PackagedFunction, request, env);
    expect(initialized.error).toBeUndefined();
    expect(initialized.result.status.phase).toBe('Ready');
    const checked = await invoke(packaged.functions.check as PackagedFunction, request, env);
    expect(checked.result.storage.provider).toBe('rest');
    expect(checked.result.status.phase).toBe('Ready');
  });
});
