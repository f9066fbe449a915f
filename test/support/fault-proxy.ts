/**
 * A TCP proxy for fault injection in front of any test server. Each accepted connection gets a fault
 * from a plan (by connection index): pass through, reset (RST as soon as the client speaks), black
 * hole (accept, read, never answer), slow (every byte of the answer delayed), truncated (the answer cut
 * after some bytes) or an HTTP status (answer the first request with e.g. 503 and close). Works for
 * HTTP and TLS alike (bytes are not interpreted, except to find the end of a request head for `status`).
 *
 * Request faults (`setRequestFaults`, plain HTTP/1.1 only) target single requests, also on kept-alive
 * connections: the proxy reads each request head (method, path, content-length) and resets the
 * connection before forwarding, answers a status itself after reading the body, or forwards the request
 * and drops its answer (the server acted, the client never hears: an ambiguous failure).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyFault =
  | { kind: 'pass' }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'truncate'; afterBytes: number }
  | { kind: 'status'; status: number };

export type RequestFault =
  { kind: 'reset' } | { kind: 'status'; status: number; retryAfter?: string } | { kind: 'drop-answer' };

export interface ProxiedRequest {
  method: string;
  path: string;
  /** 0-based, over every request since setRequestFaults. */
  index: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Decides the fault of the n-th connection from now on (0-based; open connections are closed); undefined passes through. */
  setFaults(plan: (index: number) => ProxyFault | undefined): void;
  /**
   * Decides per HTTP request instead (every connection passes); undefined forwards the request. Open
   * connections are closed. setFaults switches back to connection faults.
   */
  setRequestFaults(plan: (request: ProxiedRequest) => RequestFault | undefined): void;
  /** Connections accepted and requests seen since the last setFaults/setRequestFaults, and how many got a fault. */
  stats(): { connections: number; requests: number; faulted: number };
  /** Replaces a URL's host and port with the proxy's. */
  via(url: string): string;
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function statusAnswer(status: number, retryAfter?: string): string {
  const body = `injected ${status}`;
  const extra = retryAfter !== undefined ? `retry-after: ${retryAfter}\r\n` : '';
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n${extra}connection: close\r\n\r\n${body}`;
}

function answerWithStatus(client: Socket, status: number): void {
  let head = '';
  const onData = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    client.off('data', onData);
    client.end(statusAnswer(status));
    // A client still sending a body gets the answer first, then the connection goes.
    setTimeout(() => client.destroy(), 200).unref();
  };
  client.on('data', onData);
}

/**
 * Forwards HTTP/1.1 requests one by one (clients here never pipeline), asking `decide` about each head.
 * A chunked request body ends the inspection: the rest of that connection passes through.
 */
function forwardRequests(
  client: Socket,
  upstream: Socket,
  decide: (method: string, path: string) => RequestFault | undefined,
): void {
  let buffer = Buffer.alloc(0);
  let state: 'head' | 'body' | 'swallow' | 'opaque' | 'answered' = 'head';
  let left = 0;
  let pending: Extract<RequestFault, { kind: 'status' }> | undefined;
  let dropAnswer = false;
  upstream.on('data', (chunk: Buffer) => {
    if (dropAnswer) {
      client.resetAndDestroy();
      upstream.destroy();
    } else if (!client.destroyed) client.write(chunk);
  });
  upstream.on('end', () => client.end());
  client.on('end', () => upstream.end());
  const answer = (fault: Extract<RequestFault, { kind: 'status' }>): void => {
    state = 'answered';
    upstream.destroy();
    client.end(statusAnswer(fault.status, fault.retryAfter));
  };
  client.on('data', (chunk: Buffer) => {
    if (state === 'answered') return;
    if (state === 'opaque') {
      upstream.write(chunk);
      return;
    }
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length > 0 && !client.destroyed) {
      if (state === 'body' || state === 'swallow') {
        const taken = Math.min(left, buffer.length);
        if (state === 'body') upstream.write(buffer.subarray(0, taken));
        buffer = buffer.subarray(taken);
        left -= taken;
        if (left > 0) return;
        if (state === 'swallow' && pending) return answer(pending);
        state = 'head';
        continue;
      }
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end + 4);
      buffer = buffer.subarray(end + 4);
      const text = head.toString('latin1');
      const [method = '', path = ''] = (text.split('\r\n')[0] ?? '').split(' ');
      left = Number(/^content-length:\s*(\d+)/im.exec(text)?.[1] ?? 0);
      const fault = decide(method, path);
      if (fault?.kind === 'reset') {
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        pending = fault;
        state = 'swallow';
        if (left === 0) return answer(fault);
        continue;
      }
      if (fault?.kind === 'drop-answer') dropAnswer = true;
      upstream.write(head);
      if (/^transfer-encoding:\s*chunked/im.test(text)) {
        state = 'opaque';
        upstream.write(buffer);
        return;
      }
      state = left > 0 ? 'body' : 'head';
    }
  });
}

export async function startFaultProxy(target: string | { host: string; port: number }): Promise<FaultProxy> {
  const { host, port: targetPort } =
    typeof target === 'string'
      ? (() => {
          const u = new URL(target);
          return { host: u.hostname, port: Number(u.port) };
        })()
      : target;
  let plan: (index: number) => ProxyFault | undefined = () => undefined;
  let requestPlan: ((request: ProxiedRequest) => RequestFault | undefined) | undefined;
  let connections = 0;
  let requests = 0;
  let faulted = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    return socket;
  };

  const server: Server = createServer((client) => {
    track(client);
    if (requestPlan) {
      const decide = requestPlan;
      connections += 1;
      const upstream = track(connect(targetPort, host));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      forwardRequests(client, upstream, (method, path) => {
        const fault = decide({ method, path, index: requests++ });
        if (fault) faulted += 1;
        return fault;
      });
      return;
    }
    const fault = plan(connections++) ?? { kind: 'pass' };
    if (fault.kind !== 'pass') faulted += 1;
    switch (fault.kind) {
      case 'reset':
        client.once('data', () => client.resetAndDestroy());
        return;
      case 'blackhole':
        client.resume();
        return;
      case 'status':
        answerWithStatus(client, fault.status);
        return;
    }
    const upstream = track(connect(targetPort, host));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    if (fault.kind === 'pass') {
      upstream.pipe(client);
    } else if (fault.kind === 'slow') {
      upstream.on('data', (chunk: Buffer) => {
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, fault.delayMs);
      });
      upstream.on('end', () => setTimeout(() => client.end(), fault.delayMs));
    } else {
      let sent = 0;
      upstream.on('data', (chunk: Buffer) => {
        const room = fault.afterBytes - sent;
        if (room > 0) client.write(chunk.subarray(0, room));
        sent += chunk.length;
        if (sent >= fault.afterBytes) {
          client.end();
          upstream.destroy();
        }
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    port: address.port,
    setFaults(next) {
      // Pooled keep-alive connections would dodge the new plan: close them.
      for (const socket of sockets) socket.destroy();
      plan = next;
      requestPlan = undefined;
      connections = 0;
      requests = 0;
      faulted = 0;
    },
    setRequestFaults(next) {
      for (const socket of sockets) socket.destroy();
      plan = () => undefined;
      requestPlan = next;
      connections = 0;
      requests = 0;
      faulted = 0;
    },
    stats: () => ({ connections, requests, faulted }),
    via(original) {
      const parsed = new URL(original);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(address.port);
      return parsed.href.replace(/\/$/, original.endsWith('/') ? '/' : '');
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
