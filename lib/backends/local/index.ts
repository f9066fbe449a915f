/**
 * A directory on a mounted volume (EFS in Lambda): the store (store.ts) on node:fs.
 * The registry (../registry.ts) loads this module lazily, so a cold start pays only for the provider in use.
 */
export { createStore } from './store.js';
