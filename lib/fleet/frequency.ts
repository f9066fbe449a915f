/**
 * Per-entry check frequency: the annotation `backupstorage-functions.io/check-interval: "6h"` on a
 * manifest entry asks for that storage to be checked about once per interval instead of on every
 * scheduled run. Stateless: each entry gets a fixed phase within its interval (from a hash of its id),
 * and a run is due for the entry when an interval boundary, shifted by that phase, falls within the
 * schedule period ending at the run's time. With a regular schedule, each entry is checked exactly
 * once per interval, and entries sharing an interval are spread over it.
 */
import { createHash } from 'node:crypto';

export const CHECK_INTERVAL_ANNOTATION = 'backupstorage-functions.io/check-interval';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `6h`, `1d`, `1h30m` → milliseconds; undefined when not a duration. */
export function parseInterval(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
    total += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  }
  return total > 0 ? total : undefined;
}

function phaseOf(id: string, intervalMs: number): number {
  const digest = createHash('sha256').update(id).digest();
  return digest.readUInt32BE(0) % Math.max(1, Math.floor(intervalMs));
}

/** Whether the run at `runTimeMs` (a schedule with period `rateMs`) should check the entry. */
export function isDue(
  id: string,
  intervalMs: number | undefined,
  runTimeMs: number,
  rateMs: number,
): boolean {
  if (intervalMs === undefined || intervalMs <= rateMs) return true;
  const phase = phaseOf(id, intervalMs);
  const slot = (time: number): number => Math.floor((time - phase) / intervalMs);
  return slot(runTimeMs) !== slot(runTimeMs - rateMs);
}
