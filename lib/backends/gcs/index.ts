/**
 * Google Cloud Storage: the store (store.ts) on @google-cloud/storage, its key and endpoint (auth.ts), its
 * error table (errors.ts).
 * The registry (../registry.ts) loads this module lazily, so a cold start pays only for the provider in use.
 */
export { createStore } from './store.js';
