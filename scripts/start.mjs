#!/usr/bin/env node
// `npm start`: the main job on the embedded default. Runs initialize, then check, on the local
// filesystem backend through `serverless invoke local` (offline, no AWS account), printing each status.
import { spawnSync } from 'node:child_process';

const env = {
  ...process.env,
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  // No AWS account here: never wait on the EC2 metadata endpoint for credentials.
  AWS_EC2_METADATA_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
};

for (const fn of ['initialize', 'check']) {
  console.log(`\n# serverless invoke local -f ${fn} -p events/local/${fn}.json`);
  const run = spawnSync('npx', ['serverless', 'invoke', 'local', '-f', fn, '-p', `events/local/${fn}.json`], {
    env,
    stdio: 'inherit',
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
