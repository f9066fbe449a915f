/**
 * A TCP proxy for fault injection in front of any test server. Each accepted connection gets a fault
 * from a plan (by connection index): pass through, reset (RST as soon as the client speaks), black
 * hole (accept, read, never answer), slow (every byte of the answer delayed), truncated (the answer cut
 * after some bytes) or an HTTP status (answer the first request with e.g. 503 and close). Works for
 * HTTP and TLS alike (bytes are not interpreted, except to find the end of a request head for `status`).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyFault =
  | { kind: 'pass' }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'truncate'; afterBytes: number }
  | { kind: 'status'; status: number };

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Decides the fault of the n-th connection from now on (0-based; open connections are closed); undefined passes through. */
  setFaults(plan: (index: number) => ProxyFault | undefined): void;
  /** Connections accepted since the last setFaults, and how many of them got a fault. */
  stats(): { connections: number; faulted: number };
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

function answerWithStatus(client: Socket, status: number): void {
  let head = '';
  const onData = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    client.off('data', onData);
    const body = `injected ${status}`;
    client.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    // A client still sending a body gets the answer first, then the connection goes.
    setTimeout(() => client.destroy(), 200).unref();
  };
  client.on('data', onData);
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
  let connections = 0;
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
      connections = 0;
      faulted = 0;
    },
    stats: () => ({ connections, faulted }),
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
