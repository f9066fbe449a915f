/**
 * The deployment package as it ships: `serverless package` (the real one, with serverless.yml's plugins)
 * run once on a copy of the sources, its zips unpacked, and each function invoked from its unpacked zip in
 * a fresh Node process (test/support/artifact-runner.mjs) with the environment the CloudFormation template
 * gives it. The build is cached under node_modules/.cache/bsf-artifact/<hash of the sources>, so test
 * files, workers and the Node 22 run share one build; a lock directory lets one process build at a time.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  access,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** What `serverless package` reads: the service, its plugins, the sources esbuild bundles. */
const SOURCES = [
  'serverless.yml',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts',
  'functions',
  'lib',
  'events/local',
];
const CACHE = join(ROOT, 'node_modules', '.cache', 'bsf-artifact');
const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'artifact-runner.mjs');

export interface PackagedFunction {
  name: string;
  /** The function's zip and the directory it was unpacked into (Lambda's /var/task). */
  zip: string;
  root: string;
  /** Handler file (as Lambda resolves `functions/check.handler`) and export. */
  file: string;
  exportName: string;
  /** Files in the zip, relative to its root. */
  files: string[];
  /** The string environment variables the template gives the function. */
  environment: Record<string, string>;
}

export interface Artifact {
  dir: string;
  template: {
    Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: unknown }>;
  };
  functions: Record<string, PackagedFunction>;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const source of SOURCES) {
    const path = join(ROOT, source);
    const files = (await stat(path)).isDirectory()
      ? (await listFiles(path)).map((file) => join(source, file))
      : [source];
    for (const file of files.sort())
      hash
        .update(`${file}\0`)
        .update(await readFile(join(ROOT, file)))
        .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** A copy of the project (sources and a link to node_modules), so packaging never races a checkout's .esbuild/. */
export async function projectCopy(label: string): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const copy = await mkdtemp(join(CACHE, `${label}-`));
  for (const source of SOURCES) await cp(join(ROOT, source), join(copy, source), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  return copy;
}

/** The framework's environment for a run on a machine without AWS credentials or a network. */
export function frameworkEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** `serverless <args>` in `cwd` with this Node; stdout and stderr together. */
export async function serverless(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'), ...args],
      { cwd, env: frameworkEnvironment(env), timeout: 240_000, maxBuffer: 32 * 1024 * 1024 },
    );
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    };
  }
}

/** `serverless package` of a project copy into `out`; throws with the framework's output when it fails. */
export async function packageInto(
  out: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<void> {
  const copy = await projectCopy('package');
  try {
    const { code, output } = await serverless(copy, ['package', '--package', out, ...args], env);
    if (code !== 0) throw new Error(`serverless package failed (${code}):\n${output}`);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/** Lambda's order for `functions/check.handler`: check.js, check.mjs, check.cjs. */
async function handlerFile(root: string, handler: string): Promise<{ file: string; exportName: string }> {
  const dot = handler.lastIndexOf('.');
  for (const extension of ['.js', '.mjs', '.cjs']) {
    const file = join(root, `${handler.slice(0, dot)}${extension}`);
    if (await exists(file)) return { file, exportName: handler.slice(dot + 1) };
  }
  throw new Error(`no handler file for ${handler} in ${root}`);
}

async function build(dir: string): Promise<void> {
  const out = join(dir, 'package');
  await packageInto(out);
  for (const zip of (await readdir(out)).filter((file) => file.endsWith('.zip'))) {
    await mkdir(join(dir, 'unpacked'), { recursive: true });
    await run('unzip', ['-q', join(out, zip), '-d', join(dir, 'unpacked', zip.slice(0, -'.zip'.length))]);
  }
}

async function load(dir: string): Promise<Artifact> {
  const template = JSON.parse(
    await readFile(join(dir, 'package', 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Artifact['template'];
  const functions: Record<string, PackagedFunction> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const properties = resource.Properties;
    const key = String(properties.Code.S3Key);
    const name = key.slice(key.lastIndexOf('/') + 1, -'.zip'.length);
    const root = join(dir, 'unpacked', name);
    const variables = (properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    functions[name] = {
      name,
      zip: join(dir, 'package', `${name}.zip`),
      root,
      ...(await handlerFile(root, String(properties.Handler))),
      files: await listFiles(root),
      environment: Object.fromEntries(
        Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      ),
    };
  }
  return { dir, template, functions };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let cached: Promise<Artifact> | undefined;

/** The packaged deployment of the current sources: built once per change of them, then reused. */
export function artifact(): Promise<Artifact> {
  cached ??= (async () => {
    const dir = join(CACHE, await sourceHash());
    const lock = `${dir}.lock`;
    await mkdir(CACHE, { recursive: true });
    for (;;) {
      if (await exists(join(dir, 'done'))) return load(dir);
      try {
        await mkdir(lock);
      } catch {
        // Another process builds: wait for it, or take over a lock whose builder died.
        const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
        if (owner > 0 && !alive(owner)) await rm(lock, { recursive: true, force: true });
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      try {
        await writeFile(join(lock, 'pid'), String(process.pid));
        const scratch = `${dir}.build-${process.pid}`;
        await rm(scratch, { recursive: true, force: true });
        await build(scratch);
        await writeFile(join(scratch, 'done'), new Date().toISOString());
        await rm(dir, { recursive: true, force: true });
        await rename(scratch, dir);
        // Builds of older sources are never read again.
        for (const stale of await readdir(CACHE))
          if (/^[0-9a-f]{16}$/.test(stale) && join(CACHE, stale) !== dir)
            await rm(join(CACHE, stale), { recursive: true, force: true });
      } finally {
        await rm(lock, { recursive: true, force: true });
      }
    }
  })();
  return cached;
}

export interface Invocation {
  /** The handler's return value (a direct invoke's result, or the HTTP response for an HTTP event). */
  result?: any;
  /** What Lambda would report for an exception the handler threw. */
  error?: { errorType?: string; errorMessage: string };
  /** Everything the function printed (its JSON log lines, EMF metrics). */
  output: string;
}

/**
 * Invokes `fn` from its unpacked zip in a fresh Node process (this Node: 20, or 22 in the Node 22 run),
 * with the template's environment for it, Lambda's variables and `env` on top.
 */
export async function invoke(
  fn: PackagedFunction,
  event: unknown,
  env: Record<string, string> = {},
  remainingMs = 30_000,
): Promise<Invocation> {
  const scratch = await mkdtemp(join(tmpdir(), `bsf-invoke-${fn.name}-`));
  const eventFile = join(scratch, 'event.json');
  const resultFile = join(scratch, 'result.json');
  await writeFile(eventFile, JSON.stringify(event));
  const environment = {
    PATH: process.env.PATH ?? '',
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: `backupstorage-functions-local-${fn.name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    LAMBDA_TASK_ROOT: fn.root,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...fn.environment,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...env,
  };
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [RUNNER, fn.file, fn.exportName, eventFile, resultFile, String(remainingMs)],
      { cwd: fn.root, env: environment, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 },
    );
    const outcome = JSON.parse(await readFile(resultFile, 'utf8')) as Omit<Invocation, 'output'>;
    return { ...outcome, output: `${stdout}${stderr}` };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The JSON body of an HTTP result. */
export function httpBody(invocation: Invocation): any {
  if (invocation.error) throw new Error(`handler threw: ${invocation.error.errorMessage}`);
  return JSON.parse(String(invocation.result.body));
}
