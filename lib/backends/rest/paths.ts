/**
 * ObjectStore keys ↔ restic's REST paths. Keys are restic's file keys relative to the repository
 * (restic-format.md §1): `config`, `keys/<id>`, `locks/<id>`, `snapshots/<id>`, `index/<id>` and
 * `data/<first 2 hex>/<id>`, which the protocol addresses as `data/<id>`. Nothing else exists there.
 */
import type { StorageOperation } from '../errors.js';
import { notExpressible } from './errors.js';

export const REST_TYPES = ['data', 'index', 'keys', 'locks', 'snapshots'] as const;
export type RestType = (typeof REST_TYPES)[number];

export const CONFIG_KEY = 'config';

const ID = /^[0-9a-f]{64}$/;

/** A file as the protocol names it: `config`, or a type and an ID. */
export type RestFile = { type: 'config' } | { type: RestType; id: string };

/** The REST file a key names; Unimplemented for anything restic would not store. */
export function fileOf(key: string, operation: StorageOperation): RestFile {
  if (key === CONFIG_KEY) return { type: 'config' };
  const parts = key.split('/');
  const [type] = parts;
  if (type === 'data' && parts.length === 3) {
    const [, shard, id] = parts as [string, string, string];
    if (ID.test(id) && shard === id.slice(0, 2)) return { type: 'data', id };
  } else if (parts.length === 2 && (REST_TYPES as readonly string[]).includes(type ?? '')) {
    const id = parts[1] as string;
    if (ID.test(id)) return { type: type as RestType, id };
  }
  throw notExpressible(operation, key, 'key');
}

/** The path below the repository URL. */
export function restPath(file: RestFile): string {
  return file.type === 'config' ? CONFIG_KEY : `${file.type}/${file.id}`;
}

/** The ObjectStore key of a listed file. */
export function keyOf(type: RestType, id: string): string {
  return type === 'data' ? `data/${id.slice(0, 2)}/${id}` : `${type}/${id}`;
}

export function isRestId(name: string): boolean {
  return ID.test(name);
}

/** What a listing of `prefix` has to read: `config` and/or type listings; none when the prefix names nothing restic stores. */
export function sourcesOf(prefix: string): { config: boolean; types: RestType[] } {
  const config = CONFIG_KEY.startsWith(prefix);
  const types = REST_TYPES.filter((type) => `${type}/`.startsWith(prefix) || prefix.startsWith(`${type}/`));
  return { config, types };
}
