/**
 * `npm run emulators`: every provider's emulator on loopback, started as the test suite starts them
 * (test/servers/, through test/servers/start.ts): s3rver behind its fixed launcher, azurite with
 * telemetry off, the Swift all-in-one where Debian's swift is installed, the GCS, B2 and REST contract
 * fakes. For each one it writes a secret directory under one temporary directory and prints the `bsf`
 * commands, ready to paste, that initialize and check a storage there (events/emulators/*.json). Ctrl-C
 * stops everything and removes the directory.
 *
 *   npm run emulators                    all of them
 *   npm run emulators -- --only s3,gcs   some (names as printed: s3, azure, gcs, b2, swift, rest)
 */
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findServers, startServers, type StartedSet } from '../test/servers/start.js';

type Info = Record<string, string>;

interface Emulator {
  provider: string;
  /** The server's name in test/servers/. */
  server: string;
  label: string;
  /** Keys of the secret directory, from what the server published. */
  secret(info: Info): Record<string, string>;
  /** The service endpoint, passed as options.endpoint (Swift's comes from its auth URL in the secret). */
  endpoint?(info: Info): string;
  /** Programs that must be on PATH, with the packages that bring them. */
  requires?: { programs: string[]; install: string };
}

const EMULATORS: Emulator[] = [
  {
    provider: 's3',
    server: 's3rver',
    label: 's3rver',
    secret: (info) => ({
      AWS_ACCESS_KEY_ID: info.accessKeyId ?? '',
      AWS_SECRET_ACCESS_KEY: info.secretAccessKey ?? '',
    }),
    endpoint: (info) => info.endpoint ?? '',
  },
  {
    provider: 'azure',
    server: 'azurite',
    label: 'azurite (blob service, telemetry off; the development account, whose key Microsoft publishes)',
    secret: (info) => ({
      AZURE_ACCOUNT_NAME: info.accountName ?? '',
      AZURE_ACCOUNT_KEY: info.accountKey ?? '',
    }),
    endpoint: (info) => info.endpoint ?? '',
  },
  {
    provider: 'gcs',
    server: 'gcs-fake',
    label: 'contract fake of the GCS JSON API',
    secret: (info) => ({ GOOGLE_PROJECT_ID: info.projectId ?? '' }),
    endpoint: (info) => info.endpoint ?? '',
  },
  {
    provider: 'b2',
    server: 'b2-fake',
    label: 'contract fake of the B2 native API',
    secret: (info) => ({ B2_ACCOUNT_ID: info.accountId ?? '', B2_ACCOUNT_KEY: info.masterKey ?? '' }),
    endpoint: (info) => info.endpoint ?? '',
  },
  {
    provider: 'swift',
    server: 'swift',
    label: "OpenStack Swift all-in-one (Debian's swift 2.30, tempauth)",
    secret: (info) => ({ ST_AUTH: info.authUrl ?? '', ST_USER: info.user ?? '', ST_KEY: info.key ?? '' }),
    requires: {
      programs: ['swift-proxy-server', 'swift-object-server', 'swift-ring-builder', 'memcached'],
      install: 'apt-get install swift swift-proxy swift-object swift-container swift-account memcached',
    },
  },
  {
    provider: 'rest',
    server: 'rest-fake',
    label: "contract fake of restic's REST server (Stash Repository; the restic password is in the secret)",
    secret: (info) => ({
      REST_SERVER_USERNAME: info.username ?? '',
      REST_SERVER_PASSWORD: info.password ?? '',
      RESTIC_PASSWORD: 'emulator-demo-password',
    }),
    endpoint: (info) => info.endpoint ?? '',
  },
];

async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const found = await access(join(dir, program), constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return true;
  }
  return false;
}

function only(): string[] | undefined {
  const index = process.argv.indexOf('--only');
  if (index < 0) return undefined;
  const list = process.argv[index + 1];
  if (!list) throw new Error('--only needs a comma list: s3,azure,gcs,b2,swift,rest');
  return list.split(',').map((name) => name.trim());
}

/** Single quotes for the shell, so a pasted command means what it says whatever the path holds. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

function commands(emulator: Emulator, info: Info, secretDir: string): string[] {
  const common = [
    `--credentials ${shellQuote(`dir:${secretDir}`)}`,
    ...(emulator.endpoint ? [`--option endpoint=${shellQuote(emulator.endpoint(info))}`] : []),
  ].join(' ');
  const events = `events/emulators/${emulator.provider}.json`;
  return [
    `ALLOW_PRIVATE_ENDPOINTS=loopback npx bsf initialize ${events} ${common} --option createBucket=true`,
    `ALLOW_PRIVATE_ENDPOINTS=loopback npx bsf check ${events} ${common}`,
  ];
}

async function main(): Promise<void> {
  const wanted = only();
  const chosen = EMULATORS.filter((emulator) => !wanted || wanted.includes(emulator.provider));
  const root = await mkdtemp(join(tmpdir(), 'bsf-emulators-'));
  // The servers keep their data under os.tmpdir(): all of it goes under root, removed on stop.
  process.env.TMPDIR = root;

  const runnable: Emulator[] = [];
  for (const emulator of chosen) {
    const missing = [];
    for (const program of emulator.requires?.programs ?? [])
      if (!(await onPath(program))) missing.push(program);
    if (missing.length > 0) {
      process.stdout.write(
        `${emulator.provider}: skipped, ${missing.join(', ')} not installed (Debian: ${emulator.requires?.install})\n`,
      );
    } else runnable.push(emulator);
  }
  const servers = await findServers(runnable.map((emulator) => emulator.server));
  for (const emulator of runnable)
    if (!servers.some((server) => server.name === emulator.server))
      process.stdout.write(`${emulator.provider}: skipped, test/servers/ has no ${emulator.server}\n`);
  process.stdout.write(`starting ${servers.map((server) => server.name).join(', ')} …\n`);
  const running = await startServers(servers);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the emulators and removing ${root}\n`);
    await running.stop();
    await rm(root, { recursive: true, force: true });
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));

  try {
    await printCommands(runnable, running, root);
  } catch (error) {
    await running.stop();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Writes each started emulator's secret directory and prints its endpoint and commands. */
async function printCommands(
  runnable: readonly Emulator[],
  running: StartedSet,
  root: string,
): Promise<void> {
  for (const failure of running.failed)
    process.stdout.write(`${failure.name}: failed to start: ${failure.reason.split('\n')[0]}\n`);

  process.stdout.write(`\nEmulators on loopback; secrets under ${root}/secrets. From the repository:\n`);
  for (const emulator of runnable) {
    const started = running.started.find((entry) => entry.name === emulator.server);
    if (!started) continue;
    const info = started.server.info;
    const secretDir = join(root, 'secrets', emulator.provider);
    await mkdir(secretDir, { recursive: true });
    for (const [key, value] of Object.entries(emulator.secret(info)))
      await writeFile(join(secretDir, key), value, { mode: 0o600 });
    const where = emulator.endpoint ? emulator.endpoint(info) : (info.authUrl ?? '');
    process.stdout.write(
      `\n${emulator.provider}: ${emulator.label}\n  endpoint ${where}\n  secret   ${secretDir}\n`,
    );
    for (const line of commands(emulator, info, secretDir)) process.stdout.write(`  $ ${line}\n`);
  }
  process.stdout.write(`\nReady. Ctrl-C stops the emulators.\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulators: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
