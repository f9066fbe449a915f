/**
 * bsf inventory on a 10,000-object storage: exact totals, a live progress line on a terminal (under a
 * pseudo-terminal from util-linux `script`), none off a terminal, and a final summary line either way
 * whose list-call count is the result's (progress lines once said `listCalls: 0`).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../lib/inventory/size-format.js';
import { BSF, bsf, run } from './support/cli.js';

const DIRECTORIES = 100;
const PER_DIRECTORY = 100;
/** The repository's marker, and 9,999 data objects beside it: 10,000 objects. */
const REPOSITORY_YAML =
  'apiVersion: storage.kubestash.com/v1alpha1\nkind: Repository\nmetadata: { name: repo-a, namespace: demo }\nspec: { path: /repo-a }\n';
const OBJECTS = DIRECTORIES * PER_DIRECTORY;
const OBJECT_BYTES = 10;
const BYTES = (OBJECTS - 1) * OBJECT_BYTES + REPOSITORY_YAML.length;
/** As KubeStash writes sizes (`97.7 KiB` style, three decimals), escaped for a pattern. */
const size = formatBytes(BYTES).replace('.', '\\.');
const pattern = (text: string): RegExp => new RegExp(text);

let volume: string;
let requestFile: string;

/** A BackupStorage with one KubeStash repository holding 10,000 objects (100 directories). */
beforeAll(async () => {
  volume = await mkdtemp(join(tmpdir(), 'bsf-cli-progress-'));
  const repository = join(volume, 'demo', 'big', 'repo-a');
  await mkdir(repository, { recursive: true });
  await writeFile(join(repository, 'repository.yaml'), REPOSITORY_YAML);
  for (let dir = 0; dir < DIRECTORIES; dir += 1) {
    const path = join(repository, 'data', dir.toString(16).padStart(2, '0'));
    await mkdir(path, { recursive: true });
    await Promise.all(
      Array.from({ length: dir === 0 ? PER_DIRECTORY - 1 : PER_DIRECTORY }, (_, index) =>
        writeFile(join(path, `object-${index}`), 'x'.repeat(OBJECT_BYTES)),
      ),
    );
  }
  requestFile = join(volume, 'inventory.yaml');
  await writeFile(
    requestFile,
    [
      'apiVersion: storage.kubestash.com/v1alpha1',
      'kind: BackupStorage',
      'metadata: { name: big, namespace: demo }',
      'spec:',
      '  storage:',
      '    provider: local',
      '    local: { mountPath: /safe/data, subPath: demo/big }',
      '  deletionPolicy: WipeOut',
      '',
    ].join('\n'),
  );
}, 120_000);

const env = () => ({ env: { LOCAL_VOLUME_ROOT: volume } });

describe('bsf inventory on 10,000 objects', () => {
  it('off a terminal: exact totals in the JSON result, no live line, one summary line with the same list calls', async () => {
    const result = await bsf(['inventory', requestFile, '--output', 'json'], env());
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as {
      inventory: { complete: boolean; objects: number; bytes: number; listCalls: number };
    };
    expect(document.inventory).toMatchObject({ complete: true, objects: OBJECTS, bytes: BYTES });
    expect(result.stderr).not.toContain('\r');
    const summary = result.stderr.trimEnd().split('\n');
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatch(
      new RegExp(
        `^inventory: 10,000 objects, ${size} listed, ${document.inventory.listCalls} list calls .* in \\d`,
      ),
    );
    expect(document.inventory.listCalls).toBeGreaterThan(DIRECTORIES);
  });

  it('on a terminal: the progress line is drawn in place, then the summary and the table', async () => {
    const command = [process.execPath, BSF, 'inventory', requestFile].map((part) => `'${part}'`).join(' ');
    const result = await run('script', ['-qefc', command, '/dev/null'], env());
    expect(result.code, result.stdout).toBe(0);
    const screen = result.stdout;
    // Redrawn in place: carriage return and erase-line before each state of the line.
    const redraws = screen.split('\r\x1b[2K').slice(1);
    expect(redraws.length).toBeGreaterThanOrEqual(1);
    expect(redraws[0]).toMatch(/^inventory: [\d,]+ objects, .* listed, [\d,]+ list calls/);
    expect(screen).toMatch(
      pattern(`inventory: 10,000 objects, ${size} listed, [\\d,]+ list calls .* in \\d`),
    );
    expect(screen).toMatch(pattern(`inventory: 10,000 objects, ${size} in 1 repository`));
    expect(screen).toMatch(pattern(`✔ +/repo-a +kubestash +10,000 objects +${size}`));
  });

  it('--no-progress on a terminal keeps only the summary line', async () => {
    const command = [process.execPath, BSF, 'inventory', requestFile, '--no-progress']
      .map((part) => `'${part}'`)
      .join(' ');
    const result = await run('script', ['-qefc', command, '/dev/null'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\x1b[2K');
    expect(result.stdout).toMatch(pattern(`inventory: 10,000 objects, ${size} listed`));
  });

  it('bsf fleet on a terminal shows storages done of the total, then the summary', async () => {
    const command = [process.execPath, BSF, 'fleet', 'events/local/fleet.yaml']
      .map((part) => `'${part}'`)
      .join(' ');
    const result = await run('script', ['-qefc', command, '/dev/null'], env());
    // One of the two demo storages is never initialized: NotReady, exit 1.
    expect(result.code).toBe(1);
    const redraws = result.stdout.split('\r\x1b[2K').slice(1);
    expect(redraws[0]).toMatch(/^fleet: 0\/2 storages checked/);
    expect(result.stdout).toMatch(/fleet: 2\/2 storages checked .* in \d/);
  });
});
