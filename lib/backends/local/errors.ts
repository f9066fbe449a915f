/**
 * The local backend's error table: Node's errno codes (ENOENT, EACCES, EROFS, ENOSPC, ELOOP, …) to portable
 * codes, with hints for the mounts a Kubernetes volume has (fsGroup, read-only mounts, symlinks).
 */
import { StorageError, type StorageOperation } from '../errors.js';

export const LOCAL_PROVIDER = 'local';

type Errno = NodeJS.ErrnoException;

/** Any failure of a filesystem call as a StorageError: the one table from errno codes to portable codes. */
export function localError(error: unknown, operation: StorageOperation, key?: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as Errno | undefined)?.code;
  const base = { provider: LOCAL_PROVIDER, operation, key, cause: error };
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
    case 'ELOOP':
      return new StorageError({
        ...base,
        code: 'InvalidConfig',
        message: `${key ?? 'the storage root'} is a symbolic link (or leads through a broken one)`,
        hint: 'the local backend does not follow symbolic links for objects; replace the link with the file or directory itself',
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
