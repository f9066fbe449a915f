import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Layer rules (docs/architecture.md): which folders a folder may not import. Each entry is one
 * `no-restricted-imports` for its files; a file matched by several entries gets the last one, so every
 * entry repeats what holds for all of lib/ (never the handlers, never the CLI).
 */
const EDGE = ['functions', 'cli'];
const LIB_FOLDERS = readdirSync(new URL('./lib', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const forbidden = (folders) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: folders.map((folder) => ({
        group: [`**/${folder}/*`, `**/${folder}/**`],
        message: `this layer may not import ${folder}/ (docs/architecture.md)`,
      })),
    },
  ],
});
const LAYERS = [
  { files: ['lib/**/*.ts'], folders: EDGE },
  // The base: the runtime knows nothing of the rest of lib/.
  {
    files: ['lib/runtime/**/*.ts'],
    folders: [...EDGE, ...LIB_FOLDERS.filter((folder) => folder !== 'runtime')],
  },
  {
    files: ['lib/config/**/*.ts'],
    folders: [
      ...EDGE,
      'backends',
      'operations',
      'restic',
      'delivery',
      'inventory',
      'status',
      'fleet',
      'results',
      'console',
      'api',
    ],
  },
  {
    files: ['lib/backends/**/*.ts'],
    folders: [
      ...EDGE,
      'operations',
      'status',
      'delivery',
      'fleet',
      'inventory',
      'restic',
      'results',
      'console',
      'api',
    ],
  },
  {
    files: ['lib/restic/**/*.ts'],
    folders: [...EDGE, 'operations', 'inventory', 'delivery', 'fleet', 'results', 'console', 'api'],
  },
  {
    files: ['lib/status/**/*.ts', 'lib/delivery/**/*.ts', 'lib/inventory/**/*.ts'],
    folders: [...EDGE, 'operations', 'fleet', 'console'],
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.esbuild/', '.serverless/', '.data/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['lib/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  // Layers: cli → functions → lib. A lower layer never imports a higher one.
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/functions/**', '**/cli/**'],
              message: 'lib/ is used by functions/ and cli/, never the reverse',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/cli/**'], message: 'functions/ are used by cli/, never the reverse' }] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...LAYERS.map(({ files, folders }) => ({ files, rules: forbidden(folders) })),
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  // serverless loads its plugins with require().
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
