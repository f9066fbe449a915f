/**
 * An HTTP proxy in front of s3rver that enforces `If-None-Match: *` on PUT the way AWS S3 and MinIO do
 * (s3rver itself ignores the header): a conditional PUT of a key that exists is answered 412
 * PreconditionFailed with S3's XML error body, and conditional PUTs of one key are serialized, so that of
 * racing creators exactly one is written. Everything else, and the signed request itself, passes through
 * unchanged. It gives the tests a peer on which the adapter's conditional-write path (the one real AWS
 * takes) runs end to end; it records every request for round-trip assertions.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedS3Request {
  method: string;
  /** Path without the query string, decoded. */
  path: string;
  conditional: boolean;
  status: number;
}

export interface ConditionalS3Proxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: ProxiedS3Request[];
  close(): Promise<void>;
}

const PRECONDITION_FAILED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
  '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
  '<Condition>If-None-Match</Condition></Error>';

export async function startConditionalS3Proxy(target: string): Promise<ConditionalS3Proxy> {
  const upstream = new URL(target);
  const requests: ProxiedS3Request[] = [];
  /** The tail of each key's queue of conditional PUTs. */
  const queues = new Map<string, Promise<void>>();

  const forward = (req: IncomingMessage, res: ServerResponse): Promise<number> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => resolve(answer.statusCode ?? 502));
          answer.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      req.pipe(outgoing);
    });

  /** Whether the object exists upstream (s3rver answers anonymous HEADs). */
  const exists = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const head = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: 'HEAD', path },
        (answer) => {
          answer.resume();
          resolve(answer.statusCode === 200);
        },
      );
      head.on('error', reject);
      head.end();
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const conditional = req.method === 'PUT' && req.headers['if-none-match'] === '*';
    const record = (status: number): void =>
      void requests.push({ method: req.method ?? '', path, conditional, status });
    if (!conditional) return record(await forward(req, res));

    const pathOnly = (req.url ?? '/').split('?')[0] ?? '/';
    const before = queues.get(pathOnly) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    queues.set(pathOnly, mine);
    await before;
    try {
      if (await exists(pathOnly)) {
        req.resume();
        res.writeHead(412, { 'content-type': 'application/xml' }).end(PRECONDITION_FAILED);
        return record(412);
      }
      record(await forward(req, res));
    } finally {
      release();
      if (queues.get(pathOnly) === mine) queues.delete(pathOnly);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
