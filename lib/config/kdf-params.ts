/**
 * scrypt parameters as a request names them (options.kdf) and the rules they must follow. They belong
 * to the request's schema, so they live in config; lib/restic/kdf.ts derives keys with them.
 */

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

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

/** scrypt's working memory for these parameters, in bytes. */
export function memoryOf({ N, r, p }: KdfParams): number {
  return 128 * N * r + 128 * r * p + 256 * r;
}
