/**
 * Chunker polynomials (restic/chunker polynomials.go, restic-format.md §2): polynomials over GF(2)
 * held as bigint bit sets. A repository's polynomial is a random irreducible one of degree 53.
 */
import { randomBytes } from 'node:crypto';

const ONE = 1n;

function degree(f: bigint): number {
  return f === 0n ? -1 : f.toString(2).length - 1;
}

function mod(a: bigint, m: bigint): bigint {
  const dm = degree(m);
  let out = a;
  for (let d = degree(out); d >= dm; d = degree(out)) out ^= m << BigInt(d - dm);
  return out;
}

function mulMod(a: bigint, b: bigint, m: bigint): bigint {
  let result = 0n;
  let x = mod(a, m);
  for (let y = b; y !== 0n; y >>= ONE) {
    if (y & ONE) result ^= x;
    x = mod(x << ONE, m);
  }
  return result;
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, mod(x, y)];
  return x;
}

/** Ben-Or's test: f is irreducible iff gcd(f, x^(2^i) − x mod f) = 1 for i = 1..deg(f)/2. */
export function isIrreducible(f: bigint): boolean {
  const d = degree(f);
  if (d < 1) return false;
  const x = 2n;
  let power = x;
  for (let i = 1; i <= Math.floor(d / 2); i++) {
    power = mulMod(power, power, f);
    if (gcd(f, power ^ x) !== ONE) return false;
  }
  return true;
}

export function polynomialDegree(f: bigint): number {
  return degree(f);
}

/** A random irreducible polynomial of degree 53, drawn the way restic's RandomPolynomial does. */
export function randomPolynomial(random: (size: number) => Uint8Array = randomBytes): bigint {
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    const bytes = random(8);
    let value = 0n;
    for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
    value &= (ONE << 54n) - ONE;
    value |= (ONE << 53n) | ONE;
    if (isIrreducible(value)) return value;
  }
  throw new Error('no irreducible polynomial found');
}

/** restic's JSON form: lowercase hex without 0x. */
export function formatPolynomial(f: bigint): string {
  return f.toString(16);
}

export function parsePolynomial(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  return BigInt(`0x${text}`);
}
