/**
 * Backblaze B2: the store (store.ts) on backblaze-b2, account authorization (auth.ts), the bucket-id and upload-URL caches (caches.ts), the error table (errors.ts).
 * The registry (../registry.ts) loads this module lazily, so a cold start pays only for the provider in use.
 */
export { createStore } from './store.js';
