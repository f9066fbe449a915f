/**
 * What a warm function remembers between invocations: a bounded insertion-ordered map, and promises
 * shared by concurrent callers (tokens, sessions, secrets) that are never kept once they fail.
 */

/** Sets `key` in an insertion-ordered map as its newest entry, dropping the oldest ones beyond `max`. */
export function rememberBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}

export interface PendingEntry<V> {
  promise: Promise<V>;
  /** Epoch ms when the call started: what a caller's freshness rule (a token's age) is measured from. */
  startedAt: number;
}

/**
 * One promise per key, shared by every caller while it is there: concurrent callers make one call. A
 * call that fails is forgotten (the next caller tries again); whether a kept value is still good (its
 * age, a token the server refused) is the caller's rule, applied with `peek` and `forget`.
 */
export class SharedPromises<K, V> {
  readonly #entries = new Map<K, PendingEntry<V>>();
  readonly #max: number;

  constructor(maxEntries = Number.POSITIVE_INFINITY) {
    this.#max = maxEntries;
  }

  peek(key: K): PendingEntry<V> | undefined {
    return this.#entries.get(key);
  }

  /** Starts `load` and remembers it under `key`, replacing what was there. */
  start(key: K, load: () => Promise<V>): Promise<V> {
    const entry: PendingEntry<V> = { promise: load(), startedAt: Date.now() };
    rememberBounded(this.#entries, key, entry, this.#max);
    entry.promise.catch(() => this.forget(key, entry));
    return entry.promise;
  }

  /** Drops `key`; with `entry`, only while that entry is still the one kept (a newer call may have replaced it). */
  forget(key: K, entry?: PendingEntry<V>): void {
    if (entry === undefined || this.#entries.get(key) === entry) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
