/**
 * The console in a real browser: an HTTP server on loopback that hands each request to the console
 * function's handler as an HTTP API (v2) event, and Debian's chromium (/usr/bin/chromium, installed by
 * scripts/install-test-deps.sh) driven by playwright-core, which downloads no browser of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { lambdaContext } from './lambda.js';

export const CHROMIUM = '/usr/bin/chromium';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

interface HandlerResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `handler` (functions/console.ts) over HTTP, one v2 event per request. */
export async function serveHandler(handler: Handler): Promise<ConsoleServer> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(',') : (value ?? ''),
        ]),
      );
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        requestContext: {
          http: { method: request.method ?? 'GET', path: url.pathname, sourceIp: '127.0.0.1' },
        },
        body: chunks.length > 0 ? Buffer.concat(chunks).toString('base64') : undefined,
        isBase64Encoded: chunks.length > 0,
      };
      handler(event, lambdaContext(60_000, 'backupstorage-functions-console'))
        .then((result) => {
          const answer = result as HandlerResponse;
          response.writeHead(answer.statusCode, answer.headers ?? {});
          response.end(answer.body ?? '');
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
