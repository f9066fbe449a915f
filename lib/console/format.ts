/** How the console writes times and sizes: kubectl's ages (`5m`, `3h`, `12d`) and KubeStash's sizes. */
import { formatBytes } from '../inventory/size-format.js';

export function age(from: string | undefined, now: number): string {
  if (!from) return '—';
  const ms = now - Date.parse(from);
  if (!Number.isFinite(ms)) return '—';
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

export function size(bytes: number | undefined): string {
  return bytes === undefined ? '—' : formatBytes(bytes);
}
