/**
 * The house's boundaries (docs/architecture.md): no import circles in lib/, between files or between
 * folders, the lint layer rules fire on a forbidden import, and no logic is copied between adapters.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { cycles, fileGraph, folderGraph, importSpecifiers, type Graph } from './support/import-graph.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const lib = fileURLToPath(new URL('../lib', import.meta.url));

describe('import graph of lib/', () => {
  const files = fileGraph(lib);

  it('reads every kind of import the code uses', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { b } from '../b.js';",
      "export { c } from './c.js';",
      "import './side-effect.js';",
      "const d = () => import('./d/index.js');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual([
      './a.js',
      '../b.js',
      './c.js',
      './side-effect.js',
      './d/index.js',
      'zod',
    ]);
  });

  it('finds a circle when there is one (the walker is not blind)', () => {
    const graph: Graph = new Map([
      ['a/x.ts', new Set(['b/y.ts'])],
      ['b/y.ts', new Set(['a/z.ts'])],
      ['a/z.ts', new Set<string>()],
    ]);
    expect(cycles(graph)).toEqual([]);
    expect(cycles(folderGraph(graph))).toEqual([['a', 'b']]);
    graph.get('a/z.ts')?.add('a/x.ts');
    expect(cycles(graph)).toEqual([['a/x.ts', 'a/z.ts', 'b/y.ts']]);
  });

  it('covers the providers the registry loads', () => {
    expect(files.get('backends/registry.ts')).toContain('backends/s3/index.ts');
    expect(files.get('backends/registry.ts')).toContain('backends/rest/index.ts');
  });

  it('has no file-level circles', () => {
    expect(cycles(files)).toEqual([]);
  });

  it('has no folder-level circles', () => {
    expect(cycles(folderGraph(files))).toEqual([]);
  });
});

describe('layer rules (eslint.config.js)', () => {
  const eslint = new ESLint({ cwd: root });
  const lint = async (filePath: string, code: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code, { filePath });
    return (result?.messages ?? [])
      .filter((message) => message.ruleId === 'no-restricted-imports')
      .map((message) => message.message);
  };

  it('refuses lib/operations in lib/backends', async () => {
    const messages = await lint(
      'lib/backends/fixture.ts',
      "import { check } from '../operations/check.js';\nexport const used = check;\n",
    );
    expect(messages).toEqual([expect.stringContaining('may not import operations/')]);
  });

  it('refuses status, delivery and fleet in a provider folder', async () => {
    const messages = await lint(
      'lib/backends/s3/fixture.ts',
      [
        "import { sanitizeText } from '../../status/conditions.js';",
        "import { deliverResult } from '../../delivery/deliver.js';",
        "import { runFleet } from '../../fleet/run.js';",
        'export const used = [sanitizeText, deliverResult, runFleet];',
      ].join('\n'),
    );
    expect(messages).toHaveLength(3);
  });

  it('refuses backends in config, operations in restic, and the handlers or the CLI anywhere in lib', async () => {
    expect(await lint('lib/config/fixture.ts', "export * from '../backends/registry.js';\n")).toHaveLength(1);
    expect(await lint('lib/restic/fixture.ts', "export * from '../operations/run.js';\n")).toHaveLength(1);
    expect(await lint('lib/fleet/fixture.ts', "export * from '../../functions/check.js';\n")).toHaveLength(1);
    expect(await lint('lib/inventory/fixture.ts', "export * from '../../cli/invoke.js';\n")).toHaveLength(1);
    expect(await lint('lib/runtime/fixture.ts', "export * from '../net/endpoint-guard.js';\n")).toHaveLength(
      1,
    );
  });

  it('lets the handlers import lib, and a provider import the contract and the runtime', async () => {
    expect(await lint('functions/fixture.ts', "export * from '../lib/operations/run.js';\n")).toEqual([]);
    expect(
      await lint(
        'lib/backends/s3/fixture.ts',
        "export * from '../object-store.js';\nexport * from '../../runtime/retry.js';\nexport * from '../../net/endpoint-guard.js';\n",
      ),
    ).toEqual([]);
  });
});

/**
 * Near-copies, found by jscpd (exact token runs of 70 tokens and more, about ten lines of logic).
 * Smaller runs are the ObjectStore method signatures every adapter has; the old REST and Swift stores
 * (three copied request/response runs) and S3/Swift claim listings were above it.
 */
describe('near-copies in lib/backends (jscpd)', () => {
  const jscpd = join(root, 'node_modules', '.bin', 'jscpd');
  const clonesIn = async (dir: string): Promise<string[]> => {
    const output = await mkdtemp(join(tmpdir(), 'bsf-jscpd-'));
    try {
      await promisify(execFile)(
        jscpd,
        [
          dir,
          '--min-tokens',
          '70',
          '--min-lines',
          '6',
          '--format',
          'typescript',
          '--reporters',
          'json',
          '--output',
          output,
        ],
        { timeout: 60_000 },
      );
      const report = JSON.parse(await readFile(join(output, 'jscpd-report.json'), 'utf8')) as {
        duplicates: {
          firstFile: { name: string; start: number };
          secondFile: { name: string; start: number };
        }[];
      };
      return report.duplicates.map(
        ({ firstFile: a, secondFile: b }) => `${a.name}:${a.start} ~ ${b.name}:${b.start}`,
      );
    } finally {
      await rm(output, { recursive: true, force: true });
    }
  };

  it('finds a method copied into another adapter (the finder is not blind)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bsf-copies-'));
    try {
      const swift = await readFile(join(lib, 'backends', 'swift', 'store.ts'), 'utf8');
      const bulkDelete = swift.slice(swift.indexOf('  async deleteMany('), swift.indexOf('  async close('));
      expect(bulkDelete.split('\n').length).toBeGreaterThan(20);
      await writeFile(join(dir, 'a.ts'), `export class A {\n${bulkDelete}}\n`);
      await writeFile(join(dir, 'b.ts'), `export class B {\n  readonly other = 1;\n${bulkDelete}}\n`);
      expect(await clonesIn(dir)).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds no logic repeated in lib/backends', async () => {
    expect(await clonesIn(join(lib, 'backends'))).toEqual([]);
  });
});
