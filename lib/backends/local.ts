/**
 * Local directory backend: a KubeStash `local` volume (mountPath + subPath), a Stash `local.mountPath`,
 * an EFS or NFS mount in Lambda. The storage root is `<volume root>/<subPath>`, where the volume root is
 * `LOCAL_VOLUME_ROOT` when the deployment sets it (the function's own mount of the volume, e.g. /mnt/efs)
 * and `mountPath` otherwise (the function runs where the volume is mounted, as the operator's job does).
 *
 * Writes are atomic (a temporary file in the same directory, then rename), `ifNotExists` is an atomic
 * hard link that fails when the name exists, and keys can never leave the root: `..`, absolute keys and
 * symlinks pointing outside are refused.
 */
import { randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { LocalBackend } from '../config/backend.js';
import type {
  CallOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  PutResult,
} from './object-store.js';
import { alreadyExists, StorageError, type StorageOperation } from './errors.js';
import type { StoreContext } from './registry.js';

const PROVIDER = 'local';
const DEFAULT_PAGE = 1000;
/** Temporary files carry this marker so listings never show a half-written object. */
const TEMP_MARKER = '.bsf-tmp-';

type Errno = NodeJS.ErrnoException;

/** The one table from filesystem errors to portable codes. */
function mapFsError(error: unknown, operation: StorageOperation, key?: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as Errno | undefined)?.code;
  const base = { provider: PROVIDER, operation, key, cause: error };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new StorageError({
        ...base,
        code: 'NotFound',
        subject: 'object',
        message: `${key ?? 'path'} does not exist`,
      });
    case 'EEXIST':
      return new StorageError({
        ...base,
        code: 'AlreadyExists',
        subject: 'object',
        message: `${key} already exists`,
      });
    case 'EACCES':
    case 'EPERM':
      return new StorageError({
        ...base,
        code: 'PermissionDenied',
        message: `permission denied (${code})`,
        hint: 'the function’s user must be able to read and write the volume; for KubeStash local storage set runtimeSettings.pod.securityContext (fsGroup / runAsUser) to match the volume’s owner',
      });
    case 'EROFS':
      return new StorageError({
        ...base,
        code: 'PermissionDenied',
        message: 'the volume is mounted read-only',
        hint: 'mount the volume read-write, or run check with options.readOnly',
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError({
        ...base,
        code: 'QuotaExceeded',
        message: `no space left on the volume (${code})`,
        hint: 'free space on the volume or grow it',
      });
    case 'EISDIR':
      return new StorageError({
        ...base,
        code: 'InvalidConfig',
        message: `${key} is a directory, not an object`,
      });
    case 'ESTALE':
    case 'EIO':
    case 'EBUSY':
    case 'EMFILE':
    case 'ENFILE':
      return new StorageError({
        ...base,
        code: 'Unavailable',
        message: `the volume is not usable right now (${code})`,
        retryable: true,
      });
    case 'ABORT_ERR':
      return new StorageError({
        ...base,
        code: 'Timeout',
        message: 'the filesystem call did not complete before its deadline',
      });
    default:
      return new StorageError({
        ...base,
        code: 'Unknown',
        message: `unexpected filesystem error (${code ?? 'unknown'})`,
      });
  }
}

function invalidKey(key: string, why: string): StorageError {
  return new StorageError({ code: 'InvalidConfig', provider: PROVIDER, key, message: `key "${key}" ${why}` });
}

/** Keys are `/`-separated, relative, without `.`/`..` segments or NUL. */
function keySegments(key: string): string[] {
  if (key.includes('\0')) throw invalidKey(key, 'contains a NUL character');
  if (key.startsWith('/')) throw invalidKey(key, 'is absolute; keys are relative to the storage root');
  const segments = key.split('/');
  if (segments.some((segment) => segment === '..' || segment === '.'))
    throw invalidKey(key, 'contains "." or ".." segments');
  if (segments.some((segment) => segment.includes(TEMP_MARKER)))
    throw invalidKey(key, 'uses a reserved temporary name');
  return segments.filter((segment) => segment !== '');
}

export class LocalStore implements ObjectStore {
  readonly provider = PROVIDER;
  readonly capabilities = { conditionalWrites: true, putReturnsChecksum: false, batchDelete: false };
  readonly location: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
    this.location = this.#root;
  }

  /** Absolute path for a key; refuses anything that would resolve outside the root. */
  #path(key: string): string {
    const segments = keySegments(key);
    const path = join(this.#root, ...segments);
    if (path !== this.#root && !path.startsWith(this.#root + sep))
      throw invalidKey(key, 'resolves outside the storage root');
    return path;
  }

  /** Refuses a path whose existing part leads through a symlink out of the root. */
  async #assertInsideRoot(path: string, key: string): Promise<void> {
    const rootReal = await realpath(this.#root).catch(() => undefined);
    // A missing root has nothing below it that could be a symlink.
    if (rootReal === undefined) return;
    let probe = path;
    while (probe !== this.#root) {
      const real = await realpath(probe).catch((error: Errno) =>
        error.code === 'ENOENT' || error.code === 'ENOTDIR' ? undefined : Promise.reject(error),
      );
      if (real !== undefined) {
        if (real !== rootReal && !real.startsWith(rootReal + sep))
          throw invalidKey(key, 'leads through a symlink outside the storage root');
        return;
      }
      probe = dirname(probe);
    }
  }

  async #resolved(key: string, operation: StorageOperation): Promise<string> {
    const path = this.#path(key);
    try {
      await this.#assertInsideRoot(path, key);
    } catch (error) {
      throw mapFsError(error, operation, key);
    }
    return path;
  }

  async bucketExists(): Promise<boolean> {
    try {
      const info = await stat(this.#root);
      if (!info.isDirectory()) {
        throw new StorageError({
          code: 'InvalidConfig',
          provider: PROVIDER,
          operation: 'bucketExists',
          message: `${this.#root} exists but is not a directory`,
        });
      }
      return true;
    } catch (error) {
      if ((error as Errno).code === 'ENOENT') return false;
      throw mapFsError(error, 'bucketExists');
    }
  }

  async createBucket(): Promise<void> {
    if (await this.bucketExists()) {
      throw alreadyExists(PROVIDER, { bucket: this.#root });
    }
    await mkdir(this.#root, { recursive: true }).catch((error: unknown) =>
      Promise.reject(mapFsError(error, 'createBucket')),
    );
  }

  async stat(key: string): Promise<ObjectInfo> {
    const path = await this.#resolved(key, 'stat');
    try {
      const info = await stat(path);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      return { key, size: info.size, lastModified: info.mtime };
    } catch (error) {
      throw await this.#notFoundSubject(mapFsError(error, 'stat', key));
    }
  }

  async get(key: string, options: CallOptions = {}): Promise<Uint8Array> {
    const path = await this.#resolved(key, 'get');
    try {
      return await readFile(path, { signal: options.signal });
    } catch (error) {
      throw await this.#notFoundSubject(mapFsError(error, 'get', key));
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const path = await this.#resolved(key, 'put');
    if (!(await this.bucketExists())) throw this.#missingRoot('put', key);
    const dir = dirname(path);
    const temp = join(dir, `${TEMP_MARKER}${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temp, body, { signal: options.signal, flag: 'wx' });
      if (options.ifNotExists) {
        // link() fails with EEXIST atomically, also on NFS: exactly one concurrent creator wins.
        await link(temp, path);
        await unlink(temp);
      } else {
        await rename(temp, path);
      }
      return {};
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw mapFsError(error, 'put', key);
    }
  }

  async delete(key: string): Promise<void> {
    const path = await this.#resolved(key, 'delete');
    try {
      const info = await lstat(path);
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      await unlink(path);
    } catch (error) {
      if ((error as Errno).code === 'ENOENT' || (error as Errno).code === 'ENOTDIR') return;
      throw mapFsError(error, 'delete', key);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.delete(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    if (prefix !== '') keySegments(prefix.replace(/\/$/, ''));
    if (!(await this.bucketExists())) throw this.#missingRoot('list');
    const limit = Math.max(1, options.limit ?? DEFAULT_PAGE);
    const after = options.pageToken;
    // Walk from the deepest directory the prefix names; everything else is filtered by key.
    const lastSlash = prefix.lastIndexOf('/');
    const startKey = lastSlash < 0 ? '' : prefix.slice(0, lastSlash);
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let more = false;
    try {
      for await (const entry of this.#walk(startKey, prefix, options.delimiter === '/')) {
        const name = entry.prefix ?? entry.object.key;
        if (after !== undefined && name <= after) continue;
        if (objects.length + prefixes.length >= limit) {
          more = true;
          break;
        }
        if (entry.prefix !== undefined) prefixes.push(entry.prefix);
        else objects.push(entry.object);
      }
    } catch (error) {
      throw mapFsError(error, 'list', prefix);
    }
    const last =
      objects.length + prefixes.length > 0
        ? [...objects.map((o) => o.key), ...prefixes].sort().at(-1)
        : undefined;
    return { objects, prefixes, nextPageToken: more ? last : undefined };
  }

  /**
   * Yields keys under `dirKey` in byte order of the full key. Sorting names with a `/` appended to
   * directories gives that order ("a-c" < "a/b" because "-" < "/").
   */
  async *#walk(
    dirKey: string,
    prefix: string,
    folded: boolean,
  ): AsyncGenerator<{ prefix: string; object?: undefined } | { prefix?: undefined; object: ObjectInfo }> {
    const dirPath = dirKey === '' ? this.#root : this.#path(dirKey);
    let entries;
    try {
      entries = await readdir(dirPath, { withFileTypes: true });
    } catch (error) {
      if ((error as Errno).code === 'ENOENT' || (error as Errno).code === 'ENOTDIR') return;
      throw error;
    }
    const named = entries
      .filter((entry) => !entry.name.includes(TEMP_MARKER) && (entry.isFile() || entry.isDirectory()))
      .map((entry) => ({ entry, sortKey: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { entry } of named) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const asDir = `${key}/`;
        if (!asDir.startsWith(prefix) && !prefix.startsWith(asDir)) continue;
        if (folded && asDir.startsWith(prefix)) {
          yield { prefix: asDir };
          continue;
        }
        yield* this.#walk(key, prefix, folded);
      } else if (key.startsWith(prefix)) {
        const info = await stat(join(dirPath, entry.name)).catch(() => undefined);
        if (info) yield { object: { key, size: info.size, lastModified: info.mtime } };
      }
    }
  }

  #missingRoot(operation: StorageOperation, key?: string): StorageError {
    return new StorageError({
      code: 'NotFound',
      subject: 'bucket',
      provider: PROVIDER,
      operation,
      key,
      message: `storage root ${this.#root} does not exist`,
      hint: 'check mountPath/subPath and that the volume is mounted; initialize with options.createBucket creates the directory',
    });
  }

  /** A NotFound for an object whose root is missing is really a missing bucket. */
  async #notFoundSubject(error: StorageError): Promise<StorageError> {
    if (error.code !== 'NotFound') return error;
    return (await this.bucketExists().catch(() => true))
      ? error
      : this.#missingRoot(error.operation ?? 'stat', error.key);
  }

  async close(): Promise<void> {}
}

export async function createStore(backend: LocalBackend, context: StoreContext): Promise<ObjectStore> {
  const volumeRoot = context.localVolumeRoot ?? backend.mountPath;
  return new LocalStore(backend.subPath ? join(volumeRoot, backend.subPath) : volumeRoot);
}
