/**
 * Unpacked files: snapshots, locks and index files (restic-format.md §5). Each is sealed with the
 * master key and named by the SHA-256 of its stored bytes. In version-2 repositories the plaintext is
 * either raw JSON or a 0x02 byte followed by zstd-compressed JSON (Node 20 has no zstd: fzstd).
 */
import { decompress } from 'fzstd';
import { open, type CipherKey } from './crypto.js';
import { fileId } from './layout.js';

const COMPRESSED_V2 = 0x02;

export class UnreadableFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableFileError';
  }
}

/** Verifies name and MAC, decrypts, decompresses and parses one unpacked file. */
export function decodeUnpacked(
  id: string,
  sealed: Uint8Array,
  masterKey: CipherKey,
  version: number,
): unknown {
  if (fileId(sealed) !== id)
    throw new UnreadableFileError('the content does not match the file name (SHA-256)');
  let plaintext: Uint8Array;
  try {
    plaintext = open(masterKey, sealed);
  } catch {
    throw new UnreadableFileError('the file does not verify with the repository master key');
  }
  if (version >= 2 && plaintext[0] === COMPRESSED_V2) {
    try {
      plaintext = decompress(plaintext.subarray(1));
    } catch {
      throw new UnreadableFileError('the zstd-compressed content cannot be decompressed');
    }
  } else if (version >= 2 && plaintext[0] !== 0x7b && plaintext[0] !== 0x5b) {
    throw new UnreadableFileError('unsupported encoding of an unpacked file');
  }
  try {
    return JSON.parse(Buffer.from(plaintext).toString('utf8'));
  } catch {
    throw new UnreadableFileError('the content is not JSON');
  }
}

/** Go's RFC 3339 timestamps carry up to nine fractional digits; Date keeps milliseconds. */
export function parseGoTime(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.replace(/(\.\d{3})\d+/, '$1');
  const time = new Date(trimmed);
  return Number.isNaN(time.getTime()) ? undefined : time;
}
