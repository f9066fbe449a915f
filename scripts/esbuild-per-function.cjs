'use strict';
/**
 * esbuild plugins for serverless-esbuild (custom.esbuild.plugins). serverless-esbuild builds each handler
 * on its own (splitting: its lazy chunks beside it) but into one shared directory, so with
 * `package.individually` every function's zip would carry every other function's chunks too. When
 * packaging, each handler's build goes to `__only_<function>/` instead, the directory serverless-esbuild
 * zips into that function's package alone (prefix removed): a zip holds its handler and exactly the chunks
 * that build wrote, named .mjs (ESM by name). `invoke local` and `offline` keep the shared .js layout they
 * load handlers from.
 */
const { readFile, rm } = require('node:fs/promises');
const { dirname, join, resolve } = require('node:path');

const PACKAGING_COMMANDS = new Set(['package', 'deploy']);
/** `from "./chunk-X.mjs"`, `import "./x.mjs"`, `import("./x.mjs")` in esbuild's output. */
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+\.m?js)["']/g;

module.exports = (serverless) => {
  const [command] = serverless.processedInput?.commands ?? [];
  if (!serverless.service.package?.individually || !PACKAGING_COMMANDS.has(command)) return [];
  // `functions/check.handler` → entry `functions/check` → function name(s).
  const byEntry = new Map();
  for (const [name, fn] of Object.entries(serverless.service.functions ?? {})) {
    const entry = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
    byEntry.set(entry, [...(byEntry.get(entry) ?? []), name]);
  }
  return [
    {
      name: 'per-function-outdir',
      setup(build) {
        const options = build.initialOptions;
        const [entryPoint] = options.entryPoints;
        const entry = String(entryPoint).replace(/\.[cm]?[jt]s$/, '');
        const names = byEntry.get(entry) ?? [];
        if (names.length !== 1)
          throw new Error(
            `${entry}: packaged individually, a handler file must belong to exactly one function`,
          );
        // outdir is <build dir>/<dir of entry>; the function's own tree mirrors it.
        const dir = dirname(entry);
        const buildDir = dir === '.' ? options.outdir : options.outdir.slice(0, -(dir.length + 1));
        options.outdir = join(buildDir, `__only_${names[0]}`, dir);
        // Lambda reads a .js handler as CommonJS unless a package.json beside it says otherwise.
        if (options.format === 'esm') options.outExtension = { ...options.outExtension, '.js': '.mjs' };
        // esbuild may write a chunk whose only import was shaken out; nothing can load it, so it is removed.
        // What can load is what the written code imports (statically or with import()), from the handler on.
        options.metafile = true;
        build.onEnd(async (result) => {
          if (result.errors.length > 0 || !result.metafile) return;
          const cwd = options.absWorkingDir ?? process.cwd();
          const outputs = Object.keys(result.metafile.outputs).map((output) => resolve(cwd, output));
          const pending = Object.entries(result.metafile.outputs)
            // Chunks reached by import() are entry points of their own in the metafile: start at the handler.
            .filter(
              ([, output]) =>
                output.entryPoint && resolve(cwd, output.entryPoint) === resolve(cwd, entryPoint),
            )
            .map(([path]) => resolve(cwd, path));
          const reachable = new Set();
          while (pending.length > 0) {
            const file = pending.pop();
            if (reachable.has(file)) continue;
            reachable.add(file);
            for (const match of (await readFile(file, 'utf8')).matchAll(RELATIVE_IMPORT)) {
              const imported = resolve(dirname(file), match[1]);
              // Only this build's files: bundled text may quote a path that merely looks like an import.
              if (outputs.includes(imported)) pending.push(imported);
            }
          }
          await Promise.all(
            outputs.filter((file) => !reachable.has(file)).map((file) => rm(file, { force: true })),
          );
        });
      },
    },
  ];
};
