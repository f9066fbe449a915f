/**
 * Local directory backend: a KubeStash `local` volume (mountPath + subPath), a Stash `local.mountPath`,
 * an EFS or NFS mount in Lambda. The storage root is `<volume root>/<area>/<subPath>`:
 *
 * - the volume root is `LOCAL_VOLUME_ROOT`, the function's own mount of the volume (e.g. /mnt/efs).
 *   Deployed stages require it: a caller's `mountPath` would name any directory of the function's
 *   filesystem. Only on the workstation stage, without it, `mountPath` is the volume root (the function
 *   runs where the volume is mounted, as the operator's job does);
 * - the area is `LOCAL_SUBPATH_TEMPLATE` expanded with the request's tenant and namespace (e.g.
 *   `{tenant}/{namespace}`), so requests of one namespace never reach another's directories on a
 *   shared volume; without a template, the volume root itself.
 *
 * Nothing may leave the area, checked on every call, not once at creation (a symlink swapped in later
 * must not lead out): the directory a key lives in is resolved with symlinks followed and must lie
 * inside the area's real path (itself inside the volume root's), the key's own name is never followed
 * (O_NOFOLLOW opens, lstat, unlink; links are not objects), and where Linux names an open file in
 * /proc its real path is checked again after opening. `..`, absolute keys and NUL are refused outright.
 * What stays open is a directory swapped for a symlink between the check and a `mkdir`: at most an
 * empty directory, never a file, can land outside.
 *
 * Writes are atomic (a temporary file in the same directory, then rename), `ifNotExists` is an atomic
 * hard link that fails when the name exists.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { LocalBackend } from '../../config/backend.js';
import type * as Store from '../object-store.js';
import { deleteEach, storeCapabilities } from '../object-store.js';
import { alreadyExists, missingBucket, StorageError, type StorageOperation } from '../errors.js';
import { LOCAL_PROVIDER, localError } from './errors.js';

type Errno = NodeJS.ErrnoException;
const DEFAULT_PAGE = 1000;
/** Temporary files carry this marker so listings never show a half-written object. */
const TEMP_MARKER = '.bsf-tmp-';

/**
 * A call whose signal has fired does nothing: the file system's own calls take no signal (only reads and
 * writes of content do), so a canceled delete or write would otherwise still happen.
 */
function notAborted(options: Store.CallOptions, operation: StorageOperation, key?: string): void {
  if (options.signal?.aborted) throw localError(fsError('ABORT_ERR', 'aborted'), operation, key);
}

/** O_NOFOLLOW where the platform has it: the last name of a path is never followed when it is a link. */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
/** A FIFO put in the volume must not hang a read: opens never block, and only regular files are objects. */
const NO_BLOCK = constants.O_NONBLOCK ?? 0;

function fsError(code: string, message: string): Errno {
  return Object.assign(new Error(message), { code });
}

function invalidPath(what: string, why: string, key?: string): StorageError {
  return new StorageError({
    code: 'InvalidConfig',
    provider: LOCAL_PROVIDER,
    key,
    message: `${what} ${why}`,
  });
}

/** A relative `/`-separated path without `.`/`..` segments or NUL, as its non-empty segments. */
function pathSegments(value: string, what: string, key?: string): string[] {
  if (value.includes('\0')) throw invalidPath(what, 'contains a NUL character', key);
  if (value.startsWith('/')) throw invalidPath(what, 'is absolute; it must be relative', key);
  const segments = value.split('/');
  if (segments.some((segment) => segment === '..' || segment === '.'))
    throw invalidPath(what, 'contains "." or ".." segments', key);
  return segments.filter((segment) => segment !== '');
}

/** Keys are relative to the storage root and never name a temporary file. */
function keySegments(key: string): string[] {
  const segments = pathSegments(key, `key "${key}"`, key);
  if (segments.some((segment) => segment.includes(TEMP_MARKER)))
    throw invalidPath(`key "${key}"`, 'uses a reserved temporary name', key);
  return segments;
}

function isInside(path: string, dir: string): boolean {
  const rest = relative(dir, path);
  return rest === '' || (rest !== '..' && !rest.startsWith(`..${sep}`) && !isAbsolute(rest));
}

/**
 * Where `path` really leads: its deepest existing ancestor with every symlink resolved, the names that
 * do not exist yet appended. A name that exists but does not resolve is a dangling link, which a later
 * mkdir or write would follow: refused (ELOOP).
 */
async function realTarget(path: string): Promise<string> {
  const missing: string[] = [];
  for (let probe = path; ;) {
    try {
      return join(await realpath(probe), ...missing);
    } catch (error) {
      const code = (error as Errno).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      const dangling = await lstat(probe).then(
        (info) => info.isSymbolicLink(),
        () => false,
      );
      if (dangling) throw fsError('ELOOP', 'a dangling symbolic link');
      const parent = dirname(probe);
      if (parent === probe) throw error;
      missing.unshift(basename(probe));
      probe = parent;
    }
  }
}

/** Linux names an open file's real path in /proc; elsewhere the check made before opening stands alone. */
async function openedPath(handle: FileHandle): Promise<string | undefined> {
  const target = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  return target?.replace(/ \(deleted\)$/, '');
}

const OUTSIDE_HINT =
  'a local storage stays inside its volume root (LOCAL_VOLUME_ROOT, and the namespace’s LOCAL_SUBPATH_TEMPLATE directory there): point subPath at a directory inside it, not through a symbolic link leading out';

function escaped(what: string, operation: StorageOperation, key?: string): StorageError {
  return new StorageError({
    code: 'PermissionDenied',
    provider: LOCAL_PROVIDER,
    operation,
    key,
    message: `${what} leads outside the volume`,
    hint: OUTSIDE_HINT,
  });
}

/** The directories a store may not leave. */
export interface LocalBounds {
  /** The volume root: nothing resolves outside its real path. */
  volume: string;
  /** The request's tenant/namespace directory under it (LOCAL_SUBPATH_TEMPLATE); default: the volume root. */
  area?: string;
}

export class LocalStore implements Store.ObjectStore {
  readonly provider = LOCAL_PROVIDER;
  // A file system, not a network service: many calls at once cost file descriptors, not sockets.
  readonly capabilities = storeCapabilities(32, { conditionalWrites: true });
  readonly location: string;
  readonly #root: string;
  readonly #volume: string;
  readonly #area: string;

  /** Without `bounds` the root is its own volume (a store for one directory, as tests and benchmarks make). */
  constructor(root: string, bounds: LocalBounds = { volume: root }) {
    this.#root = resolve(root);
    this.#volume = resolve(bounds.volume);
    this.#area = resolve(bounds.area ?? bounds.volume);
    if (!isInside(this.#area, this.#volume) || !isInside(this.#root, this.#area))
      throw invalidPath(`the storage root ${this.#root}`, `is not inside its volume ${this.#area}`);
    this.location = this.#root;
  }

  /** Absolute path for a key; refuses anything that would resolve outside the root. */
  #path(key: string): string {
    const path = join(this.#root, ...keySegments(key));
    if (!isInside(path, this.#root))
      throw invalidPath(`key "${key}"`, 'resolves outside the storage root', key);
    return path;
  }

  /** The area's real path, inside the volume root's: resolved on every call, so a link swapped in later counts. */
  async #fence(operation: StorageOperation): Promise<string> {
    const volume = await realTarget(this.#volume);
    if (this.#area === this.#volume) return volume;
    const area = await realTarget(this.#area);
    if (!isInside(area, volume)) throw escaped('the namespace’s directory', operation);
    return area;
  }

  async #assertInside(path: string, fence: string, operation: StorageOperation, key?: string): Promise<void> {
    if (!isInside(await realTarget(path), fence))
      throw escaped(key === undefined ? 'the storage root' : `key "${key}"`, operation, key);
  }

  /** The fence, once the root is checked to lie inside it. */
  async #checkedRoot(operation: StorageOperation): Promise<string> {
    try {
      const fence = await this.#fence(operation);
      await this.#assertInside(this.#root, fence, operation);
      return fence;
    } catch (error) {
      throw localError(error, operation);
    }
  }

  /** A key's path once its directory is checked to lie inside the fence; its own name is never followed. */
  async #resolved(key: string, operation: StorageOperation): Promise<{ path: string; fence: string }> {
    const path = this.#path(key);
    try {
      const fence = await this.#fence(operation);
      await this.#assertInside(path === this.#root ? path : dirname(path), fence, operation, key);
      return { path, fence };
    } catch (error) {
      throw localError(error, operation, key);
    }
  }

  /** After opening: the file really is inside (a directory swapped for a link after the check is caught here). */
  async #assertOpenedInside(
    handle: FileHandle,
    fence: string,
    operation: StorageOperation,
    key: string,
  ): Promise<void> {
    const opened = await openedPath(handle);
    if (opened !== undefined && !isInside(opened, fence)) throw escaped(`key "${key}"`, operation, key);
  }

  async bucketExists(options: Store.CallOptions = {}): Promise<boolean> {
    notAborted(options, 'bucketExists');
    await this.#checkedRoot('bucketExists');
    try {
      const info = await stat(this.#root);
      if (!info.isDirectory()) {
        throw new StorageError({
          code: 'InvalidConfig',
          provider: LOCAL_PROVIDER,
          operation: 'bucketExists',
          message: `${this.#root} exists but is not a directory`,
        });
      }
      return true;
    } catch (error) {
      if ((error as Errno).code === 'ENOENT') return false;
      throw localError(error, 'bucketExists');
    }
  }

  async createBucket(options: Store.CallOptions = {}): Promise<void> {
    if (await this.bucketExists(options)) {
      throw alreadyExists(LOCAL_PROVIDER, { bucket: this.#root });
    }
    await mkdir(this.#root, { recursive: true }).catch((error: unknown) =>
      Promise.reject(localError(error, 'createBucket')),
    );
  }

  async stat(key: string, options: Store.CallOptions = {}): Promise<Store.ObjectInfo> {
    notAborted(options, 'stat', key);
    const { path } = await this.#resolved(key, 'stat');
    try {
      const info = await lstat(path);
      if (info.isSymbolicLink()) throw fsError('ELOOP', 'a symbolic link');
      if (!info.isFile()) throw fsError('ENOENT', 'not a file');
      return { key, size: info.size, lastModified: info.mtime };
    } catch (error) {
      throw await this.#notFoundSubject(localError(error, 'stat', key));
    }
  }

  async get(key: string, options: Store.CallOptions = {}): Promise<Uint8Array> {
    notAborted(options, 'get', key);
    const { path, fence } = await this.#resolved(key, 'get');
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, constants.O_RDONLY | NO_FOLLOW | NO_BLOCK);
      await this.#assertOpenedInside(handle, fence, 'get', key);
      const info = await handle.stat();
      if (info.isDirectory()) throw fsError('EISDIR', 'a directory');
      if (!info.isFile()) throw fsError('ENOENT', 'not a file');
      return await handle.readFile({ signal: options.signal });
    } catch (error) {
      throw await this.#notFoundSubject(localError(error, 'get', key));
    } finally {
      await handle?.close();
    }
  }

  async put(key: string, body: Uint8Array, options: Store.PutOptions = {}): Promise<Store.PutResult> {
    notAborted(options, 'put', key);
    const { path, fence } = await this.#resolved(key, 'put');
    if (!(await this.bucketExists())) throw this.#missingRoot('put', key);
    const dir = dirname(path);
    const temp = join(dir, `${TEMP_MARKER}${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW);
      try {
        await this.#assertOpenedInside(handle, fence, 'put', key);
        await handle.writeFile(body, { signal: options.signal });
      } finally {
        await handle.close();
      }
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
      throw localError(error, 'put', key);
    }
  }

  async delete(key: string, options: Store.CallOptions = {}): Promise<void> {
    notAborted(options, 'delete', key);
    const { path } = await this.#resolved(key, 'delete');
    try {
      const info = await lstat(path);
      if (info.isDirectory()) throw fsError('EISDIR', 'is a directory');
      await unlink(path);
    } catch (error) {
      if ((error as Errno).code === 'ENOENT' || (error as Errno).code === 'ENOTDIR') return;
      throw localError(error, 'delete', key);
    }
  }

  async deleteMany(keys: readonly string[], options: Store.CallOptions = {}): Promise<void> {
    await deleteEach(this, keys, options, { width: 1 });
  }

  /** Directories (keys relative to the root) inside the fence, as restic's local init makes them; existing ones stay. */
  async makeDirectories(keys: readonly string[]): Promise<void> {
    const fence = await this.#checkedRoot('put');
    for (const key of keys) {
      const path = this.#path(key);
      try {
        await this.#assertInside(path, fence, 'put', key);
        await mkdir(path, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw localError(error, 'put', key);
      }
    }
  }

  async list(prefix: string, options: Store.ListOptions = {}): Promise<Store.ListPage> {
    notAborted(options, 'list');
    if (prefix !== '') keySegments(prefix.replace(/\/$/, ''));
    if (!(await this.bucketExists())) throw this.#missingRoot('list');
    const limit = Math.max(1, options.limit ?? DEFAULT_PAGE);
    const after = options.pageToken;
    // Walk from the deepest directory the prefix names; everything else is filtered by key.
    const lastSlash = prefix.lastIndexOf('/');
    const startKey = lastSlash < 0 ? '' : prefix.slice(0, lastSlash);
    const objects: Store.ObjectInfo[] = [];
    const prefixes: string[] = [];
    let more = false;
    try {
      const fence = await this.#fence('list');
      for await (const entry of this.#walk(startKey, prefix, options.delimiter === '/', fence)) {
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
      throw localError(error, 'list', prefix);
    }
    const last =
      objects.length + prefixes.length > 0
        ? [...objects.map((o) => o.key), ...prefixes].sort().at(-1)
        : undefined;
    return { objects, prefixes, nextPageToken: more ? last : undefined };
  }

  /**
   * Yields keys under `dirKey` in byte order of the full key. Sorting names with a `/` appended to
   * directories gives that order ("a-c" < "a/b" because "-" < "/"). Links are neither objects nor
   * directories to descend into, and every directory is checked against the fence before it is read.
   */
  async *#walk(
    dirKey: string,
    prefix: string,
    folded: boolean,
    fence: string,
  ): AsyncGenerator<
    { prefix: string; object?: undefined } | { prefix?: undefined; object: Store.ObjectInfo }
  > {
    const dirPath = dirKey === '' ? this.#root : this.#path(dirKey);
    let entries;
    try {
      await this.#assertInside(dirPath, fence, 'list', dirKey === '' ? undefined : dirKey);
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
        yield* this.#walk(key, prefix, folded, fence);
      } else if (key.startsWith(prefix)) {
        const info = await lstat(join(dirPath, entry.name)).catch(() => undefined);
        if (info?.isFile()) yield { object: { key, size: info.size, lastModified: info.mtime } };
      }
    }
  }

  #missingRoot(operation: StorageOperation, key?: string): StorageError {
    return missingBucket(
      LOCAL_PROVIDER,
      { operation, key },
      `storage root ${this.#root}`,
      'check mountPath/subPath and that the volume is mounted; initialize with options.createBucket creates the directory',
    );
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

/** A Kubernetes namespace or a grant's tenant: a DNS name, so always one safe path segment. */
const SCOPE_VALUE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function refused(message: string, hint: string): StorageError {
  return new StorageError({
    code: 'InvalidConfig',
    provider: LOCAL_PROVIDER,
    operation: 'connect',
    message,
    hint,
  });
}

/** The volume root: the deployment's own mount; a request's mountPath only on the workstation stage. */
function volumeRootOf(backend: LocalBackend, context: Store.StoreContext): string {
  if (context.localVolumeRoot) return context.localVolumeRoot;
  if (context.requireLocalVolumeRoot) {
    throw refused(
      'local storages are not enabled on this deployment (LOCAL_VOLUME_ROOT is not set); a request’s mountPath is never used here',
      'set LOCAL_VOLUME_ROOT to the function’s own mount of the volume (an EFS access point at /mnt/efs in Lambda)',
    );
  }
  return backend.mountPath;
}

/**
 * LOCAL_SUBPATH_TEMPLATE with the request's `{tenant}` and `{namespace}`, as path segments. A template
 * that needs a value the request's scope lacks is refused rather than collapsed into a shared directory.
 */
export function expandSubPathTemplate(template: string, scope: Store.StoreContext['scope']): string[] {
  const expanded = template.replace(/\{([^{}]*)\}/g, (_match, field: string) => {
    if (field !== 'tenant' && field !== 'namespace') {
      throw refused(
        `LOCAL_SUBPATH_TEMPLATE uses an unknown placeholder {${field}}`,
        'LOCAL_SUBPATH_TEMPLATE may use {tenant} and {namespace}, e.g. "{tenant}/{namespace}"',
      );
    }
    const value = scope?.[field];
    if (value === undefined) {
      throw refused(
        `LOCAL_SUBPATH_TEMPLATE needs the request’s ${field}, and it has none`,
        field === 'tenant'
          ? 'give the caller’s grant a tenant in API_GRANTS (a direct invoke names it in the request’s "tenant")'
          : 'the namespace comes from the storage’s metadata.namespace',
      );
    }
    if (value.length > 253 || !SCOPE_VALUE.test(value))
      throw refused(
        `the request’s ${field} "${value}" is not a DNS name`,
        'use a Kubernetes namespace or tenant name',
      );
    return value;
  });
  const segments = pathSegments(expanded, 'LOCAL_SUBPATH_TEMPLATE');
  if (segments.length === 0 || /[{}]/.test(expanded))
    throw refused('LOCAL_SUBPATH_TEMPLATE expands to no usable directory', 'use e.g. "{tenant}/{namespace}"');
  return segments;
}

export async function createStore(
  backend: LocalBackend,
  context: Store.StoreContext,
): Promise<Store.ObjectStore> {
  const volume = volumeRootOf(backend, context);
  const area = context.localSubPathTemplate
    ? join(volume, ...expandSubPathTemplate(context.localSubPathTemplate, context.scope))
    : volume;
  const subPath = backend.subPath ? pathSegments(backend.subPath, 'subPath') : [];
  return new LocalStore(join(area, ...subPath), { volume, area });
}
