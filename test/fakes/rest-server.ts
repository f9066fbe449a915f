/**
 * A contract fake of restic's REST backend protocol (restic doc/REST_backend.rst), with the behaviour of
 * restic's rest-server where the protocol leaves it open. Written from that documentation; restic 0.14
 * itself runs against it in test/rest.restic.test.ts.
 *
 * - Repositories live under any path: `POST {path}/?create=true` makes its type directories (and
 *   answers 200 for an existing one). `HEAD|GET|POST|DELETE {path}/config` and `{path}/{type}/{id}` for
 *   the types data, index, keys, locks, snapshots with 64-hex IDs; `GET {path}/{type}/` lists a type:
 *   v2 (`[{"name","size"}]`) when the request accepts `application/vnd.x.restic.rest.v2`, v1 names
 *   otherwise. A listing of a type directory that does not exist is 404, as on rest-server.
 * - Files are never overwritten: a POST over an existing file is 403 (config is created exclusively;
 *   a file is stored when its whole body has arrived, in one step, so concurrent creators of one name
 *   get exactly one winner). With `verifyUploads` (rest-server's default) a file whose SHA-256 is not its
 *   name is refused with 400. A POST of a file creates its type directory (rest-server makes missing
 *   directories).
 * - GET honours `Range: bytes=a-b` with 206 (restic reads blobs out of packs that way).
 * - DELETE of a missing file is 404. Append-only: `rest-server` mode refuses every DELETE but of locks
 *   (what rest-server --append-only does), `strict` refuses all of them.
 * - HTTP basic auth against the fake's users on every request (401 with a WWW-Authenticate challenge).
 *
 * One fake holds the files; each listener is one "server" over them with its own mode, so a test can
 * initialize through the normal listener and check through the append-only one, like rest-server run
 * twice on one directory.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const REST_V2 = 'application/vnd.x.restic.rest.v2';
const TYPES = ['data', 'index', 'keys', 'locks', 'snapshots'] as const;
type FileType = (typeof TYPES)[number];
const FILE_PATH = /^(.*?)\/(?:(config)|(data|index|keys|locks|snapshots)\/([0-9a-f]{64})?)$/;

export interface ListenerMode {
  appendOnly?: 'off' | 'rest-server' | 'strict';
  /** Refuse a file whose SHA-256 is not its name (rest-server's default; --no-verify-upload turns it off). */
  verifyUploads?: boolean;
  /** An old server that answers every listing in the v1 format, whatever the Accept header says. */
  v1Only?: boolean;
}

interface Repository {
  dirs: Set<FileType>;
  files: Map<string, Buffer>;
}

export class RestServerFake {
  readonly username: string;
  readonly password: string;
  readonly #repositories = new Map<string, Repository>();
  readonly #servers: Server[] = [];

  constructor(username = 'restic-user', password = 'rest server pass:word') {
    this.username = username;
    this.password = password;
  }

  /** Starts one listener on 127.0.0.1 with its own mode; returns its origin. */
  async listen(mode: ListenerMode = {}): Promise<string> {
    const server = createServer((request, response) => {
      this.#handle(mode, request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
    this.#servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  }

  #authorized(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (
      colon >= 0 && decoded.slice(0, colon) === this.username && decoded.slice(colon + 1) === this.password
    );
  }

  async #handle(mode: ListenerMode, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    const method = request.method ?? 'GET';
    const body = await readBody(request);
    const answer = (
      status: number,
      payload?: Buffer | string,
      headers: Record<string, string> = {},
    ): void => {
      const bytes =
        payload === undefined ? Buffer.from(status >= 400 ? `${status}\n` : '') : Buffer.from(payload);
      response.writeHead(status, { 'content-length': String(bytes.length), ...headers });
      response.end(method === 'HEAD' ? undefined : bytes);
    };
    if (!this.#authorized(request)) {
      answer(401, undefined, { 'www-authenticate': 'Basic realm="restic"' });
      return;
    }

    // The repository itself: POST {path}/?create=true.
    if (path.endsWith('/') && !FILE_PATH.test(path)) {
      if (method !== 'POST') return answer(405, undefined, { allow: 'POST' });
      if (url.searchParams.get('create') !== 'true') return answer(400);
      const repository = this.#repository(path.slice(0, -1), true) as Repository;
      for (const type of TYPES) repository.dirs.add(type);
      return answer(200);
    }
    const match = FILE_PATH.exec(path);
    if (!match) return answer(404);
    const [, repoPath = '', config, type, id] = match;
    const repository = this.#repository(repoPath, false);

    if (config) {
      const existing = repository?.files.get('config');
      switch (method) {
        case 'HEAD':
          return existing
            ? answer(200, undefined, { 'content-length': String(existing.length) })
            : answer(404);
        case 'GET':
          return existing
            ? answer(200, existing, { 'content-type': 'application/octet-stream' })
            : answer(404);
        case 'POST':
          if (!repository) return answer(500);
          if (existing) return answer(403);
          repository.files.set('config', body);
          return answer(200);
        case 'DELETE':
          if (mode.appendOnly === 'rest-server' || mode.appendOnly === 'strict') return answer(403);
          if (!repository?.files.delete('config')) return answer(404);
          return answer(200);
        default:
          return answer(405, undefined, { allow: 'HEAD, GET, POST, DELETE' });
      }
    }

    const fileType = type as FileType;
    if (id === undefined) {
      if (method !== 'GET') return answer(405, undefined, { allow: 'GET' });
      if (!repository?.dirs.has(fileType)) return answer(404);
      const entries = [...repository.files.entries()]
        .filter(([name]) => name.startsWith(`${fileType}/`))
        .map(([name, bytes]) => ({ name: name.slice(fileType.length + 1), size: bytes.length }));
      if (request.headers.accept === REST_V2 && !mode.v1Only)
        return answer(200, JSON.stringify(entries), { 'content-type': REST_V2 });
      // Go marshals an empty slice it never appended to as `null`.
      const names = entries.map((entry) => entry.name);
      return answer(200, names.length === 0 ? 'null' : JSON.stringify(names), {
        'content-type': 'application/vnd.x.restic.rest.v1',
      });
    }

    const name = `${fileType}/${id}`;
    const existing = repository?.files.get(name);
    switch (method) {
      case 'HEAD':
        return existing ? answer(200, undefined, { 'content-length': String(existing.length) }) : answer(404);
      case 'GET': {
        if (!existing) return answer(404);
        const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
        if (!range) return answer(200, existing, { 'content-type': 'application/octet-stream' });
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), existing.length - 1) : existing.length - 1;
        if (start >= existing.length || end < start)
          return answer(416, undefined, { 'content-range': `bytes */${existing.length}` });
        return answer(206, existing.subarray(start, end + 1), {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${start}-${end}/${existing.length}`,
        });
      }
      case 'POST': {
        if (existing) return answer(403);
        if ((mode.verifyUploads ?? true) && createHash('sha256').update(body).digest('hex') !== id)
          return answer(400);
        const target = this.#repository(repoPath, true) as Repository;
        target.dirs.add(fileType);
        target.files.set(name, body);
        return answer(200);
      }
      case 'DELETE':
        if (mode.appendOnly === 'strict' || (mode.appendOnly === 'rest-server' && fileType !== 'locks'))
          return answer(403);
        if (!repository?.files.delete(name)) return answer(404);
        return answer(200);
      default:
        return answer(405, undefined, { allow: 'HEAD, GET, POST, DELETE' });
    }
  }

  #repository(path: string, create: boolean): Repository | undefined {
    let repository = this.#repositories.get(path);
    if (!repository && create) {
      repository = { dirs: new Set(), files: new Map() };
      this.#repositories.set(path, repository);
    }
    return repository;
  }
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
