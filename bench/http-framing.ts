/**
 * Just enough HTTP/1.1 framing to find where each message starts and ends in a byte stream: start line,
 * headers, and a body framed by Content-Length, chunked encoding, or the end of the connection. The
 * proxy uses it to count requests and to timestamp responses, so round trips are measured, not guessed.
 * Bodies are skipped, never buffered.
 */

export interface MessageHead {
  startLine: string;
  headers: Map<string, string>;
}

type BodyFraming =
  { kind: 'none' } | { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'until-close' };

export interface FramerEvents {
  /** A start line and its headers arrived; returns how the body is framed. */
  head(head: MessageHead): BodyFraming;
  /** The message (head and body) ended. */
  end(): void;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** A head longer than this is not HTTP we understand; the stream is left alone from then on. */
const MAX_HEAD = 64 * 1024;

export class HttpFramer {
  #state: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'opaque' = 'head';
  #pending: Buffer = Buffer.alloc(0);
  #remaining = 0;
  #untilClose = false;

  constructor(private readonly events: FramerEvents) {}

  /** False once the stream is not HTTP/1.x (TLS, HTTP/2): nothing more is parsed. */
  get understood(): boolean {
    return this.#state !== 'opaque';
  }

  push(chunk: Buffer): void {
    let data: Buffer = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    while (data.length > 0 && this.#state !== 'opaque') {
      switch (this.#state) {
        case 'head': {
          // Stray CRLFs between messages are allowed.
          while (data.length >= 2 && data[0] === 13 && data[1] === 10) data = data.subarray(2);
          if (data.length > 0 && !/^[A-Z]/.test(String.fromCharCode(data[0] as number))) {
            this.#state = 'opaque';
            return;
          }
          const end = data.indexOf(HEAD_END);
          if (end < 0) {
            if (data.length > MAX_HEAD) this.#state = 'opaque';
            else this.#pending = data;
            return;
          }
          const lines = data.subarray(0, end).toString('latin1').split('\r\n');
          data = data.subarray(end + HEAD_END.length);
          const headers = new Map<string, string>();
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(':');
            if (colon > 0)
              headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
          const framing = this.events.head({ startLine: lines[0] ?? '', headers });
          this.#startBody(framing);
          break;
        }
        case 'body': {
          if (this.#untilClose) return;
          const take = Math.min(this.#remaining, data.length);
          this.#remaining -= take;
          data = data.subarray(take);
          if (this.#remaining === 0) this.#finish();
          break;
        }
        case 'chunk-size':
        case 'trailers': {
          const lineEnd = data.indexOf(CRLF);
          if (lineEnd < 0) {
            this.#pending = data;
            return;
          }
          const line = data.subarray(0, lineEnd).toString('latin1');
          data = data.subarray(lineEnd + 2);
          if (this.#state === 'trailers') {
            if (line === '') this.#finish();
            break;
          }
          const size = Number.parseInt(line.split(';')[0] ?? '', 16);
          if (Number.isNaN(size)) {
            this.#state = 'opaque';
            return;
          }
          if (size === 0) this.#state = 'trailers';
          else {
            this.#remaining = size;
            this.#state = 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.#remaining, data.length);
          this.#remaining -= take;
          data = data.subarray(take);
          if (this.#remaining === 0) {
            this.#remaining = 2;
            this.#state = 'chunk-crlf';
          }
          break;
        }
        case 'chunk-crlf': {
          const take = Math.min(this.#remaining, data.length);
          this.#remaining -= take;
          data = data.subarray(take);
          if (this.#remaining === 0) this.#state = 'chunk-size';
          break;
        }
      }
    }
  }

  /** The connection ended: a body framed by the close ends here. */
  close(): void {
    if (this.#state === 'body' && this.#untilClose) this.#finish();
  }

  #startBody(framing: BodyFraming): void {
    this.#untilClose = false;
    switch (framing.kind) {
      case 'none':
        this.#finish();
        return;
      case 'length':
        if (framing.remaining === 0) return this.#finish();
        this.#remaining = framing.remaining;
        this.#state = 'body';
        return;
      case 'chunked':
        this.#state = 'chunk-size';
        return;
      case 'until-close':
        this.#untilClose = true;
        this.#state = 'body';
        return;
    }
  }

  #finish(): void {
    this.#state = 'head';
    this.events.end();
  }
}

/** How a request's body is framed (RFC 9112 §6.3: no length and not chunked means no body). */
export function requestBody(headers: Map<string, string>): BodyFraming {
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) return { kind: 'chunked' };
  const length = Number(headers.get('content-length') ?? '0');
  return length > 0 ? { kind: 'length', remaining: length } : { kind: 'none' };
}

/** How a response's body is framed, given the method of the request it answers. */
export function responseBody(
  status: number,
  method: string | undefined,
  headers: Map<string, string>,
): BodyFraming {
  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304)
    return { kind: 'none' };
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) return { kind: 'chunked' };
  const length = headers.get('content-length');
  if (length !== undefined) return { kind: 'length', remaining: Number(length) };
  return { kind: 'until-close' };
}
