/**
 * A real webhook receiver (node:http) for tests, with fault injection: 5xx, 429 with Retry-After,
 * hangs (no answer), slow acknowledgements (processed, then answered too late, which makes the sender
 * retry an event that was in fact received: at-least-once), connection resets and redirects.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'retryAfter'; seconds: number }
  | { kind: 'hang' }
  | { kind: 'slowAck'; ms: number }
  | { kind: 'reset' }
  | { kind: 'redirect'; status: number; location: string };

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
  /** The receiver processed it (answered 2xx, or is about to in a slow ack). */
  accepted: boolean;
  fault?: Fault['kind'];
  at: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Decides the fault for the n-th request after this call (0-based); undefined answers 204. */
  setFaults(
    plan: (index: number, request: { path: string; headers: IncomingHttpHeaders }) => Fault | undefined,
  ): void;
  accepted(): ReceivedRequest[];
  close(): Promise<void>;
}

/** A small seeded PRNG (mulberry32), so fault plans are reproducible. */
export { seeded as seededRandom } from './seeded.js';

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let plan: Parameters<WebhookReceiver['setFaults']>[0] = () => undefined;
  let count = 0;
  const hanging = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = count++;
      const path = request.url ?? '/';
      const fault = plan(index, { path, headers: request.headers });
      const record: ReceivedRequest = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        path,
        accepted: fault === undefined || fault.kind === 'slowAck',
        at: Date.now(),
        ...(fault ? { fault: fault.kind } : {}),
      };
      requests.push(record);
      switch (fault?.kind) {
        case undefined:
          response.writeHead(204).end();
          return;
        case 'status':
          response.writeHead(fault.status, { 'content-type': 'text/plain' }).end('injected');
          return;
        case 'retryAfter':
          response.writeHead(429, { 'retry-after': String(fault.seconds) }).end();
          return;
        case 'redirect':
          response.writeHead(fault.status, { location: fault.location }).end();
          return;
        case 'reset':
          request.socket.destroy();
          return;
        case 'hang': {
          const release = (): void => {
            response.destroy();
          };
          hanging.add(release);
          response.on('close', () => hanging.delete(release));
          return;
        }
        case 'slowAck': {
          const timer = setTimeout(() => response.writeHead(200).end('{}'), fault.ms);
          response.on('close', () => clearTimeout(timer));
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    setFaults: (next) => {
      plan = next;
      count = 0;
    },
    accepted: () => requests.filter((request) => request.accepted),
    close: () =>
      new Promise((resolve) => {
        for (const release of hanging) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
