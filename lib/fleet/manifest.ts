/**
 * The fleet manifest is what users already have: `kubectl get backupstorages -A -o yaml` (a `List`),
 * Stash `Repository` lists, several YAML documents, or the same as JSON. It is read from `file:<path>`
 * (deployed with the function), `s3://bucket/key` or `aws-ssm:<parameter>`. Each item is parsed on its
 * own with the request's parser (lib/config/manifests.ts), so one bad item becomes one invalid entry
 * and never hides the others.
 */
import { deploymentRequestHandler } from '../net/deployment-agents.js';
import { functionRegion } from '../runtime/aws-region.js';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { RequestError } from '../config/request-error.js';
import type { StorageTarget } from '../config/backend.js';
import { parseStorage } from '../config/manifests.js';
import { CredentialsError } from '../credentials/resolve.js';
import { readSsmParameter } from '../credentials/aws.js';
import { awsErrorName } from '../delivery/sqs.js';
import { sanitizeText } from '../credentials/redact.js';
import { CHECK_INTERVAL_ANNOTATION, parseInterval } from './frequency.js';

/** Largest manifest read (a List of a few thousand storages is well below). */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export class FleetSourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'FleetSourceError';
  }
}

export interface FleetEntry {
  /** Position in the manifest (after flattening lists). */
  index: number;
  /** `<namespace>/<name>` when the item has metadata, else `#<index>`. */
  id: string;
  /** The item as it was in the manifest (what a fan-out message carries). */
  item: unknown;
  target?: StorageTarget;
  /** Why the item cannot be checked (it is reported, never dropped). */
  problem?: string;
  /** From the check-interval annotation. */
  intervalMs?: number;
  /** From the endpoint annotation: what a request's options.endpoint would say (emulators, private endpoints). */
  endpoint?: string;
}

/** The fleet's counterpart of a request's options.endpoint. */
export const ENDPOINT_ANNOTATION = 'backupstorage-functions.io/endpoint';

async function readS3(source: string, signal?: AbortSignal): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (!match) throw new FleetSourceError(source, `${source} is not s3://bucket/key`);
  const [, bucket, key] = match as unknown as [string, string, string];
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const custom = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  const client = new S3Client({
    region: functionRegion(),
    forcePathStyle: custom,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The deployment's own bucket: its transport is the deployment's, not a storage's (deployment-agents.ts).
    requestHandler: deploymentRequestHandler(),
  });
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: signal,
    });
    if ((object.ContentLength ?? 0) > MAX_MANIFEST_BYTES)
      throw new FleetSourceError(source, `${source} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    return (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (error instanceof FleetSourceError) throw error;
    throw new FleetSourceError(
      source,
      signal?.aborted
        ? `${source} was not read before the deadline`
        : `${source} could not be read (${awsErrorName(error)})`,
    );
  } finally {
    client.destroy();
  }
}

/** The manifest's text from its source. */
export async function loadFleetSource(source: string, signal?: AbortSignal): Promise<string> {
  if (source.startsWith('file:')) {
    const path = source.slice('file:'.length);
    const full = isAbsolute(path) ? path : resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), path);
    try {
      const text = await readFile(full, { encoding: 'utf8', signal });
      if (text.length > MAX_MANIFEST_BYTES)
        throw new FleetSourceError(source, `${source} is larger than ${MAX_MANIFEST_BYTES} bytes`);
      return text;
    } catch (error) {
      if (error instanceof FleetSourceError) throw error;
      throw new FleetSourceError(
        source,
        `${source} could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  if (source.startsWith('s3://')) return readS3(source, signal);
  if (source.startsWith('aws-ssm:')) {
    try {
      return await readSsmParameter(source.slice('aws-ssm:'.length), source, signal);
    } catch (error) {
      throw new FleetSourceError(
        source,
        error instanceof CredentialsError ? error.message : `${source} could not be read`,
      );
    }
  }
  throw new FleetSourceError(
    source,
    `unknown fleet source "${sanitizeText(source.slice(0, 80))}"; use file:<path>, s3://bucket/key or aws-ssm:<name>`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** List → its items (recursively), a bare array → its elements, anything else → itself. */
function flatten(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (
    isRecord(value) &&
    typeof value.kind === 'string' &&
    value.kind.endsWith('List') &&
    Array.isArray(value.items)
  ) {
    return value.items.flatMap(flatten);
  }
  return value === null || value === undefined ? [] : [value];
}

function entryId(item: unknown, index: number): string {
  const metadata = isRecord(item) && isRecord(item.metadata) ? item.metadata : undefined;
  const name =
    typeof metadata?.name === 'string'
      ? metadata.name
      : isRecord(item) && typeof item.name === 'string'
        ? item.name
        : undefined;
  const namespace =
    typeof metadata?.namespace === 'string'
      ? metadata.namespace
      : isRecord(item) && typeof item.namespace === 'string'
        ? item.namespace
        : undefined;
  return name ? `${namespace ?? 'default'}/${name}` : `#${index}`;
}

function annotationsOf(item: unknown): Record<string, unknown> | undefined {
  return isRecord(item) && isRecord(item.metadata) && isRecord(item.metadata.annotations)
    ? item.metadata.annotations
    : undefined;
}

function intervalOf(item: unknown): { intervalMs?: number; problem?: string } {
  const raw = annotationsOf(item)?.[CHECK_INTERVAL_ANNOTATION];
  if (raw === undefined) return {};
  const intervalMs = typeof raw === 'string' ? parseInterval(raw) : undefined;
  return intervalMs === undefined
    ? { problem: `annotation ${CHECK_INTERVAL_ANNOTATION} is not a duration such as "6h"` }
    : { intervalMs };
}

/** One entry per item, invalid ones included, each with its own problem. */
export function parseFleetItems(items: readonly unknown[]): FleetEntry[] {
  return items.map((item, index) => {
    const entry: FleetEntry = { index, id: entryId(item, index), item };
    try {
      entry.target = parseStorage(item, ['items', index]);
    } catch (error) {
      entry.problem =
        error instanceof RequestError ? sanitizeText(error.message) : 'the item could not be read';
      return entry;
    }
    const interval = intervalOf(item);
    if (interval.problem) entry.problem = interval.problem;
    if (interval.intervalMs !== undefined) entry.intervalMs = interval.intervalMs;
    const endpoint = annotationsOf(item)?.[ENDPOINT_ANNOTATION];
    if (typeof endpoint === 'string' && endpoint !== '' && endpoint.length <= 2048) entry.endpoint = endpoint;
    return entry;
  });
}

/** The manifest's text → entries; a document that is not YAML/JSON at all fails the whole source. */
export function parseFleet(text: string, source: string): FleetEntry[] {
  const documents = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [documents];
  const items: unknown[] = [];
  for (const document of list) {
    if (document.errors.length > 0) {
      const first = document.errors[0];
      const where = first?.linePos?.[0] ? ` at line ${first.linePos[0].line}` : '';
      throw new FleetSourceError(source, `${source} is not valid YAML or JSON${where}`);
    }
    items.push(...flatten(document.toJS({ maxAliasCount: 100 })));
  }
  return parseFleetItems(items);
}
