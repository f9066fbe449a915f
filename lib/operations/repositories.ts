/**
 * restic repositories as part of initialize and check. Each repository gets its own report: phase,
 * a `RepositoryInitialized` condition (reasons NoRepository, WrongPassword, NoKey, CorruptKey,
 * CorruptConfig, UnsupportedVersion, IncompleteRepository, PasswordMissing, or a storage error code)
 * and a Warning-severity `RepositoryUnlocked` condition for stale or exclusive locks, plus what the
 * repository holds (version, keys, snapshots, newest snapshot time).
 *
 * Stash: the bucket/prefix is the repository and the storage marker (lib/operations/markers/stash.ts).
 * KubeStash: `options.repositories` names repositories below the prefix; like KubeStash's own
 * Repository objects, their phases are their own and do not decide the BackupStorage's phase: the
 * storage status gets a Warning-severity `RepositoriesReady` summary and `status.repositories`.
 */
import { isStorageError, unknownError } from '../backends/errors.js';
import { joinKey } from '../backends/object-store.js';
import { CredentialsError, referenceFromTemplate, resolveCredentials } from '../credentials/resolve.js';
import type { SecretBag } from '../credentials/secret.js';
import { mapLimit } from '../runtime/concurrency.js';
import { repositoryPath, type RepositoryRequest } from '../config/restic-options.js';
import {
  initRepository,
  openRepository,
  RepositoryError,
  type LockInfo,
  type RepositoryInfo,
} from '../restic/repository.js';
import {
  StatusBuilder,
  type Condition,
  type ConditionInput,
  type Phase,
  type StorageStatus,
} from '../status/conditions.js';
import type { OperationContext } from './context.js';
import type { MarkerScope } from './markers/marker.js';
import type { Outcome } from './probes.js';
import type { Operation } from './context.js';
import { operationDeadline, type ExtensibleOperation } from './scope.js';

export const RepositoryConditionType = {
  Initialized: 'RepositoryInitialized',
  Unlocked: 'RepositoryUnlocked',
  /** KubeStash storages: summary of the repositories the request named (Warning severity). */
  RepositoriesReady: 'RepositoriesReady',
} as const;

export const PASSWORD_KEY = 'RESTIC_PASSWORD';
const SUCCEEDED = 'RepositoryInitializationSucceeded';
/** Several repositories are opened side by side; scrypt runs in libuv's pool, two at a time suit two cores. */
const REPOSITORY_CONCURRENCY = 2;
const SHOWN_LOCKS = 5;

export interface RepositoryReport extends Partial<Omit<RepositoryInfo, 'locks' | 'path'>> {
  /** Key prefix of the repository within the bucket/container. */
  path: string;
  phase: Phase;
  /** initialize: whether this call created it (false: it was there, or a concurrent call created it). */
  created?: boolean;
  kdf?: { N: number; r: number; p: number };
  locks?: LockInfo[];
  conditions: Condition[];
}

export type RepositoryMode = 'initialize' | 'verify';

/** Where a repository's password comes from; a problem instead when it cannot be had. */
export type PasswordSource = { password: string; secrets: string[] } | { problem: ConditionInput };

function describe(info: RepositoryInfo): string {
  const newest = info.newestSnapshotTime ? `, newest ${info.newestSnapshotTime}` : '';
  return `version ${info.version}, ${info.keyCount} key${info.keyCount === 1 ? '' : 's'}, ${info.snapshotCount} snapshot${info.snapshotCount === 1 ? '' : 's'}${newest}`;
}

function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return 'of unknown age';
  if (seconds < 120) return `${seconds}s old`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m old`;
  return `${Math.round(seconds / 3600)}h old`;
}

function describeLock(lock: LockInfo): string {
  if (lock.unreadable) return `unreadable lock ${lock.id.slice(0, 8)}`;
  const owner = `${lock.hostname ?? 'unknown host'}${lock.pid !== undefined ? ` (pid ${lock.pid})` : ''}`;
  return `${lock.exclusive ? 'exclusive' : 'shared'} lock ${lock.id.slice(0, 8)} by ${owner}, ${formatAge(lock.ageSeconds)}`;
}

/** The Warning-severity lock condition: stale locks (restic unlock removes them) and exclusive ones (prune, check). */
export function lockCondition(info: RepositoryInfo): ConditionInput {
  const type = RepositoryConditionType.Unlocked;
  const stale = info.locks.filter((lock) => lock.stale);
  const exclusive = info.locks.filter((lock) => lock.exclusive && !lock.stale);
  const more =
    info.lockCount > info.locks.length ? ` (${info.lockCount} locks, ${info.locks.length} read)` : '';
  if (stale.length > 0) {
    return {
      type,
      status: 'False',
      severity: 'Warning',
      reason: 'StaleLock',
      message: `${stale.length} stale lock${stale.length === 1 ? '' : 's'}: ${stale.slice(0, 3).map(describeLock).join('; ')}${more}`,
      hint: 'a restic process died holding its lock (or its host clock is off); if no restic runs on that host, `restic unlock` removes stale locks',
    };
  }
  if (exclusive.length > 0) {
    return {
      type,
      status: 'False',
      severity: 'Warning',
      reason: 'ExclusiveLock',
      message: `${exclusive.map(describeLock).join('; ')}${more}`,
      hint: 'an exclusive lock (prune, check, rebuild-index) blocks backups until it is released; wait for that operation to finish',
    };
  }
  if (info.lockCount > 0) {
    return {
      type,
      status: 'True',
      reason: 'SharedLocks',
      message: `${info.lockCount} shared lock${info.lockCount === 1 ? '' : 's'} (backups or restores in progress)`,
      severity: 'Warning',
    };
  }
  return { type, status: 'True', reason: 'NoLocks', message: 'No locks.', severity: 'Warning' };
}

function failure(error: unknown, provider: string, path: string): ConditionInput {
  const type = RepositoryConditionType.Initialized;
  if (error instanceof RepositoryError)
    return { type, status: 'False', reason: error.reason, message: error.message, hint: error.hint };
  const storageError = isStorageError(error) ? error : unknownError(error, provider, 'get', path);
  if (storageError.code === 'NotFound' && storageError.subject === 'bucket') {
    return {
      type,
      status: 'False',
      reason: 'NoRepository',
      message: storageError.message,
      hint: storageError.hint,
    };
  }
  return {
    type,
    status: 'False',
    reason: storageError.code,
    message: storageError.message,
    hint: storageError.hint,
  };
}

/**
 * Initializes (creating it when absent and `create`) or verifies one repository. Never throws: every
 * outcome is in the report; storage outcomes come back for the reachability conditions.
 */
export async function processRepository(
  scope: Pick<MarkerScope, 'store' | 'request' | 'deadline'>,
  root: string,
  source: PasswordSource,
  mode: RepositoryMode,
): Promise<{ report: RepositoryReport; outcomes: Outcome<unknown>[] }> {
  const status = new StatusBuilder();
  const path = joinKey(root);
  const report: RepositoryReport = { path, phase: 'NotReady', conditions: [] };
  const outcomes: Outcome<unknown>[] = [];
  if ('problem' in source) {
    status.set(source.problem);
  } else {
    status.addSecrets(source.secrets);
    const signal = scope.deadline.signal();
    const { options } = scope.request;
    try {
      let info: RepositoryInfo;
      if (mode === 'initialize') {
        const result = await initRepository(scope.store, path, source.password, {
          signal,
          version: options.resticConfigVersion,
          kdf: options.kdf,
        });
        info = result.info;
        report.created = result.created;
        if (result.kdf) report.kdf = result.kdf;
        const kdf = result.kdf ? ` (scrypt N=${result.kdf.N}, r=${result.kdf.r}, p=${result.kdf.p})` : '';
        status.ok(
          RepositoryConditionType.Initialized,
          SUCCEEDED,
          result.created
            ? `Created a restic repository, ${describe(info)}${kdf}.`
            : `A restic repository was already there and opens with the password: ${describe(info)}.`,
        );
      } else {
        info = await openRepository(scope.store, path, source.password, { signal });
        status.ok(
          RepositoryConditionType.Initialized,
          SUCCEEDED,
          `The restic repository opens with the password: ${describe(info)}.`,
        );
      }
      outcomes.push({ ok: true, value: undefined });
      const { locks, path: _path, ...facts } = info;
      Object.assign(report, facts);
      report.locks = locks.slice(0, SHOWN_LOCKS);
      status.set(lockCondition(info));
    } catch (error) {
      if (isStorageError(error)) outcomes.push({ ok: false, error });
      else if (error instanceof RepositoryError) outcomes.push({ ok: true, value: undefined });
      status.set(failure(error, scope.store.provider, path));
    }
  }
  const built = status.build();
  report.phase = built.phase;
  report.conditions = built.conditions;
  return { report, outcomes };
}

/** RESTIC_PASSWORD from a secret bag. */
export function passwordFrom(bag: SecretBag | undefined, where: string): PasswordSource {
  const password = bag?.reveal(PASSWORD_KEY);
  if (password === undefined || password === '') {
    return {
      problem: {
        type: RepositoryConditionType.Initialized,
        status: 'False',
        reason: 'PasswordMissing',
        message: `${where} has no ${PASSWORD_KEY}`,
        hint: `put the repository password under the key ${PASSWORD_KEY} in ${where}`,
      },
    };
  }
  return { password, secrets: bag?.revealAll() ?? [password] };
}

/** Resolves a repository's encryption secret (cached per reference within one request). */
async function encryptionPassword(
  request: RepositoryRequest,
  scope: MarkerScope,
  cache: Map<string, Promise<SecretBag>>,
): Promise<PasswordSource> {
  const secret = request.encryptionSecret;
  if (secret === undefined) return passwordFrom(scope.credentials, 'the storage secret');
  let reference: string;
  try {
    if (typeof secret === 'string') {
      reference = secret;
    } else {
      const template = scope.context.config.credentialsTemplate;
      const tenant = scope.context.scope?.tenant ?? scope.request.tenant;
      if (!template)
        throw new CredentialsError(
          'InvalidReference',
          secret.name,
          'an encryption secret by name needs the CREDENTIALS_SOURCE template',
        );
      reference = referenceFromTemplate(template, {
        name: secret.name,
        namespace: secret.namespace ?? scope.request.storage.namespace ?? 'default',
        ...(tenant ? { tenant } : {}),
      });
    }
    let pending = cache.get(reference);
    if (!pending) {
      pending = resolveCredentials(reference, { signal: scope.deadline.signal() });
      cache.set(reference, pending);
    }
    return passwordFrom(await pending, `encryption secret ${reference}`);
  } catch (error) {
    const credentialsError =
      error instanceof CredentialsError
        ? error
        : new CredentialsError('Unavailable', 'encryption secret', 'the encryption secret could not be read');
    return {
      problem: {
        type: RepositoryConditionType.Initialized,
        status: 'False',
        reason: 'EncryptionSecretNotAvailable',
        message: `${credentialsError.message} (reference ${credentialsError.reference})`,
        hint:
          credentialsError.hint ??
          'create the Repository’s encryption Secret with RESTIC_PASSWORD, and point encryptionSecret at it',
      },
    };
  }
}

/** The repositories a request names, processed two at a time. */
export async function processRequestedRepositories(
  scope: MarkerScope,
  mode: RepositoryMode,
): Promise<{ reports: RepositoryReport[]; outcomes: Outcome<unknown>[] }> {
  const requested = scope.request.options.repositories ?? [];
  const cache = new Map<string, Promise<SecretBag>>();
  const results = await mapLimit(requested, REPOSITORY_CONCURRENCY, async (repository) => {
    const source = await encryptionPassword(repository, scope, cache);
    const repositoryMode = mode === 'initialize' && repository.create !== false ? 'initialize' : 'verify';
    return processRepository(
      scope,
      joinKey(scope.prefix, repositoryPath(repository)),
      source,
      repositoryMode,
    );
  });
  return {
    reports: results.map((result) => result.report),
    outcomes: results.flatMap((result) => result.outcomes),
  };
}

function summaryCondition(reports: RepositoryReport[]): ConditionInput {
  const failing = reports.filter((report) => report.phase !== 'Ready');
  const type = RepositoryConditionType.RepositoriesReady;
  if (failing.length === 0) {
    return {
      type,
      status: 'True',
      severity: 'Warning',
      reason: 'RepositoriesReady',
      message: `${reports.length} restic repositor${reports.length === 1 ? 'y opens' : 'ies open'} with their passwords.`,
    };
  }
  const details = failing
    .slice(0, 3)
    .map((report) => {
      const condition = report.conditions.find(
        (c) => c.type === RepositoryConditionType.Initialized && c.status !== 'True',
      );
      return `${report.path}: ${condition?.reason ?? 'NotReady'}`;
    })
    .join('; ');
  return {
    type,
    status: 'False',
    severity: 'Warning',
    reason: 'RepositoriesNotReady',
    message: `${failing.length} of ${reports.length} repositories not ready (${details})`,
    hint: 'see status.repositories for each repository’s conditions',
  };
}

/**
 * Wraps initialize or check: when the request names repositories, they are processed after the
 * storage itself, on the same session (one credentials resolution, one store), with a deadline of
 * their own, and their reports and summary are added to its status. The summary is a Warning, so the
 * storage phase stays the storage's (KubeStash's BackupStorage phase ignores repositories). When the
 * session could not be opened, the summary says the repositories were not checked.
 */
export function withRepositories(mode: RepositoryMode, base: ExtensibleOperation): Operation {
  return async (request, context: OperationContext) => {
    if (!request.options.repositories?.length) return base(request, context);
    let repositories: StorageStatus | undefined;
    const result = await base(request, context, async (scope) => {
      const status = new StatusBuilder();
      const { reports } = await processRequestedRepositories(
        { ...scope, status, deadline: operationDeadline(context, request) },
        mode,
      );
      status.extra.repositories = reports;
      status.set(summaryCondition(reports));
      repositories = status.build();
    });
    const reports = (repositories?.repositories as RepositoryReport[] | undefined) ?? [];
    const known = new Set(result.status.conditions.map((condition) => condition.type));
    const summary =
      repositories?.conditions.find(
        (condition) => condition.type === RepositoryConditionType.RepositoriesReady,
      ) ??
      new StatusBuilder()
        .set({
          type: RepositoryConditionType.RepositoriesReady,
          status: 'Unknown',
          severity: 'Warning',
          reason: 'NotChecked',
          message: 'the repositories could not be checked (see the storage conditions)',
        })
        .build().conditions[0];
    const existing = (result.status.repositories as RepositoryReport[] | undefined) ?? [];
    return {
      ...result,
      status: {
        ...result.status,
        conditions:
          known.has(RepositoryConditionType.RepositoriesReady) || !summary
            ? result.status.conditions
            : [...result.status.conditions, summary],
        repositories: [...existing, ...reports],
        timings: { ...result.status.timings, repositories: repositories?.timings.total ?? 0 },
      },
    };
  };
}
