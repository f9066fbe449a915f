/**
 * restic's local (and sftp) init makes the type directories and data/00 … data/ff up front; object
 * stores have no directories. restic recreates missing directories itself, so this is for parity with
 * `restic init`, not for correctness. Only the local adapter has a directory tree, and it makes the
 * directories itself, inside the same bounds as its objects.
 */
import { LocalStore } from '../backends/local/store.js';
import type { ObjectStore } from '../backends/object-store.js';

export function hasDirectories(store: ObjectStore): boolean {
  return store instanceof LocalStore;
}

/** Creates the directories (keys relative to the store root); existing ones are left as they are. */
export async function makeDirectories(store: ObjectStore, keys: readonly string[]): Promise<void> {
  if (store instanceof LocalStore) await store.makeDirectories(keys);
}
