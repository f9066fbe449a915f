/**
 * OpenStack Swift: the store (store.ts) on Node's HTTP client, Keystone/TempAuth authentication (auth.ts), the error table (errors.ts).
 * The registry (../registry.ts) loads this module lazily, so a cold start pays only for the provider in use.
 */
export { createStore } from './store.js';
