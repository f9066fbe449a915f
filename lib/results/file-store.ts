/**
 * The embedded results store: plain files under one directory, no server (workstations, `serverless
 * invoke local`, `npm start`). Layout:
 *
 *   latest/<key>.json             the latest record of each storage
 *   history/<key>/<version>.json  one file per recorded event (the claim of lib/results/record.ts)
 *
 * A history file is created by writing a temporary file and hard-linking it to its name, which fails
 * if the name exists: an exclusive create that no reader ever sees half-written. The latest record is
 * replaced by rename under a per-storage lock file (created exclusively, taken over when older than
 * LOCK_STALE_MS), after checking that its version is still the one the writer read.
 */
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordEvent, type Claim, type VersionedLog } from './record.js';
import {
  summaryOf,
  type HistoryEntry,
  type ListOptions,
  type RecordInput,
  type RecordOutcome,
  type ResultsStore,
  type StorageRecord,
  type StorageSummary,
} from './store.js';

/** A lock older than this belongs to a writer that died between taking and releasing it. */
const LOCK_STALE_MS = 5_000;
/** Files read at once by list(). */
const READ_CONCURRENCY = 64;

/** A key as one file name: readable when short and plain, a hash otherwise. */
export function fileNameOf(key: string): string {
  const encoded = encodeURIComponent(key).replaceAll('.', '%2E');
  return encoded.length <= 180 ? encoded : `h-${createHash('sha256').update(key).digest('hex')}`;
}

function versionName(version: number): string {
  return `${String(version).padStart(10, '0')}.json`;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

export class FileResultsStore implements ResultsStore, VersionedLog {
  readonly description: string;
  readonly #latest: string;
  readonly #history: string;
  readonly #locks: string;
  readonly #ready: Promise<void>;
  #cache: { changed: number; summaries: StorageSummary[] } | undefined;

  constructor(readonly directory: string) {
    this.description = `file:${directory}`;
    this.#latest = join(directory, 'latest');
    this.#history = join(directory, 'history');
    this.#locks = join(directory, 'locks');
    this.#ready = Promise.all(
      [this.#latest, this.#history, this.#locks].map((dir) => mkdir(dir, { recursive: true })),
    ).then(() => undefined);
  }

  async record(input: RecordInput): Promise<RecordOutcome> {
    await this.#ready;
    return recordEvent(this, input);
  }

  async get(key: string): Promise<StorageRecord | undefined> {
    await this.#ready;
    return this.readLatest(key);
  }

  async list(options: ListOptions = {}): Promise<StorageSummary[]> {
    const all = await this.#summaries();
    return options.namespaces ? all.filter((summary) => options.namespaces?.(summary.namespace)) : [...all];
  }

  /**
   * Every summary, re-read only when latest/ changed: every write renames a file into it, which moves
   * the directory's modification time, so a warm console lists 10,000 storages without 10,000 reads.
   */
  async #summaries(): Promise<readonly StorageSummary[]> {
    await this.#ready;
    const changed = (await stat(this.#latest)).mtimeMs;
    if (this.#cache?.changed === changed) return this.#cache.summaries;
    const summaries = await this.#readSummaries();
    this.#cache = { changed, summaries };
    return summaries;
  }

  async #readSummaries(): Promise<StorageSummary[]> {
    const names = (await readdir(this.#latest)).filter((name) => name.endsWith('.json'));
    const summaries: StorageSummary[] = [];
    for (let start = 0; start < names.length; start += READ_CONCURRENCY) {
      const batch = await Promise.all(
        names
          .slice(start, start + READ_CONCURRENCY)
          .map((name) => readJson<StorageRecord>(join(this.#latest, name))),
      );
      for (const record of batch) if (record) summaries.push(summaryOf(record));
    }
    return summaries;
  }

  async history(
    key: string,
    options: { limit?: number; transitionsOnly?: boolean } = {},
  ): Promise<HistoryEntry[]> {
    await this.#ready;
    const dir = join(this.#history, fileNameOf(key));
    const names = await readdir(dir).catch((error: unknown) => {
      if (isMissing(error)) return [] as string[];
      throw error;
    });
    const versions = names
      .filter((name) => /^\d{10}\.json$/.test(name))
      .sort()
      .reverse();
    const limit = options.limit ?? 100;
    const entries: HistoryEntry[] = [];
    for (const name of versions) {
      if (entries.length >= limit) break;
      const claim = await readJson<Claim>(join(dir, name));
      if (claim && (!options.transitionsOnly || claim.entry.transition)) entries.push(claim.entry);
    }
    return entries;
  }

  // VersionedLog

  readLatest(key: string): Promise<StorageRecord | undefined> {
    return readJson<StorageRecord>(join(this.#latest, `${fileNameOf(key)}.json`));
  }

  async claim(claim: Claim): Promise<boolean> {
    const dir = join(this.#history, fileNameOf(claim.entry.key));
    await mkdir(dir, { recursive: true });
    const temporary = join(dir, `.${randomUUID()}.tmp`);
    await writeFile(temporary, JSON.stringify(claim));
    try {
      await link(temporary, join(dir, versionName(claim.entry.version)));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  readClaim(key: string, version: number): Promise<Claim | undefined> {
    return readJson<Claim>(join(this.#history, fileNameOf(key), versionName(version)));
  }

  async writeLatest(record: StorageRecord, expected: number): Promise<boolean> {
    const name = fileNameOf(record.key);
    const target = join(this.#latest, `${name}.json`);
    const temporary = join(this.#latest, `.${randomUUID()}.tmp`);
    await writeFile(temporary, JSON.stringify(record));
    const release = await this.#lock(name);
    try {
      const current = (await this.readLatest(record.key))?.version ?? 0;
      if (current !== expected) return false;
      await rename(temporary, target);
      return true;
    } finally {
      await release();
      await unlink(temporary).catch(() => undefined);
    }
  }

  /** Takes the storage's lock file; returns its release. */
  async #lock(name: string): Promise<() => Promise<void>> {
    const path = join(this.#locks, `${name}.lock`);
    for (let round = 0; ; round += 1) {
      try {
        const handle = await open(path, 'wx');
        await handle.close();
        return () => rm(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) {
        // Its writer died holding it: whoever renames it away first takes over.
        const stale = `${path}.${randomUUID()}.stale`;
        await rename(path, stale)
          .then(() => rm(stale, { force: true }))
          .catch(() => undefined);
        continue;
      }
      await sleep(Math.min(1 + round, 10));
    }
  }
}
