/**
 * scrypt key derivation for restic key files (restic-format.md §3). restic calibrates to 500 ms and
 * 60 MiB: r = 8, N = the largest power of two under the memory bound (32768), then p as high as
 * fits in the time. We do the same with one timed run instead of restic's trial loop, because scrypt's
 * cost is linear in p; the result is memoised per process (one run per cold start).
 */
import { scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

export const SALT_SIZE = 64;
export const DERIVED_KEY_SIZE = 64;
/** restic's targets (internal/repository/key.go KDFTimeout, KDFMemory). */
export const TARGET_MS = 500;
export const TARGET_MEMORY = 60 * 1024 * 1024;
/** restic's fallback when calibration fails (crypto/kdf.go DefaultKDFParams). */
export const DEFAULT_PARAMS: KdfParams = { N: 16384, r: 8, p: 1 };
/**
 * The weakest parameters a caller may ask for (options.kdf): what restic's calibration starts from
 * before it measures (simple-scrypt Calibrate: r = 8, p = 1, N = the largest power of two with
 * 128·r·N under 60 MiB). restic itself opens anything scrypt accepts, so this bound is ours to keep.
 */
export const MINIMUM_PARAMS: KdfParams = { N: 32768, r: 8, p: 1 };
/**
 * Largest scrypt work (N·r·p) we run: 32× the minimum. scrypt holds a thread until it is done, whatever
 * the deadline says, so a caller must not be able to ask for hours of it.
 */
const MAX_WORK = 2 ** 15 * 8 * 32;
/** Largest working memory we let scrypt use (Node's default maxmem of 32 MiB is too small for N=32768, r=8). */
const MAX_MEMORY = 512 * 1024 * 1024;

const isPowerOfTwo = (value: number): boolean =>
  Number.isInteger(value) && value > 1 && (value & (value - 1)) === 0;

/** Why a parameter set is not usable (restic/simple-scrypt's own rules plus our memory bound), or undefined. */
export function checkParams(params: KdfParams): string | undefined {
  const { N, r, p } = params;
  if (!isPowerOfTwo(N)) return 'N must be a power of two greater than 1';
  if (!Number.isInteger(r) || r < 1) return 'r must be a positive integer';
  if (!Number.isInteger(p) || p < 1) return 'p must be a positive integer';
  if (r * p >= 2 ** 30) return 'r·p must be below 2^30';
  if (memoryOf(params) > MAX_MEMORY) return `N·r needs more than ${MAX_MEMORY / 1024 / 1024} MiB`;
  if (N * r * p > MAX_WORK)
    return `N·r·p must be at most ${MAX_WORK} (${MAX_WORK / (2 ** 15 * 8)}× restic's minimum work)`;
  return undefined;
}

/** Why a parameter set is weaker than restic's own key files (each of N, r, p at least MINIMUM_PARAMS'), or undefined. */
export function weakness(params: KdfParams): string | undefined {
  const { N, r, p } = MINIMUM_PARAMS;
  if (params.N >= N && params.r >= r && params.p >= p) return undefined;
  return `scrypt parameters weaker than restic's own key files: expected N ≥ ${N}, r ≥ ${r}, p ≥ ${p} (or no kdf, to calibrate as restic does)`;
}

function memoryOf({ N, r, p }: KdfParams): number {
  return 128 * N * r + 128 * r * p + 256 * r;
}

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
