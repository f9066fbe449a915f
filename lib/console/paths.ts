/**
 * Console URLs of a storage: `/console/<namespace>/<name>` for a named one; a bare backend (whose key is
 * its provider and place) as `/console/_/<key, URL-encoded>`.
 */
export const BARE = '_';

export function detailPath(storage: { key: string; namespace: string; name: string }): string {
  if (storage.namespace && storage.key === `${storage.namespace}/${storage.name}`)
    return `/console/${encodeURIComponent(storage.namespace)}/${encodeURIComponent(storage.name)}`;
  return `/console/${BARE}/${encodeURIComponent(storage.key)}`;
}

/** The store key of `/console/<a>/<b>`. */
export function keyOfPath(first: string, second: string): string {
  return first === BARE ? second : `${first}/${second}`;
}
