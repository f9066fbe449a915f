/**
 * The console (docs/console.md): server-rendered pages over the results store.
 *
 *   GET  /console                          the list (namespace filter, sorting, pages)
 *   GET  /console/<namespace>/<name>       a storage
 *   POST /console/<namespace>/<name>/check "Check now": check it and record the result, then show it
 *   GET  /console/new                      the create form
 *   POST /console/new                      Preview, Test connection, Initialize
 *
 * A caller sees only the namespaces its grants name (the same API_GRANTS the API uses); the operator
 * (a direct invoke) and the workstation see everything. Every run goes through lib/operations/run.ts,
 * so authorization, endpoint rules and sanitizing are the API's own.
 */
import { RequestError } from '../config/request-error.js';
import type { OperationContext } from '../operations/context.js';
import type { OperationResult } from '../status/result.js';
import { runOperation, runOperationWithSecrets, type OperationName } from '../operations/run.js';
import type { ResultsStore } from '../results/store.js';
import { grantFor } from '../trust/grants.js';
import { OPERATOR } from '../trust/scope.js';
import { defaultForm, manifestOf, parseCreateForm, renderCreate, validate } from './create.js';
import { renderDetail } from './detail.js';
import { markup, type Html } from './html.js';
import { parseListQuery, renderList, selectPage } from './list.js';
import { PAGE_HEADERS, page } from './page.js';
import { detailPath, keyOfPath } from './paths.js';

export interface ConsoleRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  /** A POSTed form (application/x-www-form-urlencoded). */
  form?: URLSearchParams;
}

export interface ConsoleResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface ConsoleDeps {
  store: ResultsStore | undefined;
  /** The operation context of this call; its caller decides what is visible. */
  context: OperationContext;
  now?: number;
}

/** Largest form body accepted. */
export const MAX_FORM_BYTES = 64 * 1024;

/** An HTTP event (API Gateway v1/v2, function URL), structurally: lib/ never imports Lambda's types. */
export interface HttpLikeEvent {
  rawPath?: string;
  path?: string;
  httpMethod?: string;
  requestContext?: { http?: { method?: string } };
  rawQueryString?: string;
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  headers?: Record<string, string | undefined> | null;
}

export function consoleRequestOf(event: HttpLikeEvent): ConsoleRequest {
  const method = (event.requestContext?.http?.method ?? event.httpMethod ?? 'GET').toUpperCase();
  const path = event.rawPath ?? event.path ?? '/console';
  const query: Record<string, string | undefined> = event.rawQueryString
    ? Object.fromEntries(new URLSearchParams(event.rawQueryString))
    : { ...(event.queryStringParameters ?? {}) };
  const request: ConsoleRequest = { method, path, query };
  if (method === 'POST') {
    const raw = event.body ?? '';
    const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    if (Buffer.byteLength(text) > MAX_FORM_BYTES)
      throw new RequestError('PayloadTooLarge', `the form is larger than ${MAX_FORM_BYTES} bytes`);
    const type = (event.headers?.['content-type'] ?? 'application/x-www-form-urlencoded')
      .split(';')[0]
      ?.trim();
    if (type !== 'application/x-www-form-urlencoded')
      throw new RequestError(
        'UnsupportedMediaType',
        'the console takes application/x-www-form-urlencoded forms',
      );
    request.form = new URLSearchParams(text);
  }
  return request;
}

function respond(statusCode: number, title: string, body: Html, footer?: string): ConsoleResponse {
  return {
    statusCode,
    headers: { ...PAGE_HEADERS },
    body: page({ title, ...(footer ? { footer } : {}) }, body),
  };
}

function redirect(location: string): ConsoleResponse {
  return { statusCode: 303, headers: { ...PAGE_HEADERS, location }, body: '' };
}

export function errorPage(statusCode: number, message: string): ConsoleResponse {
  return respond(
    statusCode,
    'Error',
    markup`<h1>${statusCode === 404 ? 'Not found' : 'Cannot show this page'}</h1>
      <p class="error" role="alert">${message}</p>
      <p><a href="/console">Back to the list</a></p>`,
  );
}

/** The namespaces this caller may see: its grants, or all for the operator. */
function visibility(context: OperationContext): (namespace: string) => boolean {
  const caller = context.caller ?? OPERATOR;
  if (caller.kind !== 'http') return () => true;
  return (namespace) =>
    grantFor(context.config.grants, caller.principal, namespace || 'default') !== undefined;
}

function footerOf(deps: ConsoleDeps): string {
  const caller = deps.context.caller ?? OPERATOR;
  const who = caller.kind === 'http' ? caller.principal : 'operator';
  return `Results store: ${deps.store?.description ?? 'none (RESULTS_STORE=none)'} · signed in as ${who}`;
}

function segments(path: string): string[] {
  return path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map((part) => decodeURIComponent(part));
}

async function listPage(request: ConsoleRequest, deps: ConsoleDeps, now: number): Promise<ConsoleResponse> {
  const all = deps.store ? await deps.store.list({ namespaces: visibility(deps.context) }) : [];
  const list = selectPage(all, parseListQuery(request.query));
  return respond(200, 'BackupStorages', renderList(list, now), footerOf(deps));
}

async function detailPage(
  key: string,
  deps: ConsoleDeps,
  now: number,
  notice?: string,
): Promise<ConsoleResponse> {
  const record = deps.store ? await deps.store.get(key) : undefined;
  // A storage outside the caller's grants reads as absent: its name is not the caller's to learn.
  if (!record || !visibility(deps.context)(record.namespace))
    return errorPage(404, `No storage ${key} is recorded.`);
  const history = await deps.store!.history(key, { limit: 50, transitionsOnly: true });
  return respond(
    200,
    record.name,
    renderDetail(record, history, { now, ...(notice ? { notice } : {}) }),
    footerOf(deps),
  );
}

async function checkNow(key: string, deps: ConsoleDeps): Promise<ConsoleResponse> {
  const record = deps.store ? await deps.store.get(key) : undefined;
  if (!record || !visibility(deps.context)(record.namespace))
    return errorPage(404, `No storage ${key} is recorded.`);
  if (!record.source)
    return errorPage(409, `${key} was recorded without its manifest: check it through the API once.`);
  const body = {
    storage: record.source.storage,
    ...(record.source.endpoint ? { options: { endpoint: record.source.endpoint } } : {}),
  };
  await runOperation('check', body, deps.context, { results: deps.store });
  return redirect(`${detailPath(record)}?checked=1`);
}

async function createPost(form: URLSearchParams, deps: ConsoleDeps): Promise<ConsoleResponse> {
  const parsed = parseCreateForm(form);
  const action = form.get('action') ?? 'preview';
  const problems = validate(parsed);
  const typedKeys = parsed.secrets.keys();
  const base = { canInitialize: Boolean(deps.store), typedKeys };
  if (problems.length > 0 || action === 'preview') {
    return respond(
      problems.length > 0 ? 400 : 200,
      'Create BackupStorage',
      renderCreate(parsed.form, { ...base, problems, preview: true }),
      footerOf(deps),
    );
  }
  const operation: OperationName = action === 'initialize' ? 'initialize' : 'check';
  const body = { storage: manifestOf(parsed.form) };
  let result: OperationResult;
  try {
    // Test connection is not remembered (the storage may never exist); Initialize is.
    result = await runOperationWithSecrets(operation, body, parsed.secrets, deps.context, {
      results: operation === 'initialize' ? deps.store : undefined,
    });
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    const issues =
      error.issues.length > 0
        ? error.issues.map((issue) => `${issue.path}: ${issue.message}`)
        : [error.message];
    return respond(
      error.status,
      'Create BackupStorage',
      renderCreate(parsed.form, { ...base, problems: issues, preview: true }),
      footerOf(deps),
    );
  }
  return respond(
    200,
    'Create BackupStorage',
    renderCreate(parsed.form, { ...base, preview: true, result }),
    footerOf(deps),
  );
}

/** One console request → one page. RequestErrors become error pages with their status. */
export async function serveConsole(request: ConsoleRequest, deps: ConsoleDeps): Promise<ConsoleResponse> {
  const now = deps.now ?? Date.now();
  const parts = segments(request.path);
  if (parts[0] !== 'console') return errorPage(404, 'There is no such page.');
  try {
    if (request.method === 'GET' && parts.length === 1) return await listPage(request, deps, now);
    if (parts.length === 2 && parts[1] === 'new') {
      if (request.method === 'POST' && request.form) return await createPost(request.form, deps);
      return respond(
        200,
        'Create BackupStorage',
        renderCreate(defaultForm(request.query.provider), { canInitialize: Boolean(deps.store) }),
        footerOf(deps),
      );
    }
    if (parts.length === 3 && request.method === 'GET')
      return await detailPage(
        keyOfPath(parts[1] as string, parts[2] as string),
        deps,
        now,
        request.query.checked ? 'Checked just now.' : undefined,
      );
    if (parts.length === 4 && parts[3] === 'check' && request.method === 'POST')
      return await checkNow(keyOfPath(parts[1] as string, parts[2] as string), deps);
    return errorPage(404, 'There is no such page.');
  } catch (error) {
    if (error instanceof RequestError) return errorPage(error.status, error.message);
    throw error;
  }
}
