/**
 * The repository `config` file (restic-format.md §2): `{"version","id","chunker_polynomial"}` sealed
 * with the master key, never compressed, with a fixed name.
 */
import { randomBytes } from 'node:crypto';
import { open, seal, type CipherKey } from './crypto.js';
import { formatPolynomial, isIrreducible, parsePolynomial, randomPolynomial } from './polynomial.js';

export const MIN_VERSION = 1;
export const MAX_VERSION = 2;
/** What restic 0.14 and later `init` writes. */
export const DEFAULT_VERSION = 2;

export interface RepositoryConfig {
  version: number;
  id: string;
  chunkerPolynomial: bigint;
}

export function newConfig(version: number = DEFAULT_VERSION): RepositoryConfig {
  if (version < MIN_VERSION || version > MAX_VERSION)
    throw new Error(`repository version ${version} is not supported`);
  return { version, id: randomBytes(32).toString('hex'), chunkerPolynomial: randomPolynomial() };
}

/** JSON in Go's field order. */
export function encodeConfig(config: RepositoryConfig): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: config.version,
      id: config.id,
      chunker_polynomial: formatPolynomial(config.chunkerPolynomial),
    }),
  );
}

export function sealConfig(config: RepositoryConfig, masterKey: CipherKey): Buffer {
  return seal(masterKey, encodeConfig(config));
}

export type ConfigProblem = 'CorruptConfig' | 'UnsupportedVersion';

/** Why a decrypted config is not usable. */
export class ConfigError extends Error {
  readonly reason: ConfigProblem;
  constructor(reason: ConfigProblem, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.reason = reason;
  }
}

/** Decrypts and checks a config: MAC, JSON, version 1..2, 64-hex id, irreducible polynomial. */
export function openConfig(sealed: Uint8Array, masterKey: CipherKey): RepositoryConfig {
  if (sealed.length === 0) throw new ConfigError('CorruptConfig', 'the config file is empty');
  let plaintext: Buffer;
  try {
    plaintext = open(masterKey, sealed);
  } catch {
    throw new ConfigError(
      'CorruptConfig',
      'the config file does not verify with the master key of the opened key file',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new ConfigError('CorruptConfig', 'the config file is not JSON');
  }
  if (raw === null || typeof raw !== 'object')
    throw new ConfigError('CorruptConfig', 'the config file is not a JSON object');
  const fields = raw as Record<string, unknown>;
  const version = fields.version;
  if (typeof version !== 'number' || !Number.isInteger(version))
    throw new ConfigError('CorruptConfig', 'the config has no version');
  if (version < MIN_VERSION || version > MAX_VERSION) {
    throw new ConfigError(
      'UnsupportedVersion',
      `repository version ${version} is not supported (${MIN_VERSION}..${MAX_VERSION})`,
    );
  }
  if (typeof fields.id !== 'string' || fields.id === '')
    throw new ConfigError('CorruptConfig', 'the config has no repository id');
  const polynomial =
    typeof fields.chunker_polynomial === 'string' ? parsePolynomial(fields.chunker_polynomial) : undefined;
  if (polynomial === undefined)
    throw new ConfigError('CorruptConfig', 'the config has no chunker polynomial');
  if (!isIrreducible(polynomial))
    throw new ConfigError('CorruptConfig', 'the chunker polynomial is not irreducible');
  return { version, id: fields.id, chunkerPolynomial: polynomial };
}
