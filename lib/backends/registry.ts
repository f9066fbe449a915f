/**
 * Provider registry. Adapters are imported lazily, so a bundle and a cold start pay only for the
 * provider (and SDK) in use. Each adapter module exports `createStore`.
 */
import type { BackendConfig, Provider } from '../config/backend.js';
import type { ObjectStore, StoreContext, StoreFactory } from './object-store.js';
import { withConnectionLimit } from './connection-limit.js';
import { StorageError } from './errors.js';

type AdapterModule<P extends Provider> = {
  createStore: StoreFactory<Extract<BackendConfig, { provider: P }>>;
};
type Loaders = { [P in Provider]?: () => Promise<AdapterModule<P>> };

const loaders: Loaders = {
  local: () => import('./local/index.js'),
  s3: () => import('./s3/index.js'),
  gcs: () => import('./gcs/index.js'),
  azure: () => import('./azure/index.js'),
  swift: () => import('./swift/index.js'),
  b2: () => import('./b2/index.js'),
  rest: () => import('./rest/index.js'),
};

export function supportedProviders(): Provider[] {
  return (Object.keys(loaders) as Provider[]).sort();
}

export function isProviderSupported(provider: Provider): boolean {
  return loaders[provider] !== undefined;
}

/**
 * Starts loading a provider's adapter (and its SDK) without waiting: a caller about to resolve
 * credentials and check the endpoint (I/O: files, DNS, a secrets service) lets the load run beside them.
 * openStore then awaits the same module. Failures are left for openStore to report.
 */
export function preloadAdapter(provider: Provider): void {
  void loaders[provider]?.().catch(() => undefined);
}

/**
 * Opens a store for a backend, inside its connection limit (connection-limit.ts); Unimplemented (HTTP 501 at the edge) for a provider without an adapter. */
export async function openStore(backend: BackendConfig, context: StoreContext): Promise<ObjectStore> {
  const load = loaders[backend.provider] as
    (() => Promise<AdapterModule<typeof backend.provider>>) | undefined;
  if (!load) {
    throw new StorageError({
      code: 'Unimplemented',
      message: `provider "${backend.provider}" is not supported yet`,
      provider: backend.provider,
      operation: 'connect',
      hint: `supported providers: ${supportedProviders().join(', ')}`,
    });
  }
  const adapter = await load();
  const store = await (adapter.createStore as StoreFactory)(backend, context);
  // The one place a limit is applied: the storage's maxConnections, else what the caller will run at
  // once (a walk), else what the store is built for.
  const configured = 'maxConnections' in backend ? backend.maxConnections : undefined;
  return withConnectionLimit(store, configured ?? context.connections ?? store.capabilities.connections);
}
