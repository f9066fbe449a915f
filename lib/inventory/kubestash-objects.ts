/**
 * The two KubeStash objects the inventory reads from a bucket (shared/spec/kubestash-layout.md §3.2,
 * §3.3): `repository.yaml`, a dump of the Repository CR, and the Snapshot CR YAMLs under `snapshots/`.
 * Only the few fields the inventory reports are read; anything else in them is ignored.
 */
import { parseDocument } from 'yaml';

export const REPOSITORY_FILE = 'repository.yaml';
export const SNAPSHOTS_DIR = 'snapshots';

export interface RepositoryIdentity {
  name?: string;
  namespace?: string;
  /** `spec.path`, the directory KubeStash put the repository in. */
  path?: string;
}

const MAX_FIELD = 253;

function mapping(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function shortString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_FIELD * 4 ? value : undefined;
}

function parseYaml(text: string): Record<string, unknown> | undefined {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  return mapping(doc.toJS({ maxAliasCount: 50 }));
}

export type ParsedRepository = { ok: true; identity: RepositoryIdentity } | { ok: false; reason: string };

export function parseRepositoryYaml(text: string): ParsedRepository {
  const doc = parseYaml(text);
  if (!doc) return { ok: false, reason: 'repository.yaml is not a YAML mapping' };
  if (doc.kind !== undefined && doc.kind !== 'Repository') {
    return {
      ok: false,
      reason: `repository.yaml holds a ${String(doc.kind).slice(0, 40)}, not a Repository`,
    };
  }
  const metadata = mapping(doc.metadata);
  const spec = mapping(doc.spec);
  const identity: RepositoryIdentity = {};
  const name = shortString(metadata?.name);
  const namespace = shortString(metadata?.namespace);
  const path = shortString(spec?.path);
  if (name) identity.name = name;
  if (namespace) identity.namespace = namespace;
  if (path) identity.path = path;
  return { ok: true, identity };
}

/** `status.snapshotTime` of a Snapshot YAML, in epoch ms; undefined when absent (a snapshot still running). */
export function snapshotTimeOf(text: string): number | undefined {
  const doc = parseYaml(text);
  const time = mapping(doc?.status)?.snapshotTime;
  const parsed =
    typeof time === 'string' ? Date.parse(time) : time instanceof Date ? time.getTime() : Number.NaN;
  return Number.isFinite(parsed) ? parsed : undefined;
}
