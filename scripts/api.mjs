#!/usr/bin/env node
/**
 * `npm run api`: the HTTP API on this machine (serverless offline, stage `local` unless --stage says
 * otherwise: no IAM authorizer there; BSF_API_AUTH=hmac with API_AUTH_SECRET_REF for signed requests).
 * serverless offline and the handler processes it starts run in a process group of their own; Ctrl-C
 * or SIGTERM stops that whole group, so no child keeps the port, and a second start finds it free.
 *
 *   npm run api                         http://localhost:3000 (PORT=… or --port … to change)
 *   npm run api -- --port 4000 --host 127.0.0.1
 *
 * Other arguments go to `serverless offline` as they are.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const STOP_GRACE_MS = 5000;

function takeOption(args, name) {
  const index = args.indexOf(name);
  if (index < 0) return undefined;
  const [, value] = args.splice(index, 2);
  if (value === undefined) {
    process.stderr.write(`api: ${name} needs a value\n`);
    process.exit(2);
  }
  return value;
}

const args = process.argv.slice(2);
const port = Number(takeOption(args, '--port') ?? process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port <= 0 || port > 65533) {
  process.stderr.write(`api: --port must be a TCP port (got ${port})\n`);
  process.exit(2);
}
const host = takeOption(args, '--host') ?? 'localhost';
const stage = takeOption(args, '--stage') ?? 'local';

const require = createRequire(import.meta.url);
const serverlessPackage = require.resolve('serverless/package.json');
const { bin } = require(serverlessPackage);
const serverless = join(dirname(serverlessPackage), typeof bin === 'string' ? bin : bin.serverless);

const child = spawn(
  process.execPath,
  [
    serverless,
    'offline',
    '--stage',
    stage,
    '--host',
    host,
    '--httpPort',
    String(port),
    // The port serverless offline serves direct invokes on: beside the API's, not its default 3002.
    '--lambdaPort',
    String(port + 2),
    ...args,
  ],
  {
    cwd: dirname(dirname(new URL(import.meta.url).pathname)),
    stdio: 'inherit',
    // Its own process group: stopping kills every process in it, the handler workers included.
    detached: true,
    env: {
      ...process.env,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      // No AWS account needed: never wait on the EC2 metadata endpoint for credentials.
      AWS_EC2_METADATA_DISABLED: process.env.AWS_EC2_METADATA_DISABLED ?? 'true',
    },
  },
);

let stopping = false;
function stop(signal) {
  if (stopping || child.exitCode !== null) return;
  stopping = true;
  process.stderr.write(`\napi: ${signal}: stopping serverless offline (process group ${child.pid})\n`);
  const group = -child.pid;
  try {
    process.kill(group, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, STOP_GRACE_MS).unref();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));

child.on('exit', (code, signal) => {
  // Whatever is left of the group (a handler worker) goes with it.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Nothing left.
  }
  process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
});
