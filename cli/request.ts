/**
 * The request the CLI sends to a handler: a file (or standard input) holding a manifest as kubectl
 * prints it or a whole request, with the command line's --credentials, --option and --notify on top.
 * Only the shape is put together here; the handler validates it and names any bad field.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { UsageError } from './args.js';

export type Body = Record<string, unknown>;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readInput(file: string): Promise<string> {
  if (file === '-') return readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${file}${code === 'ENOENT' ? ': no such file' : ` (${code ?? 'error'})`}`,
    );
  }
}

/** One YAML or JSON document (JSON is YAML); several documents or none are a usage error. */
export function parseDocument(text: string, name: string): unknown {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new UsageError(`${name}: not YAML or JSON`);
  const filled = documents.filter((document) => document.contents !== null);
  if (filled.length !== 1)
    throw new UsageError(
      `${name}: expected one document, found ${filled.length}${filled.length > 1 ? ' (a List of storages is for "bsf fleet")' : ''}`,
    );
  const [document] = filled;
  const problem = document?.errors[0];
  if (problem) throw new UsageError(`${name}: ${problem.message.split('\n')[0]}`);
  return document?.toJS({ maxAliasCount: 100 });
}

function isObject(value: unknown): value is Body {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A manifest has a kind (or a bare Stash backend block); a request has a `storage`. */
export function asRequest(document: unknown, name: string): Body {
  if (!isObject(document)) throw new UsageError(`${name}: expected a manifest or a request object`);
  if (document.kind === 'List')
    throw new UsageError(`${name} is a List of storages: check it with "bsf fleet ${name}"`);
  if ('storage' in document && !('kind' in document) && !('apiVersion' in document)) return { ...document };
  return { storage: document };
}

/** `a.b=value`: the value is read as YAML, so `true`, `20` and `[x, y]` arrive typed and URLs as text. */
function assignment(text: string, flag: string): [string[], unknown] {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new UsageError(`${flag} expects key=value (got "${text}")`);
  const path = text.slice(0, equals).split('.');
  if (path.some((segment) => segment === '' || segment === '__proto__'))
    throw new UsageError(`${flag}: "${text.slice(0, equals)}" is not a key`);
  const raw = text.slice(equals + 1);
  let value: unknown;
  try {
    value = raw === '' ? '' : parseYaml(raw);
  } catch {
    value = raw;
  }
  return [path, value];
}

function setPath(target: Body, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    node[segment] = isObject(next) ? { ...next } : {};
    node = node[segment] as Body;
  }
  node[path[path.length - 1] as string] = value;
}

/** --notify names: `webhook` and `sqs` are the URLs, anything else a field of notify as written. */
const NOTIFY_SHORTHANDS: Record<string, readonly string[]> = {
  webhook: ['webhook', 'url'],
  sqs: ['sqs', 'queueUrl'],
};

export interface Overrides {
  credentials?: string;
  options: readonly string[];
  notify: readonly string[];
}

export function applyOverrides(request: Body, overrides: Overrides): Body {
  const result: Body = { ...request };
  if (overrides.credentials !== undefined) result.credentials = overrides.credentials;
  if (overrides.options.length > 0) {
    const options: Body = isObject(result.options) ? { ...result.options } : {};
    for (const text of overrides.options) {
      const [path, value] = assignment(text, '--option');
      setPath(options, path, value);
    }
    result.options = options;
  }
  if (overrides.notify.length > 0) {
    const notify: Body = isObject(result.notify) ? { ...result.notify } : {};
    for (const text of overrides.notify) {
      const [path, value] = assignment(text, '--notify');
      const full = path.length === 1 ? (NOTIFY_SHORTHANDS[path[0] as string] ?? path) : path;
      setPath(notify, full, typeof value === 'string' ? value : String(value));
    }
    result.notify = notify;
  }
  return result;
}

export async function loadRequest(file: string, overrides: Overrides): Promise<Body> {
  const name = file === '-' ? 'standard input' : file;
  return applyOverrides(asRequest(parseDocument(await readInput(file), name), name), overrides);
}
