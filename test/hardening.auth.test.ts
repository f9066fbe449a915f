/**
 * The HMAC-signed HTTP API (functions/common/auth.ts) through the real handler chain: unsigned,
 * malformed, stale, future, wrongly signed and tampered requests get 401/403 and nothing runs (a
 * proxy in front of s3rver sees no connection); signed requests run, with the current secret and
 * with the previous one during a rotation; direct invocations are not asked for a signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../functions/common/auth.js';
import { httpEvent, lambdaContext } from './support/lambda.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { TARGETS, freshLocation, secretDir } from './support/hardening-targets.js';

const SECRET = 'hmac-shared-secret-for-tests';
const PREVIOUS = 'hmac-previous-secret-for-tests';
process.env.BSF_HARDENING_AUTH_API_AUTH_SECRET = SECRET;
process.env.BSF_HARDENING_AUTH_API_AUTH_SECRET_PREVIOUS = PREVIOUS;
process.env.API_AUTH_SECRET_REF = 'env:BSF_HARDENING_AUTH_';
process.env.API_AUTH_WINDOW_SECONDS = '300';
const { handler: checkHandler } = await import('../functions/check.js');

const s3 = TARGETS.find((target) => target.provider === 's3');
if (!s3) throw new Error('no s3 target');

let proxy: FaultProxy;
let body: string;

beforeAll(async () => {
  proxy = await startFaultProxy(s3.upstream());
  const request = s3.request(freshLocation('auth'), await secretDir(s3.secrets()), proxy.url);
  body = JSON.stringify({ ...request, options: {} });
});
afterAll(() => proxy.close());

type Signed = { timestamp?: number; secret?: string; signedBody?: string; path?: string; header?: string };

// Each request gets its own timestamp: a signature is accepted once (replays are refused).
let sent = 0;

function signedEvent(options: Signed = {}): Record<string, unknown> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000) - sent++;
  const signature = signRequest(options.secret ?? SECRET, {
    method: 'POST',
    path: options.path ?? '/v1/check',
    timestamp,
    body: Buffer.from(options.signedBody ?? body),
  });
  const event = httpEvent(JSON.parse(body), '/v1/check') as { headers: Record<string, string>; body: string };
  event.body = body;
  event.headers['X-BSF-Timestamp'] = String(timestamp);
  event.headers['X-BSF-Signature'] = options.header ?? `v1=${signature}`;
  return event;
}

async function invoke(event: unknown): Promise<{
  statusCode: number;
  json: { error?: { code: string; issues?: { path: string }[] }; status?: { phase: string } };
}> {
  const response = (await checkHandler(event as never, lambdaContext())) as {
    statusCode: number;
    body: string;
  };
  return { statusCode: response.statusCode, json: JSON.parse(response.body) };
}

describe('HMAC-signed HTTP requests', () => {
  const refused: [string, () => Record<string, unknown>, number, string][] = [
    ['unsigned', () => httpEvent(JSON.parse(body), '/v1/check'), 401, 'Unauthorized'],
    ['malformed signature', () => signedEvent({ header: 'v1=xyz' }), 401, 'Unauthorized'],
    [
      'stale timestamp (10 minutes old)',
      () => signedEvent({ timestamp: Math.floor(Date.now() / 1000) - 600 }),
      403,
      'Forbidden',
    ],
    [
      'timestamp from the future',
      () => signedEvent({ timestamp: Math.floor(Date.now() / 1000) + 600 }),
      403,
      'Forbidden',
    ],
    ['wrong secret', () => signedEvent({ secret: 'not-the-secret' }), 403, 'Forbidden'],
    [
      'tampered body',
      () => signedEvent({ signedBody: body.replace('hardening', 'hardenink') }),
      403,
      'Forbidden',
    ],
    ['signed for another path', () => signedEvent({ path: '/v1/initialize' }), 403, 'Forbidden'],
  ];
  it.each(refused)('%s is refused before anything runs', async (_name, make, status, code) => {
    proxy.setFaults(() => undefined);
    const { statusCode, json } = await invoke(make());
    expect(statusCode).toBe(status);
    expect(json.error?.code).toBe(code);
    expect(json.error?.issues?.[0]?.path).toMatch(/^headers\.x-bsf-/);
    expect(proxy.stats().connections).toBe(0);
  });

  it('runs a correctly signed request, with the current and with the previous secret', async () => {
    for (const secret of [SECRET, PREVIOUS]) {
      proxy.setFaults(() => undefined);
      const { statusCode, json } = await invoke(signedEvent({ secret }));
      expect(statusCode).toBe(200);
      expect(json.status?.phase).toBeDefined();
      expect(proxy.stats().connections).toBeGreaterThan(0);
    }
  });

  it('verifies a base64-encoded body over its decoded bytes', async () => {
    const event = signedEvent() as { body: string; isBase64Encoded: boolean };
    event.body = Buffer.from(body).toString('base64');
    event.isBase64Encoded = true;
    expect((await invoke(event)).statusCode).toBe(200);
  });

  it('does not ask direct invocations (authorized by IAM) for a signature', async () => {
    proxy.setFaults(() => undefined);
    const result = (await checkHandler(JSON.parse(body) as never, lambdaContext())) as {
      status: { phase: string };
    };
    expect(result.status.phase).toBeDefined();
    expect(proxy.stats().connections).toBeGreaterThan(0);
  });
});
