/**
 * Sizes as KubeStash writes them into `status.totalSize` and `status.repositories[].size`: binary units,
 * three decimals, "12.222 MiB" (kubestash/apimachinery `FormatBytes`). A unit is used only when the
 * value is strictly greater than one of it, so 1024 bytes stay "1024 B" and 1 MiB is "1024.000 KiB".
 * Go's `%.3f` rounds exact ties to even, so the decimals are computed exactly with BigInt, not toFixed.
 */

const UNITS = [
  { name: 'TiB', shift: 40n },
  { name: 'GiB', shift: 30n },
  { name: 'MiB', shift: 20n },
  { name: 'KiB', shift: 10n },
] as const;

/** `bytes / 2^shift` with three decimals, ties to even, as Go's fmt does for an exactly representable value. */
function threeDecimals(bytes: bigint, shift: bigint): string {
  const divisor = 1n << shift;
  const scaled = bytes * 1000n;
  let quotient = scaled / divisor;
  const twiceRemainder = (scaled % divisor) * 2n;
  if (twiceRemainder > divisor || (twiceRemainder === divisor && quotient % 2n === 1n)) quotient += 1n;
  const whole = quotient / 1000n;
  const fraction = (quotient % 1000n).toString().padStart(3, '0');
  return `${whole}.${fraction}`;
}

/** Bytes → KubeStash's size string. */
export function formatBytes(bytes: number | bigint): string {
  const value = typeof bytes === 'bigint' ? bytes : BigInt(Math.max(0, Math.trunc(bytes)));
  for (const unit of UNITS) {
    if (value > 1n << unit.shift) return `${threeDecimals(value, unit.shift)} ${unit.name}`;
  }
  return `${value} B`;
}

const MULTIPLIERS: Record<string, number> = { TiB: 2 ** 40, GiB: 2 ** 30, MiB: 2 ** 20, KiB: 2 ** 10, B: 1 };

/** KubeStash's size string → bytes (what `ConvertSizeToByte` accepts), or undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s+(TiB|GiB|MiB|KiB|B)\s*$/.exec(text);
  if (!match) return undefined;
  return Math.trunc(Number(match[1]) * (MULTIPLIERS[match[2] as string] as number));
}
