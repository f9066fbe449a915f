/**
 * bsf: the functions from a terminal. `bsf check storage.yaml` runs the check handler in this process
 * (a direct invoke: operator trust) and prints the status for people, or as JSON/YAML for scripts.
 * Exit codes: 0 Ready, 1 NotReady, 2 invalid request or usage, 3 internal error.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { USAGE, UsageError, parseCommandLine, type CommonFlags, type Output } from './args.js';
import { completionScript } from './completion.js';
import { prepareEnvironment } from './environment.js';
import { progressDisplay } from './progress.js';
import { asDocument, errorText, fleetTable, operationTable, type ErrorBody } from './render.js';
import { loadRequest } from './request.js';

export const EXIT = { ready: 0, notReady: 1, usage: 2, internal: 3 } as const;

export interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((done) => {
    if (!stream.write(text)) stream.once('drain', done);
    else done();
  });
}

async function version(): Promise<string> {
  // cli/ in a checkout and dist/ in a package are both one level below package.json.
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** Prints a refused request: the document on stdout for scripts, the fields on stderr for people. */
async function refused(streams: Streams, output: Output, error: ErrorBody): Promise<void> {
  if (output !== 'table') await write(streams.stdout, asDocument({ error }, output));
  await write(streams.stderr, errorText(error));
}

function exitFor(statusCode: number): number {
  return statusCode >= 500 && statusCode !== 501 ? EXIT.internal : EXIT.usage;
}

async function result(streams: Streams, flags: CommonFlags, value: unknown, table: string): Promise<void> {
  await write(streams.stdout, flags.output === 'table' ? table : asDocument(value, flags.output));
}

export async function main(argv: readonly string[], streams: Streams): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await write(streams.stderr, `bsf: ${error.message}\n(bsf --help for usage)\n`);
    return EXIT.usage;
  }
  if (command.kind === 'help') {
    await write(streams.stdout, `${USAGE}\n`);
    return EXIT.ready;
  }
  if (command.kind === 'version') {
    await write(streams.stdout, `bsf ${await version()}\n`);
    return EXIT.ready;
  }
  if (command.kind === 'completion') {
    await write(streams.stdout, completionScript(command.shell));
    return EXIT.ready;
  }

  const { flags } = command;
  prepareEnvironment(flags.verbosity);
  let invoke: typeof import('./invoke.js');
  let request;
  try {
    if (command.kind === 'operation') {
      request = await loadRequest(command.file, {
        ...(command.credentials !== undefined ? { credentials: command.credentials } : {}),
        options: command.options,
        notify: command.notify,
      });
    }
    // The handlers validate the deployment settings as they load: a bad one names its variable.
    invoke = await import('./invoke.js');
    await invoke.loadHandler(command.kind === 'fleet' ? 'fleet' : command.operation);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await write(streams.stderr, `bsf: ${message}\n`);
    return error instanceof UsageError || /^invalid (deployment|fleet) configuration/.test(message)
      ? EXIT.usage
      : EXIT.internal;
  }

  const showsProgress =
    command.kind === 'fleet' || command.operation === 'inventory' || command.operation === 'cleanup';
  const display = showsProgress
    ? progressDisplay(streams.stderr, flags.progress ?? streams.stderr.isTTY === true)
    : undefined;
  try {
    if (command.kind === 'fleet') {
      const output = await invoke
        .runFleetCommand(`file:${resolve(command.file)}`, flags.timeoutSeconds, display?.sink)
        .finally(() => display?.finish());
      await result(streams, flags, output, fleetTable(output));
      const checked = output.results.filter(
        (entry) => entry.state === 'checked' || entry.state === 'notChecked',
      );
      return checked.every((entry) => entry.phase === 'Ready') ? EXIT.ready : EXIT.notReady;
    }
    const outcome = await invoke
      .runOperationCommand(command.operation, request ?? {}, flags.timeoutSeconds, display?.sink)
      .finally(() => display?.finish());
    if (outcome.kind === 'error') {
      await refused(streams, flags.output, outcome.error);
      return exitFor(outcome.statusCode);
    }
    await result(streams, flags, outcome.result, operationTable(outcome.result));
    return outcome.result.status.phase === 'Ready' ? EXIT.ready : EXIT.notReady;
  } catch (error) {
    if (error instanceof Error && error.name === 'FleetSourceError') {
      await refused(streams, flags.output, { code: 'InvalidFleet', message: error.message });
      return EXIT.usage;
    }
    await write(
      streams.stderr,
      `bsf: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT.internal;
  }
}
