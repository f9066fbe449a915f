/**
 * Which results store a deployment uses: RESULTS_STORE = `dynamodb:<table>` | `file:<dir>` | `none`.
 * Unset: the embedded file store on the workstation stage (`<tmp>/backupstorage-functions/results`, so
 * /tmp/backupstorage-functions/results on a workstation and the run's own directory under tests), none
 * on deployed stages (serverless.yml sets the stack's table there).
 */
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { DynamoResultsStore } from './dynamodb-store.js';
import { FileResultsStore } from './file-store.js';
import type { ResultsStore } from './store.js';

export const RESULTS_STORE_SETTING = 'RESULTS_STORE';

/** The workstation's default directory (os.tmpdir() is read per call: test runs point TMPDIR elsewhere). */
export function workstationResultsDir(): string {
  return join(tmpdir(), 'backupstorage-functions', 'results');
}

/** RESULTS_STORE's value → a store (undefined for `none`); throws naming the setting when malformed. */
export function openResultsStore(
  setting: string,
  options: { historyDays?: number } = {},
): ResultsStore | undefined {
  const value = setting.trim();
  if (value === 'none') return undefined;
  if (value.startsWith('file:')) {
    const directory = value.slice('file:'.length);
    if (!isAbsolute(directory))
      throw new Error(`${RESULTS_STORE_SETTING}: file: needs an absolute directory (is "${directory}")`);
    return new FileResultsStore(directory);
  }
  if (value.startsWith('dynamodb:')) {
    const table = value.slice('dynamodb:'.length);
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table))
      throw new Error(`${RESULTS_STORE_SETTING}: "${table}" is not a DynamoDB table name`);
    return new DynamoResultsStore({
      table,
      ...(options.historyDays !== undefined ? { historyDays: options.historyDays } : {}),
    });
  }
  throw new Error(`${RESULTS_STORE_SETTING} must be dynamodb:<table>, file:<dir> or none (is "${value}")`);
}

/** The setting in force: RESULTS_STORE, else the stage's default. */
export function resultsStoreSetting(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[RESULTS_STORE_SETTING]?.trim();
  if (explicit) return explicit;
  return env.BSF_STAGE === 'local' ? `file:${workstationResultsDir()}` : 'none';
}

let cached: { setting: string; store: ResultsStore | undefined } | undefined;

/** The deployment's store, opened once per setting (tests and the CLI may change RESULTS_STORE between runs). */
export function deploymentResultsStore(env: NodeJS.ProcessEnv = process.env): ResultsStore | undefined {
  const setting = resultsStoreSetting(env);
  if (cached?.setting !== setting) {
    const days = Number(env.RESULTS_HISTORY_DAYS);
    cached = {
      setting,
      store: openResultsStore(setting, Number.isFinite(days) && days > 0 ? { historyDays: days } : {}),
    };
  }
  return cached.store;
}
