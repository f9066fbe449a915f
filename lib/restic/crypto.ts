/**
 * restic's authenticated encryption (shared/spec/restic-format.md §4): AES-256-CTR with a random
 * 16-byte IV, then Poly1305-AES over the ciphertext (not the IV) with the IV as nonce. Stored form is
 * `IV ‖ ciphertext ‖ MAC`. The MAC is checked, in constant time, before anything is decrypted.
 */
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305.js';

export const IV_SIZE = 16;
export const MAC_SIZE = 16;
/** Bytes a sealed message adds to its plaintext. */
export const OVERHEAD = IV_SIZE + MAC_SIZE;

/** A repository master key, or a user key derived from a password: encryption key and MAC key (k, r). */
export interface CipherKey {
  /** AES-256 key, 32 bytes. */
  encrypt: Uint8Array;
  /** AES-128 key `k` of Poly1305-AES, 16 bytes. */
  macK: Uint8Array;
  /** Poly1305 key `r`, 16 bytes (clamped before use, so stored clamped or not). */
  macR: Uint8Array;
}

/** The MAC did not verify: wrong key (a wrong password, on a key file) or tampered data. */
export class UnauthenticatedError extends Error {
  constructor(message = 'ciphertext verification failed') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** Clears the bits Poly1305 requires clear in r (Bernstein 2005; restic's poly1305KeyMask). */
export function clampR(r: Uint8Array): Uint8Array {
  const out = Uint8Array.from(r);
  for (const index of [3, 7, 11, 15]) out[index] = (out[index] as number) & 0x0f;
  for (const index of [4, 8, 12]) out[index] = (out[index] as number) & 0xfc;
  return out;
}

/** Poly1305-AES_{k,r}(message, nonce): the one-time key is clamp(r) ‖ AES-128_k(nonce). */
export function poly1305Aes(
  message: Uint8Array,
  nonce: Uint8Array,
  key: Pick<CipherKey, 'macK' | 'macR'>,
): Uint8Array {
  const aes = createCipheriv('aes-128-ecb', key.macK, null);
  aes.setAutoPadding(false);
  const s = Buffer.concat([aes.update(nonce), aes.final()]);
  const oneTimeKey = new Uint8Array(32);
  oneTimeKey.set(clampR(key.macR), 0);
  oneTimeKey.set(s, 16);
  return poly1305(message, oneTimeKey);
}

function ctr(key: CipherKey, iv: Uint8Array, data: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-ctr', key.encrypt, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/** Encrypts and authenticates `plaintext` under `key` with a fresh random IV. */
export function seal(key: CipherKey, plaintext: Uint8Array, iv: Uint8Array = randomBytes(IV_SIZE)): Buffer {
  if (iv.length !== IV_SIZE || isZero(iv)) throw new Error('the IV must be 16 bytes and not all zero');
  const ciphertext = ctr(key, iv, plaintext);
  return Buffer.concat([iv, ciphertext, poly1305Aes(ciphertext, iv, key)]);
}

/** Verifies the MAC of `sealed`, then decrypts it. Throws UnauthenticatedError when the MAC does not match. */
export function open(key: CipherKey, sealed: Uint8Array): Buffer {
  if (sealed.length < OVERHEAD) throw new UnauthenticatedError('ciphertext is shorter than IV and MAC');
  const iv = sealed.subarray(0, IV_SIZE);
  if (isZero(iv)) throw new UnauthenticatedError('nonce is invalid');
  const ciphertext = sealed.subarray(IV_SIZE, sealed.length - MAC_SIZE);
  const mac = sealed.subarray(sealed.length - MAC_SIZE);
  if (!timingSafeEqual(poly1305Aes(ciphertext, iv, key), mac)) throw new UnauthenticatedError();
  return ctr(key, iv, ciphertext);
}

/** A fresh random master key (r stored clamped, as restic 0.14 does; both forms are valid). */
export function randomMasterKey(): CipherKey {
  return { encrypt: randomBytes(32), macK: randomBytes(16), macR: clampR(randomBytes(16)) };
}

/** Splits scrypt's 64 output bytes the way restic does: 32 encryption, 16 MAC k, 16 MAC r. */
export function keyFromDerived(derived: Uint8Array): CipherKey {
  if (derived.length !== 64) throw new Error('a derived key has 64 bytes');
  return { encrypt: derived.subarray(0, 32), macK: derived.subarray(32, 48), macR: derived.subarray(48, 64) };
}

/** A key restic accepts: no part may be all zero. */
export function isValidKey(key: CipherKey): boolean {
  return (
    key.encrypt.length === 32 &&
    key.macK.length === 16 &&
    key.macR.length === 16 &&
    !isZero(key.encrypt) &&
    !isZero(key.macK) &&
    !isZero(key.macR)
  );
}
