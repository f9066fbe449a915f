/**
 * Key files (restic-format.md §3): plain JSON naming the scrypt parameters and salt, whose `data` is
 * the master key sealed under the key derived from the password. A wrong password shows as a MAC
 * mismatch on `data`; nothing is decrypted before the MAC verifies.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isValidKey, keyFromDerived, open, seal, UnauthenticatedError, type CipherKey } from './crypto.js';
import { checkParams, type KdfParams } from '../config/kdf-params.js';
import { deriveKey, SALT_SIZE } from './kdf.js';
import { fileId } from './layout.js';

export interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

/** A key file that cannot be used at all (as opposed to one the password does not open). */
export class CorruptKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptKeyError';
  }
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function encodeMasterKey(key: CipherKey): Buffer {
  return Buffer.from(
    JSON.stringify({ mac: { k: b64(key.macK), r: b64(key.macR) }, encrypt: b64(key.encrypt) }),
  );
}

/** Go's base64 decoding of a fixed-size array: shorter values are zero-padded. */
function fixed(value: unknown, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (typeof value === 'string') out.set(Buffer.from(value, 'base64').subarray(0, size));
  return out;
}

function decodeMasterKey(plaintext: Buffer): CipherKey {
  let raw: { mac?: { k?: unknown; r?: unknown }; encrypt?: unknown };
  try {
    raw = JSON.parse(plaintext.toString('utf8')) as typeof raw;
  } catch {
    throw new CorruptKeyError('the master key in the key file is not JSON');
  }
  const key = { encrypt: fixed(raw.encrypt, 32), macK: fixed(raw.mac?.k, 16), macR: fixed(raw.mac?.r, 16) };
  if (!isValidKey(key)) throw new CorruptKeyError('the master key in the key file is invalid');
  return key;
}

export interface NewKey {
  id: string;
  bytes: Buffer;
}

/** A key file for `masterKey`, opened by `password`; its name is the SHA-256 of the exact bytes. */
export async function createKeyFile(
  password: string,
  masterKey: CipherKey,
  params: KdfParams,
  identity: { username?: string; hostname?: string } = {},
): Promise<NewKey> {
  const salt = randomBytes(SALT_SIZE);
  const userKey = keyFromDerived(await deriveKey(password, salt, params));
  const file: KeyFile = {
    created: new Date().toISOString(),
    username: identity.username ?? 'backupstorage-functions',
    hostname: identity.hostname ?? hostname(),
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: b64(salt),
    data: b64(seal(userKey, encodeMasterKey(masterKey))),
  };
  const bytes = Buffer.from(JSON.stringify(file));
  return { id: fileId(bytes), bytes };
}

export interface ParsedKey {
  params: KdfParams;
  salt: Uint8Array;
  data: Uint8Array;
  created?: string;
  hostname?: string;
  username?: string;
}

/** Go decodes JSON field names case-insensitively. */
function field(record: Record<string, unknown>, name: string): unknown {
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  const match = Object.keys(record).find((key) => key.toLowerCase() === lower);
  return match === undefined ? undefined : record[match];
}

export function parseKeyFile(bytes: Uint8Array): ParsedKey {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CorruptKeyError('the key file is not JSON');
  }
  if (raw === null || typeof raw !== 'object') throw new CorruptKeyError('the key file is not a JSON object');
  const record = raw as Record<string, unknown>;
  if (field(record, 'kdf') !== 'scrypt') throw new CorruptKeyError('the key file does not use scrypt');
  const params = {
    N: Number(field(record, 'N')),
    r: Number(field(record, 'r')),
    p: Number(field(record, 'p')),
  };
  const problem = checkParams(params);
  if (problem) throw new CorruptKeyError(`the key file's scrypt parameters are not usable: ${problem}`);
  const salt = Buffer.from(String(field(record, 'salt') ?? ''), 'base64');
  if (salt.length !== SALT_SIZE) throw new CorruptKeyError('the key file salt is not 64 bytes');
  const data = Buffer.from(String(field(record, 'data') ?? ''), 'base64');
  const text = (name: string): string | undefined => {
    const value = field(record, name);
    return typeof value === 'string' ? value : undefined;
  };
  return {
    params,
    salt,
    data,
    created: text('created'),
    hostname: text('hostname'),
    username: text('username'),
  };
}

/**
 * The master key this key file holds, if `password` opens it; undefined when the MAC does not verify
 * (wrong password). CorruptKeyError when the file itself is unusable.
 */
export async function openKeyFile(parsed: ParsedKey, password: string): Promise<CipherKey | undefined> {
  const userKey = keyFromDerived(await deriveKey(password, parsed.salt, parsed.params));
  let plaintext: Buffer;
  try {
    plaintext = open(userKey, parsed.data);
  } catch (error) {
    if (error instanceof UnauthenticatedError) return undefined;
    throw error;
  }
  return decodeMasterKey(plaintext);
}
