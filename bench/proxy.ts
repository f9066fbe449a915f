/**
 * A TCP proxy that puts a configurable network in front of any local server: every byte is delayed by
 * half the round trip in each direction, and a new connection costs `handshakeRtts` round trips before its
 * first byte reaches the server (TCP's handshake; a TLS handshake through the proxy pays its own round
 * trips naturally, as data). It counts connections and HTTP requests and keeps a request trace (method,
 * path without query, connection, when it was sent and when its answer reached the client), from which
 * `criticalPath` derives the round trips on the critical path. Nothing is buffered beyond the delay.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { HttpFramer, requestBody, responseBody } from './http-framing.js';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface TraceEntry {
  connection: number;
  /** First request on its connection (it waited for the connection to be set up). */
  first: boolean;
  method: string;
  /** Path without the query string (which may carry signatures). */
  path: string;
  /** When the request's head reached the proxy (the client sent it then). */
  sentAt: number;
  status?: number;
  /** When the last byte of the final answer was handed to the client. */
  answeredAt?: number;
  /** Interim (1xx) answers, e.g. 100 Continue: each is a round trip before the body goes up. */
  interim: number[];
}

export interface ProxyCounts {
  connections: number;
  requests: number;
  /** Connections whose bytes are not HTTP/1.x (TLS). Their requests cannot be counted. */
  opaqueConnections: number;
  bytesUp: number;
  bytesDown: number;
}

export interface ProxyOptions {
  targetHost?: string;
  targetPort: number;
  /** Injected round trip, ms; may be changed later with `setRtt`. */
  rttMs?: number;
  /** Round trips a new connection costs before its first byte reaches the server. */
  handshakeRtts?: number;
}

interface ConnectionRecord {
  id: number;
  acceptedAt: number;
}

/** Delivers chunks to `destination` no earlier than their due time, in order. */
class DelayLine {
  #queue: { at: number; data?: Buffer; end?: boolean }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastAt = 0;

  constructor(private readonly destination: Socket) {}

  /** Schedules `data` (or the end of the stream) at `at`; returns the time it will be delivered. */
  push(at: number, item: { data?: Buffer; end?: boolean }): number {
    const due = Math.max(at, this.#lastAt);
    this.#lastAt = due;
    this.#queue.push({ at: due, ...item });
    this.#pump();
    return due;
  }

  #pump(): void {
    if (this.#timer) return;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const wait = head.at - epochNow();
      if (wait > 0.5) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      this.#queue.shift();
      if (this.destination.destroyed) continue;
      if (head.data) this.destination.write(head.data);
      if (head.end) this.destination.end();
    }
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
  }
}

export class DelayProxy {
  readonly port: number;
  #rttMs: number;
  readonly #handshakeRtts: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #counts: ProxyCounts = { connections: 0, requests: 0, opaqueConnections: 0, bytesUp: 0, bytesDown: 0 };
  #trace: TraceEntry[] = [];
  #connections: ConnectionRecord[] = [];
  #nextConnection = 0;

  private constructor(server: Server, port: number, options: ProxyOptions) {
    this.#server = server;
    this.port = port;
    this.#rttMs = options.rttMs ?? 0;
    this.#handshakeRtts = options.handshakeRtts ?? 1;
  }

  static async start(options: ProxyOptions): Promise<DelayProxy> {
    const started: { proxy?: DelayProxy } = {};
    const server = createServer({ noDelay: true }, (client) => started.proxy?.accept(client, options));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    started.proxy = new DelayProxy(
      server,
      typeof address === 'object' && address ? address.port : 0,
      options,
    );
    return started.proxy;
  }

  /** `http://127.0.0.1:<port>` plus `path`. */
  url(path = ''): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  get rttMs(): number {
    return this.#rttMs;
  }

  get handshakeRtts(): number {
    return this.#handshakeRtts;
  }

  setRtt(ms: number): void {
    this.#rttMs = ms;
  }

  counts(): ProxyCounts {
    return { ...this.#counts };
  }

  /** Requests sent in [from, to] (epoch ms), with the connections accepted in that window. */
  window(from: number, to: number): { trace: TraceEntry[]; connections: number } {
    return {
      trace: this.#trace.filter((entry) => entry.sentAt >= from && entry.sentAt <= to),
      connections: this.#connections.filter((c) => c.acceptedAt >= from && c.acceptedAt <= to).length,
    };
  }

  /** Clears counts and the trace (connections stay open). */
  reset(): void {
    this.#counts = { connections: 0, requests: 0, opaqueConnections: 0, bytesUp: 0, bytesDown: 0 };
    this.#trace = [];
    this.#connections = [];
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private accept(client: Socket, options: ProxyOptions): void {
    const acceptedAt = epochNow();
    const record: ConnectionRecord = { id: this.#nextConnection++, acceptedAt };
    this.#connections.push(record);
    this.#counts.connections += 1;
    const upstream = connect({
      host: options.targetHost ?? '127.0.0.1',
      port: options.targetPort,
      noDelay: true,
    });
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    // Fixed per connection, so a round trip changed mid-connection never reorders bytes.
    const oneWay = this.#rttMs / 2;
    const readyAt = acceptedAt + this.#handshakeRtts * this.#rttMs;
    const up = new DelayLine(upstream);
    const down = new DelayLine(client);

    const inFlight: TraceEntry[] = [];
    let firstRequest = true;
    let opaque = false;
    const requests = new HttpFramer({
      head: ({ startLine, headers }) => {
        const [method = '', target = ''] = startLine.split(' ');
        const entry: TraceEntry = {
          connection: record.id,
          first: firstRequest,
          method,
          path: target.split('?')[0] ?? '',
          sentAt: epochNow(),
          interim: [],
        };
        firstRequest = false;
        this.#counts.requests += 1;
        this.#trace.push(entry);
        inFlight.push(entry);
        return requestBody(headers);
      },
      end: () => undefined,
    });
    let deliveredAt = 0;
    const responses = new HttpFramer({
      head: ({ startLine, headers }) => {
        const status = Number(startLine.split(' ')[1]);
        const entry = inFlight[0];
        if (entry && status >= 100 && status < 200 && status !== 101) entry.interim.push(status);
        else if (entry) entry.status = status;
        return responseBody(status, entry?.method, headers);
      },
      end: () => {
        const entry = inFlight[0];
        if (entry?.status === undefined) return;
        entry.answeredAt = deliveredAt;
        inFlight.shift();
      },
    });

    client.on('data', (chunk: Buffer) => {
      const now = epochNow();
      this.#counts.bytesUp += chunk.length;
      if (!opaque) {
        requests.push(chunk);
        if (!requests.understood) {
          opaque = true;
          this.#counts.opaqueConnections += 1;
        }
      }
      up.push(Math.max(now, readyAt) + oneWay, { data: chunk });
    });
    upstream.on('data', (chunk: Buffer) => {
      this.#counts.bytesDown += chunk.length;
      deliveredAt = down.push(epochNow() + oneWay, { data: chunk });
      if (!opaque) responses.push(chunk);
    });
    client.on('end', () => up.push(Math.max(epochNow(), readyAt) + oneWay, { end: true }));
    upstream.on('end', () => {
      deliveredAt = down.push(epochNow() + oneWay, { end: true });
      responses.close();
    });
    const teardown = (): void => {
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('close', () => {
      teardown();
      // Let queued bytes reach the server before it sees the close.
      if (!upstream.destroyed) up.push(epochNow() + oneWay, { end: true });
    });
    upstream.on('close', () => {
      teardown();
      if (!client.destroyed) down.push(epochNow() + oneWay, { end: true });
    });
    client.on('error', () => {
      up.cancel();
      upstream.destroy();
    });
    upstream.on('error', () => {
      down.cancel();
      client.destroy();
    });
  }
}

export interface CriticalPath {
  /** Round trips on the longest chain of request → answer → next request, handshakes included. */
  roundTrips: number;
  /** Of those, connection set-ups. */
  handshakes: number;
  /** The chain itself, first request first. */
  chain: TraceEntry[];
}

/**
 * The longest dependency chain in a trace taken at a non-zero round trip: a request depends on every
 * answer that reached the client before it was sent, and the first request on a connection pays the
 * connection's set-up when the connection was opened for it.
 */
export function criticalPath(trace: TraceEntry[], handshakeRtts: number): CriticalPath {
  const ordered = [...trace].sort((a, b) => a.sentAt - b.sentAt);
  const best = new Map<TraceEntry, { rt: number; hs: number; previous?: TraceEntry }>();
  let last: TraceEntry | undefined;
  for (const entry of ordered) {
    let chosen: { rt: number; hs: number; previous?: TraceEntry } = { rt: 0, hs: 0 };
    for (const earlier of ordered) {
      if (earlier === entry || earlier.answeredAt === undefined || earlier.answeredAt > entry.sentAt + 0.5)
        continue;
      const found = best.get(earlier);
      // Ties go to the answer that came last: the one the request most plausibly waited for.
      if (
        found &&
        (found.rt > chosen.rt ||
          (found.rt === chosen.rt && (earlier.answeredAt ?? 0) > (chosen.previous?.answeredAt ?? 0)))
      )
        chosen = { rt: found.rt, hs: found.hs, previous: earlier };
    }
    const setup = entry.first ? handshakeRtts : 0;
    const mine = {
      rt: chosen.rt + 1 + entry.interim.length + setup,
      hs: chosen.hs + setup,
      previous: chosen.previous,
    };
    best.set(entry, mine);
    if (!last || mine.rt > (best.get(last)?.rt ?? 0)) last = entry;
  }
  const chain: TraceEntry[] = [];
  for (let cursor = last; cursor; cursor = best.get(cursor)?.previous) chain.unshift(cursor);
  const top = last ? best.get(last) : undefined;
  return { roundTrips: top?.rt ?? 0, handshakes: top?.hs ?? 0, chain };
}

/** `PUT /bucket/key → 200` lines, times relative to `origin`, for reports. */
export function formatTrace(trace: TraceEntry[], origin: number): string[] {
  return [...trace]
    .sort((a, b) => a.sentAt - b.sentAt)
    .map((entry) => {
      const sent = (entry.sentAt - origin).toFixed(0).padStart(5);
      const took =
        entry.answeredAt !== undefined ? `${(entry.answeredAt - entry.sentAt).toFixed(0)} ms` : 'no answer';
      const interim = entry.interim.length > 0 ? ` (after ${entry.interim.join(', ')})` : '';
      return `+${sent} ms  c${entry.connection}${entry.first ? '*' : ' '} ${entry.method.padEnd(6)} ${shorten(entry.path)} → ${entry.status ?? '-'}${interim} in ${took}`;
    });
}

function shorten(path: string): string {
  return path.length > 90 ? `${path.slice(0, 60)}…${path.slice(-29)}` : path;
}
