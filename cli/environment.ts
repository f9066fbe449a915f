/**
 * The CLI runs the functions in-process, configured from the environment like a deployment. Without
 * BSF_STAGE it is the workstation stage `local`, with the same defaults serverless.yml gives that stage
 * (custom.localVolumeRoot.local, custom.demoResticPassword.local), so `bsf check events/local/check.json`
 * behaves as `npm start` does. Logs go to stderr only, and only when asked for: stdout is the result's.
 * This must run before the handlers are imported: they read their configuration at load.
 */
import { Console } from 'node:console';

/** serverless.yml's values for the local stage; set only where the environment leaves them unset. */
export const WORKSTATION_DEFAULTS: Readonly<Record<string, string>> = {
  LOCAL_VOLUME_ROOT: '/tmp/backupstorage-functions/volume',
  BSF_DEMO_RESTIC_PASSWORD: 'changeit',
};

const LOG_LEVELS = ['SILENT', 'INFO', 'DEBUG'] as const;

export function prepareEnvironment(verbosity: number, env: NodeJS.ProcessEnv = process.env): void {
  if (!env.BSF_STAGE) env.BSF_STAGE = 'local';
  if (env.BSF_STAGE === 'local') {
    for (const [name, value] of Object.entries(WORKSTATION_DEFAULTS)) if (!env[name]) env[name] = value;
  }
  env.POWERTOOLS_LOG_LEVEL = LOG_LEVELS[Math.min(verbosity, LOG_LEVELS.length - 1)];
  // Powertools then writes through the global console (below), not its own stdout writer.
  env.POWERTOOLS_DEV = 'true';
  env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  env.SLS_TELEMETRY_DISABLED ??= '1';
  // Quiet means quiet: process warnings (an SDK's Node version notice) only with -v.
  if (verbosity === 0) process.removeAllListeners('warning');
  // Every console write goes to stderr.
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
}
