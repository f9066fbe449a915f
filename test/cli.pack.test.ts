/**
 * bsf as a package: `npm pack` builds the bundle (prepack: cli/build.mjs), the tarball holds the bin and
 * dist/ but no TypeScript, and `npm i -g` of it into a fresh prefix gives a `bsf` that checks a storage.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from './support/cli.js';

let bin: string;
let files: string[];

beforeAll(async () => {
  const work = await mkdtemp(join(tmpdir(), 'bsf-pack-'));
  const packed = await run('npm', ['pack', '--pack-destination', work, '--silent']);
  expect(packed.code, packed.stderr).toBe(0);
  const [tarball] = (await readdir(work)).filter((name) => name.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const listing = await run('tar', ['-tzf', join(work, tarball as string)]);
  files = listing.stdout.trim().split('\n');
  const prefix = join(work, 'prefix');
  const installed = await run('npm', [
    'install',
    '--global',
    '--prefix',
    prefix,
    join(work, tarball as string),
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
  ]);
  expect(installed.code, installed.stderr).toBe(0);
  bin = join(prefix, 'bin', 'bsf');
}, 300_000);

describe('npm pack, then npm i -g', () => {
  it('packs the executable and its bundle, not the sources', () => {
    expect(files).toContain('package/bin/bsf.mjs');
    expect(files).toContain('package/dist/bsf.mjs');
    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);
  });

  it('the installed bsf initializes and checks a storage: exit 0, Ready', async () => {
    const volume = await mkdtemp(join(tmpdir(), 'bsf-pack-volume-'));
    const env = { env: { LOCAL_VOLUME_ROOT: volume } };
    const initialized = await run(
      bin,
      ['initialize', 'events/local/initialize.json', '--output', 'json'],
      env,
    );
    expect(initialized.code, initialized.stderr).toBe(0);
    const checked = await run(bin, ['check', 'events/local/check.json'], env);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/^✔ Ready/m);
    expect((await run(bin, ['--version'])).stdout).toMatch(/^bsf \d/);
  });
});
