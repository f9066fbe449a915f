/**
 * Swift authentication: which mode the storage secret's keys describe, how to get a token and a storage
 * URL in that mode, and a token cache that lives as long as the warm function.
 *
 * Modes, from the keys present (first complete one wins, in this order):
 * - token: OS_AUTH_TOKEN + OS_STORAGE_URL (or options.endpoint); nothing to renew.
 * - application credential (Keystone v3): OS_AUTH_URL, OS_APPLICATION_CREDENTIAL_SECRET and either
 *   OS_APPLICATION_CREDENTIAL_ID, or OS_APPLICATION_CREDENTIAL_NAME with the owner (OS_USER_ID, or
 *   OS_USERNAME + OS_USER_DOMAIN_NAME/ID).
 * - Keystone v3 / v2 password: OS_AUTH_URL, OS_USERNAME (or OS_USER_ID), OS_PASSWORD and a project
 *   (v3: OS_PROJECT_ID, or OS_PROJECT_NAME + OS_PROJECT_DOMAIN_NAME/ID, user domain with a user name;
 *   v2: OS_TENANT_ID or OS_TENANT_NAME). The version is the auth URL's (/v3, /v2.0); a URL without one
 *   is read as v3 when v3-only keys are present and as v2 when tenant keys are.
 * - v1 (tempauth, swauth, many hosted Swifts): ST_AUTH, ST_USER, ST_KEY.
 * Keystone's object-store endpoint is picked from the catalog by OS_REGION_NAME and OS_INTERFACE
 * (default public).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SecretBag } from '../../credentials/secret.js';
import { StorageError } from '../errors.js';
import { sendRequest, type HttpClientOptions, type HttpResponse } from '../../net/http-client.js';
import { SharedPromises } from '../../runtime/memo.js';
import { retrying } from '../../runtime/retry.js';
import { SWIFT_PROVIDER, swiftError, swiftRetryVerdict } from './errors.js';

export type SwiftAuthMode = 'token' | 'application-credential' | 'keystone-v3' | 'keystone-v2' | 'v1';

export interface SwiftSession {
  token: string;
  storageUrl: string;
  /** Epoch ms after which the token must not be used; undefined when the server did not say. */
  expiresAt?: number;
}

export interface SwiftAuthPlan {
  mode: SwiftAuthMode;
  /** Keys that authenticate in this mode, for hints. Never values. */
  credentialKeys: string;
  /** Whether a new token can be had (not for a token handed over as OS_AUTH_TOKEN). */
  renewable: boolean;
  /** A digest of everything that identifies the login (secrets included), to key the cache. */
  cacheKey: string;
  login(signal: AbortSignal | undefined, http: HttpClientOptions): Promise<SwiftSession>;
}

const MODE_LABELS: Record<SwiftAuthMode, string> = {
  token: 'token (OS_AUTH_TOKEN + OS_STORAGE_URL)',
  'application-credential': 'Keystone v3 application credential',
  'keystone-v3': 'Keystone v3 password',
  'keystone-v2': 'Keystone v2 password',
  v1: 'Swift v1 auth (ST_AUTH)',
};

/** Reads secret keys, treating empty values as absent. */
class Keys {
  readonly #bag: SecretBag;
  constructor(bag: SecretBag) {
    this.#bag = bag;
  }
  has(key: string): boolean {
    const value = this.#bag.reveal(key);
    return value !== undefined && value.trim() !== '';
  }
  any(...keys: string[]): boolean {
    return keys.some((key) => this.has(key));
  }
  /** Identity values (URLs, names, IDs): surrounding whitespace is a copy-paste slip, not meaning. */
  text(key: string): string | undefined {
    return this.has(key) ? this.#bag.reveal(key)?.trim() : undefined;
  }
  /** Passwords and keys are used exactly as stored. */
  secret(key: string): string | undefined {
    return this.has(key) ? this.#bag.reveal(key) : undefined;
  }
}

interface Candidate {
  mode: SwiftAuthMode;
  /** Whether any key of the mode is present. */
  touched: boolean;
  /** What is missing, each entry a key or "A or B". */
  missing: string[];
}

function keystoneVersionOf(keys: Keys): 2 | 3 | undefined {
  const path = (() => {
    try {
      return new URL(keys.text('OS_AUTH_URL') ?? '').pathname.replace(/\/+$/, '');
    } catch {
      return '';
    }
  })();
  if (/\/v3$/.test(path)) return 3;
  if (/\/v2(\.0)?$/.test(path)) return 2;
  if (
    keys.any(
      'OS_USER_DOMAIN_NAME',
      'OS_USER_DOMAIN_ID',
      'OS_PROJECT_NAME',
      'OS_PROJECT_ID',
      'OS_PROJECT_DOMAIN_NAME',
      'OS_PROJECT_DOMAIN_ID',
    )
  ) {
    return 3;
  }
  if (keys.any('OS_TENANT_ID', 'OS_TENANT_NAME')) return 2;
  return undefined;
}

function candidates(keys: Keys, endpoint: string | undefined): Candidate[] {
  const missing = (...requirements: [boolean, string][]): string[] =>
    requirements.filter(([ok]) => !ok).map(([, name]) => name);
  const userDomain = keys.any('OS_USER_DOMAIN_NAME', 'OS_USER_DOMAIN_ID');
  const userNamed = keys.has('OS_USER_ID') || (keys.has('OS_USERNAME') && userDomain);
  const userNamedMissing = keys.has('OS_USERNAME')
    ? 'OS_USER_DOMAIN_NAME or OS_USER_DOMAIN_ID'
    : 'OS_USERNAME (with OS_USER_DOMAIN_NAME) or OS_USER_ID';

  const token: Candidate = {
    mode: 'token',
    touched: keys.any('OS_AUTH_TOKEN', 'OS_STORAGE_URL'),
    missing: missing(
      [keys.has('OS_AUTH_TOKEN'), 'OS_AUTH_TOKEN'],
      [keys.has('OS_STORAGE_URL') || endpoint !== undefined, 'OS_STORAGE_URL'],
    ),
  };

  const appCredTouched = keys.any(
    'OS_APPLICATION_CREDENTIAL_ID',
    'OS_APPLICATION_CREDENTIAL_NAME',
    'OS_APPLICATION_CREDENTIAL_SECRET',
  );
  const appCred: Candidate = {
    mode: 'application-credential',
    touched: appCredTouched,
    missing: missing(
      [keys.has('OS_AUTH_URL'), 'OS_AUTH_URL'],
      [keys.has('OS_APPLICATION_CREDENTIAL_SECRET'), 'OS_APPLICATION_CREDENTIAL_SECRET'],
      [
        keys.any('OS_APPLICATION_CREDENTIAL_ID', 'OS_APPLICATION_CREDENTIAL_NAME'),
        'OS_APPLICATION_CREDENTIAL_ID or OS_APPLICATION_CREDENTIAL_NAME',
      ],
      [
        keys.has('OS_APPLICATION_CREDENTIAL_ID') || !keys.has('OS_APPLICATION_CREDENTIAL_NAME') || userNamed,
        userNamedMissing,
      ],
    ),
  };

  // With application-credential keys present, OS_AUTH_URL and the user keys belong to that mode.
  const keystoneTouched =
    keys.has('OS_PASSWORD') ||
    (!appCredTouched &&
      keys.any(
        'OS_AUTH_URL',
        'OS_USERNAME',
        'OS_USER_ID',
        'OS_TENANT_ID',
        'OS_TENANT_NAME',
        'OS_PROJECT_NAME',
        'OS_PROJECT_ID',
      ));
  const version = keystoneVersionOf(keys);
  const project =
    keys.any('OS_PROJECT_ID', 'OS_TENANT_ID') ||
    (keys.any('OS_PROJECT_NAME', 'OS_TENANT_NAME') &&
      keys.any('OS_PROJECT_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_ID'));
  const keystoneV3: Candidate = {
    mode: 'keystone-v3',
    touched: keystoneTouched && version !== 2,
    missing: missing(
      [keys.has('OS_AUTH_URL'), 'OS_AUTH_URL'],
      [userNamed, userNamedMissing],
      [keys.has('OS_PASSWORD'), 'OS_PASSWORD'],
      [
        project,
        keys.any('OS_PROJECT_NAME', 'OS_TENANT_NAME')
          ? 'OS_PROJECT_DOMAIN_NAME or OS_PROJECT_DOMAIN_ID'
          : 'OS_PROJECT_NAME (with OS_PROJECT_DOMAIN_NAME) or OS_PROJECT_ID',
      ],
      [version !== undefined, 'a version in OS_AUTH_URL (…/v3 or …/v2.0)'],
    ),
  };
  const keystoneV2: Candidate = {
    mode: 'keystone-v2',
    touched: keystoneTouched && version === 2,
    missing: missing(
      [keys.has('OS_AUTH_URL'), 'OS_AUTH_URL'],
      [keys.any('OS_USERNAME', 'OS_USER_ID'), 'OS_USERNAME'],
      [keys.has('OS_PASSWORD'), 'OS_PASSWORD'],
      [
        keys.any('OS_TENANT_ID', 'OS_TENANT_NAME', 'OS_PROJECT_ID', 'OS_PROJECT_NAME'),
        'OS_TENANT_ID or OS_TENANT_NAME',
      ],
    ),
  };

  const v1: Candidate = {
    mode: 'v1',
    touched: keys.any('ST_AUTH', 'ST_USER', 'ST_KEY'),
    missing: missing(
      [keys.has('ST_AUTH'), 'ST_AUTH'],
      [keys.has('ST_USER'), 'ST_USER'],
      [keys.has('ST_KEY'), 'ST_KEY'],
    ),
  };
  return [token, appCred, keystoneV3, keystoneV2, v1];
}

function invalidConfig(message: string, hint?: string): StorageError {
  return new StorageError({
    code: 'InvalidConfig',
    provider: SWIFT_PROVIDER,
    operation: 'authenticate',
    message,
    hint,
  });
}

function digest(parts: (string | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Decides the mode from the keys present; InvalidConfig naming what is missing for which mode. */
export function planSwiftAuth(bag: SecretBag, endpoint?: string): SwiftAuthPlan {
  const keys = new Keys(bag);
  const all = candidates(keys, endpoint);
  const chosen = all.find((candidate) => candidate.touched && candidate.missing.length === 0);
  if (!chosen) {
    const touched = all.filter((candidate) => candidate.touched);
    if (touched.length === 0) {
      throw invalidConfig(
        `the secret (${bag.source}) holds no Swift credentials`,
        'give ST_AUTH/ST_USER/ST_KEY (v1), OS_AUTH_URL/OS_USERNAME/OS_PASSWORD with a project (Keystone), OS_APPLICATION_CREDENTIAL_ID/_SECRET with OS_AUTH_URL, or OS_STORAGE_URL/OS_AUTH_TOKEN',
      );
    }
    const details = touched.map(
      (candidate) => `${MODE_LABELS[candidate.mode]} is missing ${candidate.missing.join(', ')}`,
    );
    throw invalidConfig(
      `the Swift credentials are incomplete: ${details.join('; ')}`,
      'add the missing keys to the secret, or remove the keys of the mode you do not use',
    );
  }
  switch (chosen.mode) {
    case 'token':
      return tokenPlan(keys, endpoint);
    case 'v1':
      return v1Plan(keys);
    default:
      return keystonePlan(keys, chosen.mode);
  }
}

function tokenPlan(keys: Keys, endpoint: string | undefined): SwiftAuthPlan {
  const token = keys.secret('OS_AUTH_TOKEN') as string;
  const storageUrl = keys.text('OS_STORAGE_URL') ?? (endpoint as string);
  return {
    mode: 'token',
    credentialKeys: 'OS_AUTH_TOKEN and OS_STORAGE_URL',
    renewable: false,
    cacheKey: digest(['token', storageUrl, token]),
    login: async () => ({ token, storageUrl }),
  };
}

function parseUrl(value: string, key: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  throw invalidConfig(`${key} is not an http(s) URL`);
}

/** One identity request; passing faults are retried (a token request may safely be sent again). */
async function send(
  request: Parameters<typeof sendRequest>[0],
  http: HttpClientOptions,
  credentialKeys: string,
): Promise<HttpResponse> {
  return retrying(
    async () => {
      try {
        return await sendRequest(request, http);
      } catch (error) {
        throw swiftError(error, { operation: 'authenticate', target: 'auth', credentialKeys });
      }
    },
    { signal: request.signal, idempotent: true, retryResult: swiftRetryVerdict },
  );
}

function v1Plan(keys: Keys): SwiftAuthPlan {
  const authUrl = keys.text('ST_AUTH') as string;
  const user = keys.text('ST_USER') as string;
  const key = keys.secret('ST_KEY') as string;
  const credentialKeys = 'ST_USER and ST_KEY';
  return {
    mode: 'v1',
    credentialKeys,
    renewable: true,
    cacheKey: digest(['v1', authUrl, user, key]),
    login: async (signal, http) => {
      const response = await send(
        {
          method: 'GET',
          url: parseUrl(authUrl, 'ST_AUTH'),
          headers: { 'x-auth-user': user, 'x-auth-key': key },
          signal,
        },
        http,
        credentialKeys,
      );
      if (response.status >= 300)
        throw swiftError(response, { operation: 'authenticate', target: 'auth', credentialKeys });
      const token = response.header('x-auth-token') ?? response.header('x-storage-token');
      const storageUrl = response.header('x-storage-url');
      if (!token || !storageUrl) {
        throw invalidConfig(
          'the v1 auth answer carries no token or storage URL',
          'check that ST_AUTH points at a Swift v1 auth endpoint (…/auth/v1.0)',
        );
      }
      const seconds = Number(response.header('x-auth-token-expires'));
      return {
        token,
        storageUrl,
        expiresAt: Number.isFinite(seconds) && seconds > 0 ? Date.now() + seconds * 1000 : undefined,
      };
    },
  };
}

/** One catalog endpoint, whatever Keystone version described it. */
export interface CatalogEndpoint {
  region?: string;
  interface: string;
  url: string;
}
export interface CatalogService {
  type: string;
  endpoints: CatalogEndpoint[];
}

const v3TokenSchema = z.looseObject({
  token: z.looseObject({
    expires_at: z.string().optional(),
    catalog: z
      .array(
        z.looseObject({
          type: z.string(),
          endpoints: z.array(
            z.looseObject({
              interface: z.string(),
              url: z.string(),
              region_id: z.string().nullish(),
              region: z.string().nullish(),
            }),
          ),
        }),
      )
      .optional(),
  }),
});

const v2AccessSchema = z.looseObject({
  access: z.looseObject({
    token: z.looseObject({ id: z.string(), expires: z.string().optional() }),
    serviceCatalog: z
      .array(
        z.looseObject({
          type: z.string(),
          endpoints: z.array(
            z.looseObject({
              region: z.string().nullish(),
              publicURL: z.string().nullish(),
              internalURL: z.string().nullish(),
              adminURL: z.string().nullish(),
            }),
          ),
        }),
      )
      .optional(),
  }),
});

/** `public`, `internal` or `admin`; also accepts the v2 spellings (`publicURL`, …). */
export function normalizeInterface(value: string | undefined): string {
  const trimmed = (value ?? 'public').trim().toLowerCase();
  return trimmed.endsWith('url') ? trimmed.slice(0, -3) : trimmed;
}

/** The object-store URL for a region and interface; InvalidConfig naming what the catalog does have. */
export function pickObjectStoreEndpoint(
  catalog: CatalogService[],
  region: string | undefined,
  iface: string,
): string {
  const endpoints = catalog
    .filter((service) => service.type === 'object-store')
    .flatMap((service) => service.endpoints);
  if (endpoints.length === 0) {
    const types = [...new Set(catalog.map((service) => service.type))].sort();
    throw invalidConfig(
      `the Keystone catalog has no object-store (Swift) endpoint${types.length > 0 ? ` (services: ${types.join(', ')})` : ''}`,
      'the project needs Swift; ask the cloud operator, or check that the token is scoped to the right project',
    );
  }
  const regions = [
    ...new Set(endpoints.map((endpoint) => endpoint.region).filter((name): name is string => !!name)),
  ].sort();
  const inRegion = region ? endpoints.filter((endpoint) => endpoint.region === region) : endpoints;
  if (inRegion.length === 0) {
    throw invalidConfig(
      `the Keystone catalog has no object-store endpoint in region "${region}"; regions with one: ${regions.join(', ') || '(none named)'}`,
      'set OS_REGION_NAME to one of those regions',
    );
  }
  const match = inRegion.find((endpoint) => endpoint.interface === iface);
  if (!match) {
    const interfaces = [...new Set(inRegion.map((endpoint) => endpoint.interface))].sort();
    throw invalidConfig(
      `the Keystone catalog has no ${iface} object-store endpoint${region ? ` in region "${region}"` : ''}; interfaces: ${interfaces.join(', ')}`,
      'set OS_INTERFACE to one of those interfaces',
    );
  }
  return match.url;
}

function tokenUrl(authUrl: string, version: 2 | 3): URL {
  const url = parseUrl(authUrl, 'OS_AUTH_URL');
  const path = url.pathname.replace(/\/+$/, '');
  if (version === 3) url.pathname = /\/v3$/.test(path) ? `${path}/auth/tokens` : `${path}/v3/auth/tokens`;
  else url.pathname = /\/v2(\.0)?$/.test(path) ? `${path}/tokens` : `${path}/v2.0/tokens`;
  return url;
}

function parseJson<T>(response: HttpResponse, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(response.body.toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw invalidConfig(
      'the identity service answered with something that is not a Keystone token',
      'check that OS_AUTH_URL points at Keystone',
    );
  }
  return parsed.data;
}

function expiry(value: string | undefined): number | undefined {
  const at = value ? Date.parse(value) : NaN;
  return Number.isFinite(at) ? at : undefined;
}

function keystonePlan(
  keys: Keys,
  mode: 'keystone-v3' | 'keystone-v2' | 'application-credential',
): SwiftAuthPlan {
  const authUrl = keys.text('OS_AUTH_URL') as string;
  const region = keys.text('OS_REGION_NAME');
  const iface = normalizeInterface(keys.text('OS_INTERFACE'));
  const user = keys.text('OS_USERNAME');
  const userId = keys.text('OS_USER_ID');
  const userDomain = keys.text('OS_USER_DOMAIN_ID')
    ? { id: keys.text('OS_USER_DOMAIN_ID') }
    : { name: keys.text('OS_USER_DOMAIN_NAME') };
  const userRef = userId ? { id: userId } : { name: user, domain: userDomain };
  let body: unknown;
  let credentialKeys: string;
  let secret: string;

  if (mode === 'application-credential') {
    secret = keys.secret('OS_APPLICATION_CREDENTIAL_SECRET') as string;
    const id = keys.text('OS_APPLICATION_CREDENTIAL_ID');
    credentialKeys = 'OS_APPLICATION_CREDENTIAL_ID (or _NAME) and OS_APPLICATION_CREDENTIAL_SECRET';
    const credential = id
      ? { id, secret }
      : { name: keys.text('OS_APPLICATION_CREDENTIAL_NAME'), secret, user: userRef };
    body = {
      auth: { identity: { methods: ['application_credential'], application_credential: credential } },
    };
  } else if (mode === 'keystone-v3') {
    secret = keys.secret('OS_PASSWORD') as string;
    credentialKeys = 'OS_USERNAME, OS_PASSWORD and the domain/project keys';
    const projectId = keys.text('OS_PROJECT_ID') ?? keys.text('OS_TENANT_ID');
    const projectDomain = keys.text('OS_PROJECT_DOMAIN_ID')
      ? { id: keys.text('OS_PROJECT_DOMAIN_ID') }
      : { name: keys.text('OS_PROJECT_DOMAIN_NAME') };
    const project = projectId
      ? { id: projectId }
      : { name: keys.text('OS_PROJECT_NAME') ?? keys.text('OS_TENANT_NAME'), domain: projectDomain };
    body = {
      auth: {
        identity: { methods: ['password'], password: { user: { ...userRef, password: secret } } },
        scope: { project },
      },
    };
  } else {
    secret = keys.secret('OS_PASSWORD') as string;
    credentialKeys = 'OS_USERNAME, OS_PASSWORD and OS_TENANT_ID/OS_TENANT_NAME';
    const tenantId = keys.text('OS_TENANT_ID') ?? keys.text('OS_PROJECT_ID');
    const tenant = tenantId
      ? { tenantId }
      : { tenantName: keys.text('OS_TENANT_NAME') ?? keys.text('OS_PROJECT_NAME') };
    body = { auth: { passwordCredentials: { username: user ?? userId, password: secret }, ...tenant } };
  }
  const version = mode === 'keystone-v2' ? 2 : 3;
  const url = tokenUrl(authUrl, version);
  const payload = JSON.stringify(body);

  return {
    mode,
    credentialKeys,
    renewable: true,
    cacheKey: digest([mode, url.href, payload, region, iface]),
    login: async (signal, http) => {
      const response = await send(
        {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: payload,
          signal,
        },
        http,
        credentialKeys,
      );
      if (response.status >= 300)
        throw swiftError(response, { operation: 'authenticate', target: 'auth', credentialKeys });
      if (version === 3) {
        const token = response.header('x-subject-token');
        const parsed = parseJson(response, v3TokenSchema);
        if (!token)
          throw invalidConfig(
            'Keystone answered without an X-Subject-Token header',
            'check that OS_AUTH_URL points at Keystone v3',
          );
        const catalog: CatalogService[] = (parsed.token.catalog ?? []).map((service) => ({
          type: service.type,
          endpoints: service.endpoints.map((endpoint) => ({
            region: endpoint.region_id ?? endpoint.region ?? undefined,
            interface: normalizeInterface(endpoint.interface),
            url: endpoint.url,
          })),
        }));
        return {
          token,
          storageUrl: pickObjectStoreEndpoint(catalog, region, iface),
          expiresAt: expiry(parsed.token.expires_at),
        };
      }
      const parsed = parseJson(response, v2AccessSchema);
      const catalog: CatalogService[] = (parsed.access.serviceCatalog ?? []).map((service) => ({
        type: service.type,
        endpoints: service.endpoints.flatMap((endpoint) =>
          (
            [
              ['public', endpoint.publicURL],
              ['internal', endpoint.internalURL],
              ['admin', endpoint.adminURL],
            ] as const
          ).flatMap(([name, value]) =>
            value ? [{ region: endpoint.region ?? undefined, interface: name, url: value }] : [],
          ),
        ),
      }));
      return {
        token: parsed.access.token.id,
        storageUrl: pickObjectStoreEndpoint(catalog, region, iface),
        expiresAt: expiry(parsed.access.token.expires),
      };
    },
  };
}

/** Tokens are renewed this long before they expire, so none runs out in the middle of a request. */
const EXPIRY_MARGIN_MS = 60_000;

/** Module-wide: one login per identity for the life of the warm function. Keyed by a digest, never a value. */
const sessions = new SharedPromises<string, SwiftSession>();

/** Hands out a cached session for a plan, logging in once when there is none (or it is about to expire). */
export class SwiftAuthenticator {
  readonly plan: SwiftAuthPlan;
  readonly #http: HttpClientOptions;

  constructor(plan: SwiftAuthPlan, http: HttpClientOptions) {
    this.plan = plan;
    this.#http = http;
  }

  async session(signal?: AbortSignal): Promise<SwiftSession> {
    const key = this.plan.cacheKey;
    const cached = sessions.peek(key);
    if (cached) {
      const session = await cached.promise.catch(() => undefined);
      if (session && (session.expiresAt === undefined || session.expiresAt - EXPIRY_MARGIN_MS > Date.now()))
        return session;
      sessions.forget(key, cached);
      // Another caller may already have started a new login.
      const current = sessions.peek(key);
      if (current) return current.promise;
    }
    return sessions.start(key, () => this.plan.login(signal, this.#http));
  }

  /** Drops a session Swift refused, unless a newer one has replaced it already. */
  async invalidate(session: SwiftSession): Promise<void> {
    const key = this.plan.cacheKey;
    const cached = sessions.peek(key);
    if (!cached) return;
    const current = await cached.promise.catch(() => undefined);
    if (current?.token === session.token) sessions.forget(key, cached);
  }
}

/** For tests and long-running processes: forget every cached token. */
export function clearSwiftSessions(): void {
  sessions.clear();
}
