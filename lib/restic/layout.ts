/**
 * Where a restic repository keeps its files (restic-format.md §1): `config` at the top, `keys/`,
 * `locks/`, `snapshots/`, `index/` flat, packs in `data/<2 hex>/`. Every name except `config` is the
 * SHA-256 of the file's bytes, and listings ignore anything that is not a 64-hex name.
 */
import { createHash } from 'node:crypto';
import { joinKey } from '../backends/object-store.js';

export const CONFIG_FILE = 'config';
export type FileType = 'keys' | 'locks' | 'snapshots' | 'index' | 'data';
export const TYPE_DIRECTORIES: readonly FileType[] = ['data', 'index', 'keys', 'locks', 'snapshots'];
/** restic tries at most this many key files when opening a repository (cmd/restic/global.go maxKeys). */
export const MAX_KEYS = 20;

const ID = /^[0-9a-f]{64}$/;

export function isId(name: string): boolean {
  return ID.test(name);
}

export function fileId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The last segment of a key, if it is a restic file ID. */
export function idOf(key: string): string | undefined {
  const name = key.split('/').at(-1) ?? '';
  return isId(name) ? name : undefined;
}

/** Key paths of one repository rooted at `root` (a key prefix, `` for the bucket root). */
export class RepositoryLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = joinKey(root);
  }

  get config(): string {
    return joinKey(this.root, CONFIG_FILE);
  }

  /** The listing prefix of a type directory, with its trailing slash. */
  directory(type: FileType): string {
    return `${joinKey(this.root, type)}/`;
  }

  file(type: Exclude<FileType, 'data'>, id: string): string {
    return joinKey(this.root, type, id);
  }

  pack(id: string): string {
    return joinKey(this.root, 'data', id.slice(0, 2), id);
  }

  /** The directories restic's local init makes: the type directories and data/00 … data/ff. */
  directories(): string[] {
    const subdirectories = Array.from({ length: 256 }, (_, index) =>
      joinKey(this.root, 'data', index.toString(16).padStart(2, '0')),
    );
    return [...TYPE_DIRECTORIES.map((type) => joinKey(this.root, type)), ...subdirectories];
  }
}
