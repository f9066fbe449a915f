/**
 * An attacker's server on loopback: accepts every TCP connection, records every byte it receives, and
 * answers each request with a plain HTTP error (or hangs up), so a client that got this far fails fast.
 * The attack suites (test/attack.*.test.ts) assert on what it saw: connections, and secrets in the bytes.
 */
import { createServer, type Socket } from 'node:net';

export interface RecordingListener {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Connections accepted since start (or the last reset). */
  connections(): number;
  /** Everything received since start (or the last reset), as latin1 text (headers, bodies, TLS hellos). */
  text(): string;
  reset(): void;
  close(): Promise<void>;
}

export interface RecordingOptions {
  /** `http`: answer `503` to whatever arrives; `close`: hang up after reading (default http). */
  answer?: 'http' | 'close';
  /**
   * Addresses to listen on, all on one port (default `127.0.0.1`); with `['127.0.0.1', '::1']` every
   * spelling of loopback and of the unspecified address (which Linux connects to the host) reaches it.
   */
  hosts?: readonly string[];
}

export async function startRecordingListener(options: RecordingOptions = {}): Promise<RecordingListener> {
  let connections = 0;
  let received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket): void => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (options.answer === 'close') {
        socket.destroy();
      } else if (chunk.includes('\r\n\r\n')) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      }
    });
  };
  const [first = '127.0.0.1', ...others] = options.hosts ?? ['127.0.0.1'];
  const servers = [createServer(onConnection)];
  await new Promise<void>((resolve) => servers[0]?.listen(0, first, resolve));
  const address = servers[0]?.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  for (const host of others) {
    const server = createServer(onConnection);
    await new Promise<void>((resolve) => server.listen(address.port, host, resolve));
    servers.push(server);
  }
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    connections: () => connections,
    text: () => Buffer.concat(received).toString('latin1'),
    reset: () => {
      connections = 0;
      received = [];
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}
