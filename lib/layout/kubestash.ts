/**
 * KubeStash's storage marker: `<prefix>/metadata.yaml`, a `config.kubestash.com/v1alpha1` BackendMeta
 * (shared/spec/kubestash-layout.md §2.1). We record who initialized the prefix in a YAML comment: every
 * YAML reader, KubeStash's included, ignores comments, so the file stays a plain BackendMeta.
 */
import { parseDocument, stringify } from 'yaml';
import type { StorageTarget } from '../config/backend.js';

export const METADATA_FILE = 'metadata.yaml';
export const BACKEND_META_API_VERSION = 'config.kubestash.com/v1alpha1';
const OWNER_TAG = 'owner:';

export interface RepositoryInfo {
  name: string;
  namespace: string;
  path: string;
  size?: string;
  synced?: boolean;
  error?: string;
}

export interface BackendMeta {
  apiVersion?: string;
  kind?: string;
  creationTimestamp?: string;
  operatorVersion?: string;
  repositories?: RepositoryInfo[];
}

/** Identity of the storage a metadata.yaml was written for: `<kind>/<namespace>/<name>`. */
export function ownerOf(target: StorageTarget): string {
  return `${target.kind}/${target.namespace ?? 'default'}/${target.name ?? 'unnamed'}`;
}

export function renderBackendMeta(target: StorageTarget, now = new Date()): string {
  const meta: BackendMeta = {
    apiVersion: BACKEND_META_API_VERSION,
    kind: 'BackendMeta',
    creationTimestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const header = [
    `# Initialized by backupstorage-functions.`,
    `# ${OWNER_TAG} ${ownerOf(target)}${target.uid ? ` uid=${target.uid}` : ''}`,
  ].join('\n');
  return `${header}\n${stringify(meta, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' })}`;
}

export type ParsedBackendMeta =
  { valid: true; meta: BackendMeta; owner?: string } | { valid: false; reason: string };

export function parseBackendMeta(text: string): ParsedBackendMeta {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0)
    return { valid: false, reason: `not valid YAML (${doc.errors[0]?.code ?? 'parse error'})` };
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { valid: false, reason: 'not a YAML mapping' };
  }
  const meta = value as BackendMeta;
  if (meta.kind !== undefined && meta.kind !== 'BackendMeta') {
    return { valid: false, reason: `kind is "${String(meta.kind)}", expected BackendMeta` };
  }
  if (meta.repositories !== undefined && !Array.isArray(meta.repositories)) {
    return { valid: false, reason: 'repositories is not a list' };
  }
  // The owner line sits in the comment header above the first key (the yaml library may attach that
  // header to the document or to the first node, so read it from the text).
  const header = text.split('\n').filter((line) => line.trim() !== '');
  const headerComments = header.slice(
    0,
    Math.max(
      0,
      header.findIndex((line) => !line.trimStart().startsWith('#')),
    ),
  );
  const ownerLine = headerComments
    .map((line) => line.trim().replace(/^#\s*/, ''))
    .find((line) => line.startsWith(OWNER_TAG));
  const owner = ownerLine?.slice(OWNER_TAG.length).trim().split(/\s+/)[0];
  return owner ? { valid: true, meta, owner } : { valid: true, meta };
}
