/**
 * Error-table rows that neither s3rver nor Swift's s3api can be made to produce (throttling, 5xx, AWS's
 * region redirects, a HEAD that bucket-scoped credentials may not make), against a small contract fake
 * that answers as AWS documents (REST error XML, x-amz-bucket-region), driven by the real SDK.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../lib/backends/s3/store.js';
import { resolveS3Endpoint } from '../lib/backends/s3/endpoint.js';
import { storageFailure } from './support/failure.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

function errorXml(
  res: ServerResponse,
  status: number,
  code: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): void {
  const fields = Object.entries(extra)
    .map(([key, value]) => `<${key}>${value}</${key}>`)
    .join('');
  res.writeHead(status, { 'content-type': 'application/xml', ...headers });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} from the fake</Message>${fields}<RequestId>1</RequestId></Error>`,
  );
}

const emptyListing =
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>';

let server: Server;
let endpoint = '';
let route: Route = (_req, res) => res.end();
let requests: { method: string; url: string; region?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const credential = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    requests.push({ method: req.method ?? '', url: req.url ?? '', region: credential });
    req.resume();
    req.on('end', () => route(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function store(region = 'us-east-1', regionPinned = true): S3Store {
  requests = [];
  return new S3Store({
    bucket: 'b',
    endpoint: resolveS3Endpoint(endpoint),
    region,
    regionPinned,
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake-secret-value' },
  });
}

describe('S3 error table (contract fake of S3’s REST error answers)', () => {
  it('503 SlowDown is RateLimited and retryable, after the SDK’s own retries', async () => {
    route = (_req, res) => errorXml(res, 503, 'SlowDown');
    const s3 = store();
    const error = await storageFailure(s3.list(''));
    expect([error.code, error.retryable]).toEqual(['RateLimited', true]);
    expect(requests.length).toBe(3);
    await s3.close();
  });

  it('500 InternalError is Unavailable and retryable', async () => {
    route = (_req, res) => errorXml(res, 500, 'InternalError');
    const s3 = store();
    const error = await storageFailure(s3.get('k'));
    expect([error.code, error.retryable]).toEqual(['Unavailable', true]);
    await s3.close();
  });

  it('AccessDenied is PermissionDenied with a hint naming the permissions', async () => {
    route = (_req, res) => errorXml(res, 403, 'AccessDenied');
    const s3 = store();
    const error = await storageFailure(s3.list(''));
    expect(error.code).toBe('PermissionDenied');
    expect(error.hint).toContain('s3:ListBucket');
    await s3.close();
  });

  it('bucket-scoped credentials: a HeadBucket 403 is not a missing bucket, the listing decides', async () => {
    route = (req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(403);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(emptyListing);
      }
    };
    const s3 = store();
    expect(await s3.bucketExists()).toBe(true);
    await expect(s3.list('')).resolves.toEqual({ objects: [], prefixes: [], nextPageToken: undefined });
    await s3.close();
  });

  it('a 301 redirect naming the region: pinned is InvalidConfig with the region in the hint', async () => {
    route = (_req, res) =>
      errorXml(
        res,
        301,
        'PermanentRedirect',
        { Endpoint: 'b.s3.eu-central-1.amazonaws.com' },
        { 'x-amz-bucket-region': 'eu-central-1' },
      );
    const s3 = store('us-east-1', true);
    const error = await storageFailure(s3.list(''));
    expect(error.code).toBe('InvalidConfig');
    expect(error.hint).toBe(
      'set region: eu-central-1 in the storage (or leave region empty to let the function discover it)',
    );
    await s3.close();
  });

  it('a HeadBucket 301 (no body) is followed to the region the header names when the region is not pinned', async () => {
    route = (req, res) => {
      const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
      if (region === 'eu-central-1') {
        res.writeHead(200, { 'x-amz-bucket-region': 'eu-central-1' });
        res.end();
      } else {
        res.writeHead(301, { 'x-amz-bucket-region': 'eu-central-1' });
        res.end();
      }
    };
    const s3 = store('us-east-1', false);
    expect(await s3.bucketExists()).toBe(true);
    expect(s3.region).toBe('eu-central-1');
    expect(requests.map((r) => r.region)).toEqual(['us-east-1', 'eu-central-1']);
    await s3.close();
  });

  it('no message carries the secret key or the request signature', async () => {
    route = (_req, res) => errorXml(res, 400, 'InvalidArgument', { ArgumentValue: 'fake-secret-value' });
    const s3 = store();
    const error = await storageFailure(s3.list(''));
    expect(error.code).toBe('Unknown');
    expect(JSON.stringify(error)).not.toMatch(/fake-secret-value|Signature=/);
    await s3.close();
  });
});
