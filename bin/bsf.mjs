#!/usr/bin/env node
// bsf: in a checkout, the TypeScript sources through tsx (always current); in an installed package,
// which ships no sources, the bundle `npm pack` built (dist/bsf.mjs, cli/build.mjs).
import { existsSync } from 'node:fs';

const sources = new URL('../cli/bsf.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/bsf.mjs', import.meta.url).href);
}
