/**
 * Builds the functions the way `serverless package` does: serverless.yml's custom.esbuild options handed
 * to esbuild per handler, as serverless-esbuild does (its own plugin options removed; one entry point per
 * build; outdir under the build directory). Variants for the cold-start benchmark: with code splitting
 * forced on or off, and instrumented (every npm package records itself when its code first runs).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { parse } from 'yaml';

/** serverless-esbuild's own options, which it strips before calling esbuild (dist/bundle.js). */
const PLUGIN_OPTIONS = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  // A path serverless-esbuild loads itself: scripts/esbuild-per-function.cjs splits the packaged zips per
  // function; the bench builds the shared layout, as invoke local does.
  'plugins',
]);

export interface FunctionEntry {
  name: string;
  /** `functions/check.ts` */
  entry: string;
}

export interface ServerlessBuild {
  esbuild: BuildOptions;
  functions: FunctionEntry[];
  /** custom.esbuild as written, for the report. */
  raw: Record<string, unknown>;
}

export async function readServerlessBuild(root: string): Promise<ServerlessBuild> {
  const doc = parse(await readFile(join(root, 'serverless.yml'), 'utf8')) as {
    custom?: { esbuild?: Record<string, unknown> };
    functions?: Record<string, { handler: string }>;
  };
  const raw = doc.custom?.esbuild ?? {};
  const esbuild: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) if (!PLUGIN_OPTIONS.has(key)) esbuild[key] = value;
  const exclude = Array.isArray(raw.exclude) ? (raw.exclude as string[]) : [];
  const external = [
    ...((esbuild.external as string[] | undefined) ?? []),
    ...(exclude.includes('*') ? [] : exclude),
  ];
  if (external.length > 0) esbuild.external = external;
  else delete esbuild.external;
  const extension = typeof raw.outputFileExtension === 'string' ? raw.outputFileExtension : '.js';
  if (extension !== '.js') esbuild.outExtension = { '.js': extension };
  const functions = Object.entries(doc.functions ?? {}).map(([name, fn]) => ({
    name,
    entry: `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.ts`,
  }));
  return { esbuild: esbuild as BuildOptions, functions, raw };
}

export interface BuiltFunction extends FunctionEntry {
  /** The handler module to import. */
  file: string;
  metafile: Metafile;
}

export interface BuildVariant {
  /** Force esbuild's code splitting on or off (undefined: as serverless.yml says). */
  splitting?: boolean;
  /** Record which npm packages' code runs (globalThis.__bsfLoaded). */
  instrument?: boolean;
}

/** `node_modules/@aws-sdk/client-s3/dist-es/x.js` → `@aws-sdk/client-s3` (innermost node_modules). */
export function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = path.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

const instrumentPackages: Plugin = {
  name: 'bench-instrument-packages',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /node_modules\/.*\.(c|m)?js$/ }, async (args) => {
      const name = packageOf(args.path) ?? 'unknown';
      const source = await readFile(args.path, 'utf8');
      // A statement before the module's own code: runs when esbuild first evaluates this module.
      const marker = `globalThis.__bsfLoaded?.add(${JSON.stringify(name)});\n`;
      const shebang = source.startsWith('#!') ? source.slice(0, source.indexOf('\n') + 1) : '';
      return {
        contents: shebang + marker + source.slice(shebang.length),
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

/** Builds every function into `outRoot` (a directory with its own `package.json` saying ESM). */
export async function buildFunctions(
  root: string,
  outRoot: string,
  variant: BuildVariant = {},
  only?: string[],
): Promise<BuiltFunction[]> {
  const config = await readServerlessBuild(root);
  await mkdir(outRoot, { recursive: true });
  await writeFile(join(outRoot, 'package.json'), JSON.stringify({ type: 'module' }));
  const results: BuiltFunction[] = [];
  for (const fn of config.functions.filter((f) => !only || only.includes(f.name))) {
    const options: BuildOptions = {
      ...config.esbuild,
      absWorkingDir: root,
      entryPoints: [fn.entry],
      outdir: join(outRoot, dirname(fn.entry)),
      metafile: true,
      logLevel: 'silent',
      ...(variant.splitting !== undefined ? { splitting: variant.splitting } : {}),
      plugins: variant.instrument ? [instrumentPackages] : [],
    };
    const result = await build(options);
    const extension = (config.esbuild.outExtension as Record<string, string> | undefined)?.['.js'] ?? '.js';
    results.push({
      ...fn,
      file: join(outRoot, fn.entry.replace(/\.ts$/, extension)),
      metafile: result.metafile ?? { inputs: {}, outputs: {} },
    });
  }
  return results;
}

/** Output files of a build: the entry, and chunks loaded statically (at import) or lazily (`import()`). */
export function outputsOf(built: BuiltFunction): {
  entryBytes: number;
  staticBytes: number;
  lazyBytes: number;
  chunks: number;
} {
  const outputs = built.metafile.outputs;
  // Lazily imported modules are entry points of their own chunks too; the handler's is the one named by the entry.
  const entryKey = Object.keys(outputs).find(
    (key) => outputs[key]?.entryPoint === built.entry && key.endsWith('.js'),
  );
  if (!entryKey) return { entryBytes: 0, staticBytes: 0, lazyBytes: 0, chunks: 0 };
  const staticSet = new Set<string>([entryKey]);
  const queue = [entryKey];
  while (queue.length > 0) {
    const key = queue.pop() as string;
    for (const imported of outputs[key]?.imports ?? []) {
      if (imported.kind === 'import-statement' && outputs[imported.path] && !staticSet.has(imported.path)) {
        staticSet.add(imported.path);
        queue.push(imported.path);
      }
    }
  }
  const jsKeys = Object.keys(outputs).filter((key) => key.endsWith('.js'));
  const bytes = (keys: string[]): number => keys.reduce((sum, key) => sum + (outputs[key]?.bytes ?? 0), 0);
  return {
    entryBytes: outputs[entryKey]?.bytes ?? 0,
    staticBytes: bytes([...staticSet]),
    lazyBytes: bytes(jsKeys.filter((key) => !staticSet.has(key))),
    chunks: jsKeys.length,
  };
}

/** Bytes each npm package contributes to the build's outputs, largest first. */
export function packageBytes(built: BuiltFunction): Map<string, number> {
  const totals = new Map<string, number>();
  for (const output of Object.values(built.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input) ?? '(own code)';
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return new Map([...totals].sort((a, b) => b[1] - a[1]));
}

/** Which SDK family an npm package belongs to, for the "only the provider in use" question. */
export function sdkFamily(name: string): string | undefined {
  if (/^@aws-sdk\/client-s3$/.test(name)) return 's3';
  if (/^@aws-sdk\/client-(sqs|ssm|secrets-manager)$/.test(name))
    return `aws ${name.slice('@aws-sdk/client-'.length)}`;
  if (/^(@aws-sdk|@smithy|@aws-crypto)\//.test(name)) return 'aws (common)';
  if (/^@azure\//.test(name)) return 'azure';
  if (/^(@google-cloud\/|google-auth-library|gaxios|gcp-metadata|gtoken|google-logging-utils)/.test(name))
    return 'gcs';
  if (/^(backblaze-b2|axios)$/.test(name)) return 'b2';
  return undefined;
}
