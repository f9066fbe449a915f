/**
 * scrypt key derivation for restic key files (restic-format.md §3). restic calibrates to 500 ms and
 * 60 MiB: r = 8, N = the largest power of two under the memory bound (32768), then p as high as
 * fits in the time. We do the same with one timed run instead of restic's trial loop, because scrypt's
 * cost is linear in p; the result is memoised per process (one run per cold start).
 */
import { scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { checkParams, memoryOf, type KdfParams } from '../config/kdf-params.js';

export const SALT_SIZE = 64;
export const DERIVED_KEY_SIZE = 64;
/** restic's targets (internal/repository/key.go KDFTimeout, KDFMemory). */
export const TARGET_MS = 500;
export const TARGET_MEMORY = 60 * 1024 * 1024;
/** restic's fallback when calibration fails (crypto/kdf.go DefaultKDFParams). */
export const DEFAULT_PARAMS: KdfParams = { N: 16384, r: 8, p: 1 };

/** scrypt(password, salt, N, r, p, 64 bytes), in libuv's thread pool. */
export function deriveKey(
  password: string | Uint8Array,
  salt: Uint8Array,
  params: KdfParams,
): Promise<Buffer> {
  const problem = checkParams(params);
  if (problem) return Promise.reject(new Error(`invalid scrypt parameters: ${problem}`));
  return new Promise((resolve, reject) => {
    scrypt(
      typeof password === 'string' ? Buffer.from(password, 'utf8') : password,
      salt,
      DERIVED_KEY_SIZE,
      { N: params.N, r: params.r, p: params.p, maxmem: memoryOf(params) + 16 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

let calibrated: Promise<KdfParams> | undefined;

/** How long one scrypt run with these parameters takes here, in milliseconds. */
export type KdfTimer = (params: KdfParams) => Promise<number>;

const timeOneRun: KdfTimer = async (params) => {
  const start = performance.now();
  await deriveKey('calibration', new Uint8Array(SALT_SIZE), params);
  return performance.now() - start;
};

/**
 * restic-strength parameters for this machine: r = 8, N = largest power of two with 128·r·N below the
 * memory target, halved while one run exceeds the time target, then p = how many such runs fit in it.
 */
export async function calibrate(
  targetMs = TARGET_MS,
  maxMemory = TARGET_MEMORY,
  timer: KdfTimer = timeOneRun,
): Promise<KdfParams> {
  const r = 8;
  let N = 2;
  while (128 * r * N * 2 < maxMemory) N *= 2;
  for (;;) {
    const elapsed = Math.max(await timer({ N, r, p: 1 }), 0.001);
    if (elapsed > targetMs && N > 1024) {
      N /= 2;
      continue;
    }
    return { N, r, p: Math.max(1, Math.floor(targetMs / elapsed)) };
  }
}

/** The process's calibrated parameters, measured once; restic's defaults if measuring fails. */
export function calibratedParams(): Promise<KdfParams> {
  calibrated ??= calibrate().catch(() => DEFAULT_PARAMS);
  return calibrated;
}
