/**
 * restic's local (and sftp) init makes the type directories and data/00 … data/ff up front; object
 * stores have no directories. restic recreates missing directories itself, so this is for parity with
 * `restic init`, not for correctness. A store with a directory tree says so by having
 * `makeDirectories` (the local adapter), and makes them itself, inside the same bounds as its objects.
 */
import type { ObjectStore } from '../backends/object-store.js';

export function hasDirectories(store: ObjectStore): boolean {
  return store.makeDirectories !== undefined;
}

/** Creates the directories (keys relative to the store root); existing ones are left as they are. */
export async function makeDirectories(store: ObjectStore, keys: readonly string[]): Promise<void> {
  await store.makeDirectories?.(keys);
}
