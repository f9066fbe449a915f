/**
 * Amazon S3 and S3-compatible servers: the store (store.ts) on @aws-sdk/client-s3, the endpoint and addressing style (endpoint.ts), the error table (errors.ts).
 * The registry (../registry.ts) loads this module lazily, so a cold start pays only for the provider in use.
 */
export { createStore } from './store.js';
