/**
 * A contract fake of OpenStack Keystone's token API, on node:http, for the Swift adapter's Keystone
 * modes: `POST /v2.0/tokens` (password credentials with tenantName/tenantId, answering 200 with
 * `access.token` and `access.serviceCatalog`) and `POST /v3/auth/tokens` (password with user and project
 * by name+domain or ID, and application credentials by ID or by name+owner, answering 201 with the token
 * in `X-Subject-Token` and `token.catalog`). Errors follow Keystone: 400 for a malformed or incomplete
 * body, 401 for wrong credentials or an unknown scope, with `{"error":{"code","title","message"}}`.
 *
 * The data path stays real: the catalog's object-store endpoint in RegionOne (public and internal) is the
 * real Swift all-in-one's storage URL, and every token handed out is a real tempauth token fetched from
 * Swift's v1 auth at issue time. RegionTwo has an object-store endpoint on a closed port, so choosing the
 * wrong region cannot pass unnoticed. `revokeNext()` hands out one token Swift will refuse (401), as a
 * revoked or expired token would be.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface KeystoneFakeOptions {
  /** The real Swift's v1 auth URL and a tempauth account, to mint real tokens. */
  swiftAuthUrl: string;
  swiftUser: string;
  swiftKey: string;
}

/** The one user, project and application credential the fake knows. */
export const KEYSTONE_IDENTITY = {
  domain: { id: 'default', name: 'Default' },
  user: { id: 'u-backup', name: 'backup', password: 'backup-password' },
  project: { id: 'p-backups', name: 'backups' },
  applicationCredential: { id: 'ac-backup', name: 'backup-credential', secret: 'application-secret' },
  regions: { real: 'RegionOne', unreachable: 'RegionTwo' },
} as const;

export interface KeystoneFake {
  /** Root URL (no version); `${url}/v3` and `${url}/v2.0` are the versioned auth URLs. */
  url: string;
  /** Tokens issued so far (successful authentications). */
  readonly issued: number;
  /** The next token issued is one Swift refuses. */
  revokeNext(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

class KeystoneHttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 404,
    message: string,
  ) {
    super(message);
  }
}

const TITLES = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' } as const;

function badRequest(message: string): KeystoneHttpError {
  return new KeystoneHttpError(400, message);
}

function unauthorized(): KeystoneHttpError {
  return new KeystoneHttpError(401, 'The request you have made requires authentication.');
}

/** v3 `{id}` or `{name, domain: {id|name}}` of a user. */
function matchUser(user: unknown): void {
  const { domain, user: known } = KEYSTONE_IDENTITY;
  if (!isObject(user)) throw badRequest("'user' is a required property");
  if (typeof user.id === 'string') {
    if (user.id !== known.id) throw unauthorized();
    return;
  }
  if (typeof user.name !== 'string') throw badRequest('Expecting to find id or name in user');
  if (
    !isObject(user.domain) ||
    (typeof user.domain.id !== 'string' && typeof user.domain.name !== 'string')
  ) {
    throw badRequest('Expecting to find domain in user');
  }
  const domainOk = user.domain.id === domain.id || user.domain.name === domain.name;
  if (!domainOk || user.name !== known.name) throw unauthorized();
}

function matchProject(project: unknown): void {
  const { domain, project: known } = KEYSTONE_IDENTITY;
  if (!isObject(project)) throw badRequest('Expecting to find project in scope');
  if (typeof project.id === 'string') {
    if (project.id !== known.id) throw unauthorized();
    return;
  }
  if (typeof project.name !== 'string') throw badRequest('Expecting to find id or name in project');
  if (
    !isObject(project.domain) ||
    (typeof project.domain.id !== 'string' && typeof project.domain.name !== 'string')
  ) {
    throw badRequest('Expecting to find domain in project');
  }
  const domainOk = project.domain.id === domain.id || project.domain.name === domain.name;
  if (!domainOk || project.name !== known.name) throw unauthorized();
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
}

export async function startKeystoneFake(options: KeystoneFakeOptions): Promise<KeystoneFake> {
  let issued = 0;
  let revokeNext = false;
  let url = '';
  const { regions, domain, user, project } = KEYSTONE_IDENTITY;

  /** A real tempauth token and storage URL from the Swift all-in-one. */
  async function swiftToken(): Promise<{ token: string; storageUrl: string }> {
    const response = await fetch(options.swiftAuthUrl, {
      headers: { 'X-Auth-User': options.swiftUser, 'X-Auth-Key': options.swiftKey },
      signal: AbortSignal.timeout(5000),
    });
    await response.arrayBuffer();
    const token = response.headers.get('x-auth-token');
    const storageUrl = response.headers.get('x-storage-url');
    if (!response.ok || !token || !storageUrl)
      throw new Error(`Swift v1 auth failed with HTTP ${response.status}`);
    if (revokeNext) {
      revokeNext = false;
      // tempauth's token shape, but one it never issued: Swift answers 401.
      return { token: `AUTH_tk${randomUUID().replace(/-/g, '')}`, storageUrl };
    }
    return { token, storageUrl };
  }

  const expires = (): string => new Date(Date.now() + 3_600_000).toISOString();
  const unreachableStorage = 'http://127.0.0.1:9/v1/AUTH_elsewhere';

  function v3Catalog(storageUrl: string): Json[] {
    return [
      {
        type: 'identity',
        name: 'keystone',
        id: 'svc-identity',
        endpoints: [
          {
            id: 'ep-id',
            interface: 'public',
            region: regions.real,
            region_id: regions.real,
            url: `${url}/v3`,
          },
        ],
      },
      {
        type: 'object-store',
        name: 'swift',
        id: 'svc-swift',
        endpoints: [
          { id: 'ep-1', interface: 'public', region: regions.real, region_id: regions.real, url: storageUrl },
          {
            id: 'ep-2',
            interface: 'internal',
            region: regions.real,
            region_id: regions.real,
            url: storageUrl,
          },
          {
            id: 'ep-3',
            interface: 'public',
            region: regions.unreachable,
            region_id: regions.unreachable,
            url: unreachableStorage,
          },
        ],
      },
    ];
  }

  async function v3(body: unknown, response: ServerResponse): Promise<void> {
    if (!isObject(body) || !isObject(body.auth) || !isObject(body.auth.identity))
      throw badRequest("'auth' is a required property");
    const { identity } = body.auth;
    const methods = Array.isArray(identity.methods) ? identity.methods : [];
    let method: 'password' | 'application_credential';
    if (methods.includes('application_credential')) {
      method = 'application_credential';
      const credential = identity.application_credential;
      if (!isObject(credential) || typeof credential.secret !== 'string')
        throw badRequest("'secret' is a required property");
      const known = KEYSTONE_IDENTITY.applicationCredential;
      if (typeof credential.id === 'string') {
        if (credential.id !== known.id) throw unauthorized();
      } else if (typeof credential.name === 'string') {
        // By name, the owner must be named too (Keystone: "Could not find ... user").
        matchUser(credential.user);
        if (credential.name !== known.name) throw unauthorized();
      } else {
        throw badRequest('Expecting to find id or name in application_credential');
      }
      if (credential.secret !== known.secret) throw unauthorized();
      // An application credential carries its own scope; a scope in the request is refused.
      if (body.auth.scope !== undefined) throw unauthorized();
    } else if (methods.includes('password')) {
      method = 'password';
      const password = identity.password;
      if (!isObject(password) || !isObject(password.user)) throw badRequest("'user' is a required property");
      matchUser(password.user);
      if (password.user.password !== user.password) throw unauthorized();
      if (!isObject(body.auth.scope)) throw badRequest('this fake issues project-scoped tokens only');
      matchProject(body.auth.scope.project);
    } else {
      throw badRequest('Expecting to find methods in identity');
    }
    const { token, storageUrl } = await swiftToken();
    issued += 1;
    response.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': token });
    response.end(
      JSON.stringify({
        token: {
          methods: [method],
          user: { id: user.id, name: user.name, domain },
          project: { id: project.id, name: project.name, domain },
          issued_at: new Date().toISOString(),
          expires_at: expires(),
          roles: [{ id: 'r-member', name: 'member' }],
          catalog: v3Catalog(storageUrl),
          ...(method === 'application_credential'
            ? {
                application_credential: {
                  id: KEYSTONE_IDENTITY.applicationCredential.id,
                  name: KEYSTONE_IDENTITY.applicationCredential.name,
                  restricted: true,
                },
              }
            : {}),
        },
      }),
    );
  }

  async function v2(body: unknown, response: ServerResponse): Promise<void> {
    if (!isObject(body) || !isObject(body.auth)) throw badRequest('Expecting to find auth in request body');
    const credentials = body.auth.passwordCredentials;
    if (
      !isObject(credentials) ||
      typeof credentials.username !== 'string' ||
      typeof credentials.password !== 'string'
    ) {
      throw badRequest('Expecting to find username or userId in passwordCredentials');
    }
    if (credentials.username !== user.name || credentials.password !== user.password) throw unauthorized();
    const { tenantId, tenantName } = body.auth;
    if (tenantId === undefined && tenantName === undefined)
      throw badRequest('this fake issues tenant-scoped tokens only');
    if (
      (tenantId !== undefined && tenantId !== project.id) ||
      (tenantName !== undefined && tenantName !== project.name)
    ) {
      throw unauthorized();
    }
    const { token, storageUrl } = await swiftToken();
    issued += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        access: {
          token: {
            id: token,
            issued_at: new Date().toISOString(),
            expires: expires(),
            tenant: { id: project.id, name: project.name, enabled: true },
          },
          serviceCatalog: [
            {
              type: 'object-store',
              name: 'swift',
              endpoints: [
                {
                  id: 'ep-1',
                  region: regions.real,
                  publicURL: storageUrl,
                  internalURL: storageUrl,
                  adminURL: storageUrl,
                },
                {
                  id: 'ep-2',
                  region: regions.unreachable,
                  publicURL: unreachableStorage,
                  internalURL: unreachableStorage,
                },
              ],
              endpoints_links: [],
            },
            {
              type: 'identity',
              name: 'keystone',
              endpoints: [{ id: 'ep-id', region: regions.real, publicURL: `${url}/v2.0` }],
              endpoints_links: [],
            },
          ],
          user: { id: user.id, name: user.name, username: user.name, roles: [{ name: 'member' }] },
          metadata: { is_admin: 0, roles: [] },
        },
      }),
    );
  }

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://fake').pathname.replace(/\/+$/, '');
    void (async () => {
      try {
        if (request.method !== 'POST' || (path !== '/v3/auth/tokens' && path !== '/v2.0/tokens')) {
          throw new KeystoneHttpError(404, 'The resource could not be found.');
        }
        if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
          throw badRequest('Content-Type must be application/json');
        const body = await readJson(request);
        await (path === '/v3/auth/tokens' ? v3(body, response) : v2(body, response));
      } catch (error) {
        const status = error instanceof KeystoneHttpError ? error.status : 500;
        const message =
          error instanceof KeystoneHttpError
            ? error.message
            : 'An unexpected error prevented the server from fulfilling your request.';
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (status === 401) headers['www-authenticate'] = `Keystone uri="${url}"`;
        response.writeHead(status, headers);
        response.end(
          JSON.stringify({
            error: {
              code: status,
              title: status === 500 ? 'Internal Server Error' : TITLES[status as 400 | 401 | 404],
              message,
            },
          }),
        );
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    get issued() {
      return issued;
    },
    revokeNext: () => {
      revokeNext = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
