/**
 * HttpExchange (lib/backends/http-exchange.ts), the request/response half Swift and REST share, against a
 * real HTTP server on loopback: retries of passing faults, whose 404 an object request got (the probe,
 * or a listing in flight that proves the container), idempotent deletes, and failures without an answer
 * read by the protocol's table.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../lib/backends/errors.js';
import { HttpExchange, type FailedCall, type HttpProtocol } from '../lib/backends/http-exchange.js';
import {
  httpRetryVerdict,
  httpStatusError,
  httpTransportError,
  isHttpAnswer,
  type HttpCall,
} from '../lib/backends/http-status.js';
import { sendRequest } from '../lib/net/http-client.js';

type Target = 'container' | 'object';
type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** Per path, the answers in order (the last one repeats); every request is counted. */
const routes = new Map<string, Handler[]>();
const requests: string[] = [];
let server: Server;
let base: string;

function answer(status: number, delayMs = 0): Handler {
  return (_request, response) => {
    setTimeout(() => response.writeHead(status).end(status < 300 ? 'body' : ''), delayMs);
  };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const key = `${request.method} ${request.url}`;
    requests.push(key);
    const queue = routes.get(key) ?? [answer(500)];
    const handler = queue.length > 1 ? (queue.shift() as Handler) : (queue[0] as Handler);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  routes.clear();
  requests.length = 0;
});

function exchange(url = base): HttpExchange<Target> {
  const error = (failure: unknown, call: FailedCall<Target>): StorageError => {
    const context = {
      provider: 'test',
      operation: call.operation,
      key: call.key,
      what: call.target === 'container' ? 'container "c"' : `object "${call.key ?? ''}"`,
      server: 'the test server',
      subject: call.target === 'container' ? ('bucket' as const) : ('object' as const),
    };
    return isHttpAnswer(failure)
      ? httpStatusError(failure.status, context)
      : httpTransportError(failure, { ...context, cause: failure });
  };
  const protocol: HttpProtocol<Target> = {
    objectTarget: 'object',
    containerTarget: 'container',
    transmit: (call) =>
      sendRequest({ method: call.method, url: new URL(call.path, url), signal: call.signal }),
    error,
    retryVerdict: (response) => httpRetryVerdict(response),
    provesContainer: () => true,
    containerExists: (signal) =>
      held.probe({ operation: 'bucketExists', target: 'container', method: 'HEAD', path: '/c', signal }),
  };
  const held = new HttpExchange<Target>(protocol);
  return held;
}

const objectCall = (method: 'GET' | 'DELETE', key: string): HttpCall<Target> => ({
  operation: method === 'GET' ? 'get' : 'delete',
  target: 'object',
  method,
  path: `/c/${key}`,
  key,
  signal: AbortSignal.timeout(20_000),
});

const listing: HttpCall<Target> = {
  operation: 'list',
  target: 'container',
  method: 'GET',
  path: '/c?list',
  signal: AbortSignal.timeout(20_000),
};

async function failureOf(promise: Promise<unknown>): Promise<StorageError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

describe('HttpExchange (Swift and REST share it)', () => {
  it('retries passing faults and says how many attempts were made', async () => {
    routes.set('GET /c/k', [answer(503), answer(502), answer(200)]);
    const attempts = { made: 0 };
    const response = await exchange().send(objectCall('GET', 'k'), attempts);
    expect(response.status).toBe(200);
    expect(attempts.made).toBe(3);
    expect(requests).toEqual(['GET /c/k', 'GET /c/k', 'GET /c/k']);
  });

  it('returns the last failed answer for the caller to read, and does not retry a lasting refusal', async () => {
    routes.set('GET /c/k', [answer(403)]);
    const failure = await failureOf(exchange().read(objectCall('GET', 'k')));
    expect(failure.code).toBe('PermissionDenied');
    expect(requests).toEqual(['GET /c/k']);
  });

  it('charges a 404 to the container when the probe finds none', async () => {
    routes.set('GET /c/k', [answer(404)]);
    routes.set('HEAD /c', [answer(404)]);
    const failure = await failureOf(exchange().read(objectCall('GET', 'k')));
    expect(failure.code).toBe('NotFound');
    expect(failure.subject).toBe('bucket');
    expect(failure.message).toContain('container "c"');
  });

  it('charges a 404 to the object when the probe finds the container', async () => {
    routes.set('GET /c/k', [answer(404)]);
    routes.set('HEAD /c', [answer(204)]);
    const failure = await failureOf(exchange().read(objectCall('GET', 'k')));
    expect(failure.subject).toBe('object');
    expect(requests).toEqual(['GET /c/k', 'HEAD /c']);
  });

  it('needs no probe once a request proved the container, or while a listing in flight proves it', async () => {
    const proven = exchange();
    routes.set('GET /c/there', [answer(200)]);
    routes.set('GET /c/k', [answer(404)]);
    await proven.readBytes(objectCall('GET', 'there'));
    expect((await failureOf(proven.read(objectCall('GET', 'k')))).subject).toBe('object');

    const listingFirst = exchange();
    routes.set('GET /c?list', [answer(200, 300)]);
    const listed = listingFirst.expect(listing);
    const failure = await failureOf(listingFirst.read(objectCall('GET', 'k')));
    await listed;
    expect(failure.subject).toBe('object');
    expect(requests).not.toContain('HEAD /c');
  });

  it('deletes idempotently: a missing object is deleted, a refusal is an error', async () => {
    routes.set('DELETE /c/gone', [answer(404)]);
    routes.set('DELETE /c/kept', [answer(403)]);
    const http = exchange();
    await expect(http.remove(objectCall('DELETE', 'gone'))).resolves.toBeUndefined();
    expect((await failureOf(http.remove(objectCall('DELETE', 'kept')))).code).toBe('PermissionDenied');
  });

  it('probes: 2xx present, 404 absent, anything else the protocol’s error', async () => {
    const http = exchange();
    const probe = (): Promise<boolean> =>
      http.probe({ operation: 'bucketExists', target: 'container', method: 'HEAD', path: '/c' });
    routes.set('HEAD /c', [answer(204), answer(404), answer(401)]);
    expect(await probe()).toBe(true);
    expect(await probe()).toBe(false);
    expect((await failureOf(probe())).code).toBe('Unauthenticated');
  });

  it('reads a failure without an answer through the protocol’s table, after its retries', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const attempts = { made: 0 };
    const failure = await failureOf(
      exchange(`http://127.0.0.1:${port}`).send(objectCall('GET', 'k'), attempts),
    );
    expect(failure.provider).toBe('test');
    expect(failure.code).toBe('Unreachable');
    expect(failure.operation).toBe('get');
    expect(attempts.made).toBe(3);
  });
});
