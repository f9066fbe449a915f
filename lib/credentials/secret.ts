/**
 * Secret values are a type: printing, logging, inspecting or serializing one shows `**redacted**`.
 * Only `reveal()` gives the value, and only adapters call it, at the moment they hand it to an SDK.
 */
import { inspect } from 'node:util';

export const REDACTED = '**redacted**';

export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}

/** The keys of one storage secret (a Kubernetes Secret's data), every value wrapped. */
export class SecretBag {
  readonly #values: ReadonlyMap<string, SecretValue>;
  /** Where the values came from, for messages: a reference such as `dir:/secrets/demo/s3-secret`, never a value. */
  readonly source: string;

  constructor(values: Iterable<[string, string | SecretValue]>, source: string) {
    this.#values = new Map(
      [...values].map(([key, value]) => [key, value instanceof SecretValue ? value : new SecretValue(value)]),
    );
    this.source = source;
  }

  static empty(source = 'none'): SecretBag {
    return new SecretBag([], source);
  }

  get(key: string): SecretValue | undefined {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** The value, revealed, or undefined; for adapters building SDK credentials. */
  reveal(key: string): string | undefined {
    return this.#values.get(key)?.reveal();
  }

  keys(): string[] {
    return [...this.#values.keys()].sort();
  }

  get size(): number {
    return this.#values.size;
  }

  /** Every revealed value, so sanitizers can scrub them from any text that leaves the process. */
  revealAll(): string[] {
    return [...this.#values.values()].map((value) => value.reveal());
  }

  toJSON(): { source: string; keys: string[] } {
    return { source: this.source, keys: this.keys() };
  }

  [inspect.custom](): string {
    return `SecretBag(${this.source}: ${this.keys().join(', ')})`;
  }
}
