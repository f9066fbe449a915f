/**
 * The command line: `bsf <command> <file | -> [flags]`. Parsing only; a mistake is a UsageError that
 * names the flag or argument, and the CLI exits 2 with it.
 */
import { parseArgs } from 'node:util';

export const OPERATION_COMMANDS = ['initialize', 'check', 'inventory', 'cleanup'] as const;
export type OperationCommand = (typeof OPERATION_COMMANDS)[number];
export const OUTPUTS = ['table', 'json', 'yaml'] as const;
export type Output = (typeof OUTPUTS)[number];
export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** A usage mistake: the CLI prints it with the usage line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CommonFlags {
  output: Output;
  /** 0 quiet (only the result), 1 info logs on stderr, 2 debug logs. */
  verbosity: number;
  /** Seconds one invocation may run (the Lambda timeout it stands in for). */
  timeoutSeconds?: number;
  /** Show progress on stderr: on a terminal by default. */
  progress?: boolean;
}

export type Command =
  | { kind: 'help'; topic?: string }
  | { kind: 'version' }
  | { kind: 'completion'; shell: Shell }
  | {
      kind: 'operation';
      operation: OperationCommand;
      file: string;
      credentials?: string;
      options: string[];
      notify: string[];
      flags: CommonFlags;
    }
  | { kind: 'fleet'; file: string; flags: CommonFlags };

export const USAGE = `Usage:
  bsf initialize|check|inventory|cleanup <file | -> [--credentials REF] [--option key=value …]
      [--notify webhook=URL | webhook.secret=REF | sqs=QUEUE_URL …] [-o|--output table|json|yaml]
      [--timeout SECONDS] [--[no-]progress] [-v]
  bsf fleet <List.yaml> [--output table|json|yaml] [--timeout SECONDS] [--[no-]progress] [-v]
  bsf completion bash|zsh
  bsf --help | --version

<file> is a manifest as kubectl prints it (BackupStorage, Repository, Restic; YAML or JSON) or a whole
request ({storage, credentials, options, notify}); "-" reads standard input.
Exit codes: 0 Ready, 1 NotReady, 2 invalid request or usage, 3 internal error.`;

const FLAGS = {
  credentials: { type: 'string' },
  option: { type: 'string', multiple: true },
  notify: { type: 'string', multiple: true },
  // -o as kubectl has it.
  output: { type: 'string', short: 'o' },
  timeout: { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  verbose: { type: 'boolean', multiple: true, short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${what} must be one of ${allowed.join(', ')} (got "${value}")`);
}

function commonFlags(values: {
  output?: string;
  timeout?: string;
  progress?: boolean;
  'no-progress'?: boolean;
  verbose?: boolean[];
}): CommonFlags {
  const flags: CommonFlags = {
    output: values.output === undefined ? 'table' : oneOf(values.output, OUTPUTS, '--output'),
    verbosity: values.verbose?.length ?? 0,
  };
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw new UsageError(`--timeout must be a positive number of seconds (got "${values.timeout}")`);
    flags.timeoutSeconds = seconds;
  }
  if (values.progress && values['no-progress'])
    throw new UsageError('--progress and --no-progress contradict each other');
  if (values.progress) flags.progress = true;
  if (values['no-progress']) flags.progress = false;
  return flags;
}

export function parseCommandLine(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    // node's messages name the flag: "Unknown option '--ouput'".
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version) return { kind: 'version' };
  if (values.help || command === undefined || command === 'help')
    return { kind: 'help', ...(command && command !== 'help' ? { topic: command } : {}) };

  if (command === 'completion') {
    if (rest.length !== 1) throw new UsageError('completion takes one argument: bash or zsh');
    return { kind: 'completion', shell: oneOf(rest[0] as string, SHELLS, 'the completion shell') };
  }
  const operation = (OPERATION_COMMANDS as readonly string[]).includes(command)
    ? (command as OperationCommand)
    : undefined;
  if (!operation && command !== 'fleet')
    throw new UsageError(
      `unknown command "${command}"; use one of ${[...OPERATION_COMMANDS, 'fleet', 'completion'].join(', ')}`,
    );
  if (rest.length === 0)
    throw new UsageError(
      command === 'fleet'
        ? 'fleet needs <List.yaml>: the fleet manifest (kubectl get backupstorages -A -o yaml)'
        : `${command} needs <file>: a manifest or a request (YAML or JSON), or "-" for standard input`,
    );
  if (rest.length > 1)
    throw new UsageError(`${command} takes one file, got ${rest.length}: ${rest.join(' ')}`);
  const file = rest[0] as string;
  const flags = commonFlags(values);
  if (!operation) {
    for (const flag of ['credentials', 'option', 'notify'] as const)
      if (values[flag] !== undefined)
        throw new UsageError(`--${flag} is for a single storage; a fleet's entries carry their own`);
    return { kind: 'fleet', file, flags };
  }
  return {
    kind: 'operation',
    operation,
    file,
    ...(values.credentials !== undefined ? { credentials: values.credentials } : {}),
    options: values.option ?? [],
    notify: values.notify ?? [],
    flags,
  };
}
