/**
 * Canary secrets for leak tests: distinct, recognisable values (`canary-<provider>-<KEY>-<random>`) put
 * in secret fields, and a search for them in any text that leaves the process, in the forms a leak
 * takes: as is, URL-encoded, base64 (standard and URL-safe), hex, and by their random part alone
 * (a truncated or re-cased copy). Values that are not canaries (a real private key, the server's real
 * secret key) can be watched too.
 */
import { randomBytes } from 'node:crypto';

export interface Leak {
  /** Which secret (its label) and in which form it was found. */
  secret: string;
  form: string;
  /** Where: the label given to `find`. */
  where: string;
  /** A few characters around the find, to locate it. */
  excerpt: string;
}

export class Canaries {
  readonly #watched = new Map<string, { label: string; form: string }>();
  readonly #labels: string[] = [];

  /** A new canary for `key` of `provider`, watched from now on. */
  make(provider: string, key: string): string {
    const random = randomBytes(8).toString('hex');
    const value = `canary-${provider}-${key}-${random}`;
    this.watch(`${provider}:${key}`, value);
    // The random part alone catches truncated, re-cased or re-wrapped copies.
    this.#add(random, `${provider}:${key}`, 'random part');
    return value;
  }

  /** Watches `value` (and its encoded forms) under `label`. Values shorter than 8 characters are refused. */
  watch(label: string, value: string): void {
    if (value.length < 8) throw new Error(`${label}: a watched value needs at least 8 characters`);
    this.#labels.push(label);
    const bytes = Buffer.from(value, 'utf8');
    this.#add(value, label, 'raw');
    this.#add(encodeURIComponent(value), label, 'url-encoded');
    this.#add(JSON.stringify(value).slice(1, -1), label, 'json-escaped');
    this.#add(bytes.toString('base64').replace(/=+$/, ''), label, 'base64');
    this.#add(bytes.toString('base64url'), label, 'base64url');
    this.#add(bytes.toString('hex'), label, 'hex');
  }

  /** Every watched label (one per secret). */
  labels(): readonly string[] {
    return this.#labels;
  }

  /** Every watched form found in `text`. */
  find(text: string, where: string): Leak[] {
    const leaks: Leak[] = [];
    const lower = text.toLowerCase();
    for (const [needle, { label, form }] of this.#watched) {
      const at = form === 'random part' ? lower.indexOf(needle) : text.indexOf(needle);
      if (at >= 0) {
        leaks.push({
          secret: label,
          form,
          where,
          excerpt: text.slice(Math.max(0, at - 60), at + needle.length + 20),
        });
      }
    }
    // Any "canary-" at all: a copy cut too short for the forms above.
    const generic = lower.indexOf('canary-');
    if (generic >= 0 && leaks.length === 0) {
      leaks.push({ secret: '?', form: 'canary- prefix', where, excerpt: text.slice(generic, generic + 60) });
    }
    return leaks;
  }

  #add(needle: string, label: string, form: string): void {
    if (needle.length >= 8 && !this.#watched.has(needle)) this.#watched.set(needle, { label, form });
  }
}
