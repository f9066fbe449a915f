/**
 * GCS credentials and endpoint: the storage secret's service-account key (checked without ever quoting
 * it), the project, and options.endpoint, read into the SDK's options and the authentication mode that
 * the error table's hints name (see store.ts for the quirks).
 */
import { createPrivateKey } from 'node:crypto';
import { IdempotencyStrategy, type StorageOptions } from '@google-cloud/storage';
import type { SecretBag } from '../../credentials/secret.js';
import { StorageError } from '../errors.js';

const PROVIDER = 'gcs';
export const KEY_SECRET = 'GOOGLE_SERVICE_ACCOUNT_JSON_KEY';
export const PROJECT_SECRET = 'GOOGLE_PROJECT_ID';
export const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RETRIES = 2;
const RETRY_TOTAL_SECONDS = 20;

export type GcsAuthMode = 'service-account' | 'application-default' | 'anonymous';

/** The fields of a service-account key the SDK needs; the rest of the JSON is passed through. */
interface ServiceAccountKey {
  type?: string;
  client_email: string;
  private_key: string;
  project_id?: string;
  universe_domain?: string;
  [field: string]: unknown;
}

function invalidConfig(message: string, hint: string): StorageError {
  return new StorageError({ code: 'InvalidConfig', provider: PROVIDER, operation: 'connect', message, hint });
}

const KEY_HINT = `put the service account's JSON key file, unchanged, in the secret as ${KEY_SECRET} (kubectl create secret generic … --from-file=${KEY_SECRET}=key.json), or remove the key to use workload identity`;

/**
 * Parses and checks a service-account key. Every failure names what is wrong and never a part of the
 * key: JSON.parse messages quote the input, so they are not used.
 */
export function parseServiceAccountKey(raw: string): ServiceAccountKey {
  const text = raw.trim();
  if (text === '') throw invalidConfig(`${KEY_SECRET} is empty`, KEY_HINT);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidConfig(`${KEY_SECRET} is not JSON (a base64-encoded or truncated key?)`, KEY_HINT);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidConfig(`${KEY_SECRET} is JSON but not an object`, KEY_HINT);
  }
  const key = parsed as Record<string, unknown>;
  if (key.type !== undefined && key.type !== 'service_account') {
    throw invalidConfig(
      `${KEY_SECRET} is a "${typeof key.type === 'string' ? key.type.slice(0, 40) : typeof key.type}" credential, not a service_account key`,
      KEY_HINT,
    );
  }
  const missing = ['client_email', 'private_key'].filter(
    (field) => typeof key[field] !== 'string' || key[field] === '',
  );
  if (missing.length > 0) throw invalidConfig(`${KEY_SECRET} is missing ${missing.join(' and ')}`, KEY_HINT);
  try {
    createPrivateKey(key.private_key as string);
  } catch {
    throw invalidConfig(`${KEY_SECRET} has a private_key that is not a PEM private key`, KEY_HINT);
  }
  for (const field of ['project_id', 'universe_domain'] as const) {
    if (key[field] !== undefined && typeof key[field] !== 'string')
      throw invalidConfig(`${KEY_SECRET} has a non-string ${field}`, KEY_HINT);
  }
  return key as ServiceAccountKey;
}

/** `options.endpoint` as an API endpoint: an http(s) origin plus optional path, without trailing slash. */
function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalidConfig(
      'options.endpoint is not a URL',
      'give the API endpoint as https://host[:port], e.g. https://storage.googleapis.com',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidConfig(
      `options.endpoint has scheme ${url.protocol} (http or https expected)`,
      'give the API endpoint as https://host[:port]',
    );
  }
  if (url.username || url.password || url.search) {
    throw invalidConfig(
      'options.endpoint must not carry credentials or a query',
      'give the API endpoint as https://host[:port]',
    );
  }
  return url;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

export interface GcsClientSettings {
  mode: GcsAuthMode;
  options: StorageOptions;
  projectId?: string;
  /** Revealed secret values, for scrubbing SDK text. */
  secrets: string[];
}

/** Secret + endpoint → the SDK's options. Throws InvalidConfig for a bad key or endpoint. */
export function clientSettings(credentials: SecretBag, endpoint: string | undefined): GcsClientSettings {
  const rawKey = credentials.reveal(KEY_SECRET);
  const key = rawKey === undefined ? undefined : parseServiceAccountKey(rawKey);
  const projectId = credentials.reveal(PROJECT_SECRET)?.trim() || key?.project_id || undefined;
  const url = endpoint === undefined ? undefined : parseEndpoint(endpoint);
  const plainHttp = url?.protocol === 'http:';
  if (key && plainHttp && !isLoopback(url.hostname)) {
    throw invalidConfig(
      'options.endpoint is plain http: the service account’s access tokens would travel in cleartext',
      'use an https endpoint (a loopback http endpoint is accepted for a local proxy)',
    );
  }
  const mode: GcsAuthMode = key ? 'service-account' : plainHttp ? 'anonymous' : 'application-default';
  const options: StorageOptions = {
    projectId,
    // Authenticate on custom endpoints too (private and sovereign endpoints need it); emulators get none.
    useAuthWithCustomEndpoint: mode !== 'anonymous',
    timeout: REQUEST_TIMEOUT_MS,
    retryOptions: {
      autoRetry: true,
      maxRetries: MAX_RETRIES,
      retryDelayMultiplier: 2,
      maxRetryDelay: 2,
      totalTimeout: RETRY_TOTAL_SECONDS,
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
    userAgent: 'backupstorage-functions',
  };
  if (url) options.apiEndpoint = url.href.replace(/\/+$/, '');
  if (key) {
    options.credentials = key;
    // A key from another universe (sovereign clouds) must be used there; the SDK checks they agree.
    if (key.universe_domain) options.universeDomain = key.universe_domain;
  }
  const secrets = [rawKey, key?.private_key].filter((value): value is string => value !== undefined);
  return { mode, options, projectId, secrets };
}
