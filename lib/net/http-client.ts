/**
 * A small HTTP client on Node's own `http`/`https` modules, for adapters that speak a provider's REST
 * protocol themselves (Swift, Keystone). Node's global `fetch` cannot be handed a private CA per request
 * without the separate `undici` package, and OpenStack clouds often run on one (`CA_CERT_DATA`).
 *
 * Every request carries a deadline: the caller's signal combined with a default timeout. Connections are
 * kept alive in one agent per (protocol, CA) for the life of the warm function. Failures below HTTP
 * (DNS, TCP, TLS, abort) are thrown as Node's own errors for `classifyTransportError`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { guardAgent } from './endpoint-guard.js';

/** Applies when a caller passes no signal, so no request can hang for ever. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Response bodies beyond this are refused (catalogs and listings are far smaller). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** One header's value (first of a repeated header), lower-cased name. */
  header(name: string): string | undefined;
}

export interface HttpClientOptions {
  /** PEM certificate(s) of a private CA, trusted in addition to Node's public roots. */
  ca?: string;
  /** Upper bound on sockets per host. */
  maxSockets?: number;
}

type AnyAgent = HttpAgent | HttpsAgent;
const agents = new Map<string, AnyAgent>();

function agentFor(protocol: 'http:' | 'https:', options: HttpClientOptions): AnyAgent {
  const caKey = options.ca ? createHash('sha256').update(options.ca).digest('hex').slice(0, 16) : 'system';
  const key = `${protocol}|${caKey}|${options.maxSockets ?? 'default'}`;
  let agent = agents.get(key);
  if (!agent) {
    const common = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
    // Catalog and redirect URLs come from servers: every connection passes the endpoint guard.
    agent = guardAgent(
      protocol === 'https:'
        ? new HttpsAgent({ ...common, ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}) })
        : new HttpAgent(common),
    );
    agents.set(key, agent);
  }
  return agent;
}

/** The caller's signal bounded by the default timeout. */
export function withDefaultDeadline(
  signal: AbortSignal | undefined,
  timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
): AbortSignal {
  const own = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, own]) : own;
}

export function sendRequest(request: HttpRequest, options: HttpClientOptions = {}): Promise<HttpResponse> {
  const { url } = request;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(
      Object.assign(new Error(`unsupported URL scheme ${url.protocol}`), { code: 'ERR_INVALID_URL_SCHEME' }),
    );
  }
  const signal = withDefaultDeadline(request.signal);
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
  const headers: Record<string, string> = { ...request.headers };
  if (body !== undefined) headers['content-length'] = String(body.byteLength);
  else if (request.method === 'PUT' || request.method === 'POST') headers['content-length'] = '0';
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<HttpResponse>((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    let settled = false;
    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      done();
    };
    const fail = (error: unknown): void => settle(() => reject(signal.aborted ? abortError(signal) : error));
    const req = send(
      url,
      { method: request.method, headers, agent: agentFor(url.protocol as 'http:' | 'https:', options) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy(
              Object.assign(new Error('response body too large'), { code: 'ERR_RESPONSE_TOO_LARGE' }),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete)
            fail(
              Object.assign(new Error('the connection closed before the response ended'), {
                code: 'ECONNRESET',
              }),
            );
        });
        res.on('end', () => {
          const responseHeaders = res.headers;
          settle(() =>
            resolve({
              status: res.statusCode ?? 0,
              headers: responseHeaders,
              body: Buffer.concat(chunks),
              header: (name) => {
                const value = responseHeaders[name.toLowerCase()];
                return Array.isArray(value) ? value[0] : value;
              },
            }),
          );
        });
      },
    );
    // Destroying the request closes its socket, so an aborted call leaves no connection behind.
    const onAbort = (): void => {
      req.destroy(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(body);
  });
}

/** An abort as the classifier knows it: a TimeoutError for deadlines, an AbortError otherwise. */
function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as { name?: string } | undefined;
  const name = reason?.name === 'TimeoutError' ? 'TimeoutError' : 'AbortError';
  return Object.assign(new Error('the request was aborted'), {
    name,
    code: 'ABORT_ERR',
    cause: signal.reason,
  });
}
