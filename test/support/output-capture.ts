/**
 * Captures everything the process writes while installed: process.stdout/stderr writes (Powertools'
 * Logger writes there through its own Console) and the global console's methods (which vitest routes
 * past the streams). Nothing captured reaches the terminal; `restore()` puts everything back.
 */
import { format } from 'node:util';

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const;

export interface OutputCapture {
  /** Every chunk written so far, in order. */
  readonly chunks: string[];
  /** Everything written so far, as one text. */
  text(): string;
  restore(): void;
}

export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  const methods = CONSOLE_METHODS.map((name) => console[name]);
  for (const name of CONSOLE_METHODS) {
    console[name] = (...args: unknown[]): void => {
      chunks.push(`${format(...args)}\n`);
    };
  }
  return {
    chunks,
    text: () => chunks.join(''),
    restore: () => {
      streams.forEach((stream, index) => {
        stream.write = writes[index] as typeof stream.write;
      });
      CONSOLE_METHODS.forEach((name, index) => {
        console[name] = methods[index] as (typeof console)[typeof name];
      });
    },
  };
}
