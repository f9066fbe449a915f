/**
 * Builds dist/bsf.mjs, the bundle an installed bsf runs (bin/bsf.mjs), before `npm pack`. Packages stay
 * imports (the package's dependencies are installed with it); our TypeScript is compiled in.
 */
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./bsf.ts', import.meta.url).pathname],
  outfile: new URL('../dist/bsf.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
