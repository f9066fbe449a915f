import type { StorageTarget } from '../../config/backend.js';
import { backendMetaMarker } from './backend-meta.js';
import type { StorageMarker } from './marker.js';
import { stashMarker } from './stash.js';

/** KubeStash storages are marked by metadata.yaml; Stash backends by their restic repository. */
export function markerFor(target: StorageTarget): StorageMarker {
  return (target.flavor === 'kubestash' ? backendMetaMarker : stashMarker) as StorageMarker;
}
