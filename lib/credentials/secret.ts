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

/** Secret keys whose values identify rather than authenticate. */
const IDENTIFYING_KEYS: ReadonlySet<string> = new Set([
  'CA_CERT_DATA',
  'GOOGLE_PROJECT_ID',
  'AZURE_ACCOUNT_NAME',
  'AZURE_ENDPOINT_SUFFIX',
  'ST_AUTH',
  'ST_USER',
  'REST_SERVER_USERNAME',
  'OS_AUTH_URL',
  'OS_REGION_NAME',
  'OS_INTERFACE',
  'OS_USERNAME',
  'OS_USER_ID',
  'OS_TENANT_ID',
  'OS_TENANT_NAME',
  'OS_USER_DOMAIN_NAME',
  'OS_USER_DOMAIN_ID',
  'OS_PROJECT_NAME',
  'OS_PROJECT_ID',
  'OS_PROJECT_DOMAIN_NAME',
  'OS_PROJECT_DOMAIN_ID',
  'OS_STORAGE_URL',
  'OS_APPLICATION_CREDENTIAL_NAME',
]);

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

  /**
   * The values that authenticate, revealed, so sanitizers can scrub them from any text that leaves the
   * process. Keys that only identify (a region, a user or account name, a CA certificate) are left out:
   * scrubbing them would hide exactly what a person needs to read in a message ("region X not in catalog").
   */
  revealAll(): string[] {
    return [...this.#values.entries()]
      .filter(([key]) => !IDENTIFYING_KEYS.has(key))
      .map(([, value]) => value.reveal());
  }

  toJSON(): { source: string; keys: string[] } {
    return { source: this.source, keys: this.keys() };
  }

  [inspect.custom](): string {
    return `SecretBag(${this.source}: ${this.keys().join(', ')})`;
  }
}
