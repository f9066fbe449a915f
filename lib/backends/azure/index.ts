/**
 * Azure Blob Storage: the store (store.ts) on @azure/storage-blob, account and credential (auth.ts), its
 * error table (errors.ts).
 * The registry (../registry.ts) loads this module lazily, so a cold start pays only for the provider in use.
 */
export { createStore } from './store.js';
