/**
 * Provider registry. Adapters are imported lazily, so a bundle and a cold start pay only for the
 * provider (and SDK) in use. Each adapter module exports `createStore`.
 */
import type { BackendConfig, Provider } from '../config/backend.js';
import type { SecretBag } from '../credentials/secret.js';
import type { ObjectStore } from './object-store.js';
import { StorageError } from './errors.js';

export interface StoreContext {
  credentials: SecretBag;
  /** options.endpoint: overrides or supplies the service endpoint. */
  endpoint?: string;
  /** Bounds the adapter's own set-up calls (token fetches, region discovery). */
  signal?: AbortSignal;
  /** Where the function sees local volumes (an EFS mount in Lambda); see lib/backends/local.ts. */
  localVolumeRoot?: string;
  /** LOCAL_SUBPATH_TEMPLATE, expanded with `scope`: keeps tenants apart on a shared volume. */
  localSubPathTemplate?: string;
  /** Deployed stages refuse local storages without LOCAL_VOLUME_ROOT (the caller's mountPath is never trusted there). */
  requireLocalVolumeRoot?: boolean;
  /** The authorized namespace and tenant of the request (lib/trust/scope.ts). */
  scope?: { namespace: string; tenant?: string };
}

export type StoreFactory<B extends BackendConfig = BackendConfig> = (
  backend: B,
  context: StoreContext,
) => Promise<ObjectStore>;

type AdapterModule<P extends Provider> = {
  createStore: StoreFactory<Extract<BackendConfig, { provider: P }>>;
};
type Loaders = { [P in Provider]?: () => Promise<AdapterModule<P>> };

const loaders: Loaders = {
  local: () => import('./local.js'),
  s3: () => import('./s3.js'),
  gcs: () => import('./gcs.js'),
  azure: () => import('./azure.js'),
  swift: () => import('./swift.js'),
  b2: () => import('./b2.js'),
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

/** Opens a store for a backend; Unimplemented (HTTP 501 at the edge) for a provider without an adapter. */
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
  return (adapter.createStore as StoreFactory)(backend, context);
}
