/**
 * restic's local (and sftp) init makes the type directories and data/00 … data/ff up front; object
 * stores have no directories. restic recreates missing directories itself, so this is for parity with
 * `restic init`, not for correctness. Only the local adapter has a directory tree under `location`.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { LocalStore } from '../backends/local.js';
import type { ObjectStore } from '../backends/object-store.js';

export function hasDirectories(store: ObjectStore): boolean {
  return store instanceof LocalStore;
}

/** Creates the directories (keys relative to the store root); existing ones are left as they are. */
export async function makeDirectories(store: ObjectStore, keys: readonly string[]): Promise<void> {
  if (!hasDirectories(store)) return;
  const root = resolve(store.location);
  for (const key of keys) {
    const path = resolve(join(root, ...key.split('/')));
    if (!path.startsWith(root + sep)) throw new Error(`directory ${key} is outside the storage root`);
    await mkdir(path, { recursive: true, mode: 0o700 });
  }
}
