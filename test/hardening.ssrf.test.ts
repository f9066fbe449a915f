/**
 * The endpoint (SSRF) guard: address classes, the policy setting, Node agents and the fetch dispatcher,
 * and every adapter and the webhook sender end to end: metadata and link-local addresses are refused
 * whatever the configuration says, loopback only when allowed, names after DNS resolution, and a
 * redirect to the metadata service is refused on the hop. Refused connections never reach a socket.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'node:http';
import {
  POLICY_SETTING,
  checkEndpoint,
  classifyAddress,
  guardAgent,
  parseEndpointPolicy,
} from '../lib/net/endpoint-guard.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { deliverWebhook } from '../lib/delivery/webhook.js';
import { Deadline } from '../lib/runtime/deadline.js';
import type { OperationResult } from '../lib/status/result.js';
import { lambdaContext } from './support/lambda.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { TARGETS, freshLocation, secretDir, type HardeningTarget } from './support/hardening-targets.js';

const { handler: checkHandler } = await import('../functions/check.js');

const original = process.env[POLICY_SETTING];
afterEach(() => {
  process.env[POLICY_SETTING] = original;
});

describe('address classes and the policy setting', () => {
  it.each([
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['[fd00:ec2::254]', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'multicast'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['172.32.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('reads ALLOW_PRIVATE_ENDPOINTS and refuses anything but loopback, private, none', () => {
    expect([...parseEndpointPolicy('loopback, private').allow]).toEqual(['loopback', 'private']);
    expect([...parseEndpointPolicy('none').allow]).toEqual([]);
    expect([...parseEndpointPolicy(undefined).allow]).toEqual([]);
    expect(() => parseEndpointPolicy('link-local')).toThrow(/link-local/);
    expect(() => loadRuntimeConfig({ ALLOW_PRIVATE_ENDPOINTS: 'metadata' })).toThrow(
      /ALLOW_PRIVATE_ENDPOINTS/,
    );
    expect([...loadRuntimeConfig({ ALLOW_PRIVATE_ENDPOINTS: 'private' }).allowPrivateEndpoints]).toEqual([
      'private',
    ]);
  });
});

/** A loopback HTTP server that counts requests and answers 200, or redirects when told to. */
function countingServer(redirectTo?: string): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits += 1;
    req.resume();
    if (redirectTo) {
      res.writeHead(307, { location: `${redirectTo}${req.url ?? '/'}` }).end();
    } else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        hits: () => hits,
      }),
    ),
  );
}

function get(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('guarded agents, checkEndpoint and the fetch dispatcher', () => {
  let target: Awaited<ReturnType<typeof countingServer>>;
  beforeAll(async () => {
    target = await countingServer();
  });
  afterAll(() => new Promise<void>((resolve) => target.server.close(() => resolve())));

  it('refuses metadata addresses before connecting, whatever the policy allows', async () => {
    process.env[POLICY_SETTING] = 'loopback,private';
    const agent = guardAgent(new Agent());
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/',
    ]) {
      await expect(get(url, agent), url).rejects.toMatchObject({ code: 'ERR_ENDPOINT_REFUSED' });
      await expect(checkEndpoint(url), url).rejects.toMatchObject({ code: 'ERR_ENDPOINT_REFUSED' });
    }
    agent.destroy();
  });

  it('refuses loopback (literal and by name, after DNS) unless allowed', async () => {
    const agent = guardAgent(new Agent());
    const byName = target.url.replace('127.0.0.1', 'localhost');
    process.env[POLICY_SETTING] = '';
    await expect(get(target.url, agent)).rejects.toMatchObject({
      code: 'ERR_ENDPOINT_REFUSED',
      addressClass: 'loopback',
    });
    await expect(get(byName, agent)).rejects.toMatchObject({
      code: 'ERR_ENDPOINT_REFUSED',
      addressClass: 'loopback',
    });
    await expect(checkEndpoint(byName)).rejects.toMatchObject({ code: 'ERR_ENDPOINT_REFUSED' });
    expect(target.hits()).toBe(0);
    process.env[POLICY_SETTING] = 'loopback';
    expect(await get(target.url, agent)).toBe(200);
    expect(await get(byName, agent)).toBe(200);
    await checkEndpoint(byName);
    expect(target.hits()).toBe(2);
    agent.destroy();
  });

  it('keeps DNS failures as they are (classified as before)', async () => {
    const agent = guardAgent(new Agent());
    await expect(get('http://no-such-host.invalid/', agent)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    agent.destroy();
  });

  it('webhook: a metadata URL, and loopback when not allowed, are refused at once (no retries, no request)', async () => {
    const deadline = Deadline.in(5000);
    const metadata = await deliverWebhook(
      { url: 'http://169.254.169.254/hook', eventId: 'e', eventType: 't', body: '{}' },
      { deadline },
    );
    expect(metadata).toMatchObject({ delivered: false, attempts: 1 });
    expect(metadata.error).toMatch(/not allowed: 169\.254\.169\.254 is a cloud metadata service address/);
    process.env[POLICY_SETTING] = '';
    const before = target.hits();
    const loopback = await deliverWebhook(
      { url: target.url.replace('127.0.0.1', 'localhost'), eventId: 'e', eventType: 't', body: '{}' },
      { deadline },
    );
    expect(loopback).toMatchObject({ delivered: false, attempts: 1 });
    expect(loopback.error).toMatch(/ALLOW_PRIVATE_ENDPOINTS=loopback/);
    expect(target.hits()).toBe(before);
    process.env[POLICY_SETTING] = 'loopback';
    expect(
      await deliverWebhook({ url: target.url, eventId: 'e', eventType: 't', body: '{}' }, { deadline }),
    ).toMatchObject({ delivered: true });
  });
});

type Result = OperationResult & { statusCode?: number };

async function check(body: Record<string, unknown>): Promise<Result> {
  return (await checkHandler(body as never, lambdaContext(30_000))) as Result;
}

function refusedCondition(result: Result): { reason: string; message: string } | undefined {
  return result.status?.conditions.find((c) => c.reason === 'InvalidConfig' && /not allowed/.test(c.message));
}

/** Sends a target's request to `base` instead of its server. */
async function requestVia(target: HardeningTarget, base: string): Promise<Record<string, unknown>> {
  return target.request(
    freshLocation(`ssrf-${target.provider}`),
    await secretDir(target.secrets(base)),
    base,
  );
}

describe.each(TARGETS.map((t) => [t.provider, t] as const))(
  '%s adapter behind the guard',
  (_name, target) => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(target.upstream());
    });
    afterAll(() => proxy.close());

    it('refuses a metadata endpoint, classified InvalidConfig (never Unknown)', async () => {
      process.env[POLICY_SETTING] = 'loopback,private';
      const result = await check(await requestVia(target, 'http://169.254.169.254'));
      expect(result.status.phase).toBe('NotReady');
      expect(refusedCondition(result), JSON.stringify(result.status.conditions)).toBeDefined();
      expect(result.status.conditions.map((c) => c.reason)).not.toContain('Unknown');
    });

    it('refuses its loopback server when loopback is not allowed, without one connection; works when it is', async () => {
      process.env[POLICY_SETTING] = '';
      proxy.setFaults(() => undefined);
      const refused = await check(await requestVia(target, proxy.url));
      expect(refusedCondition(refused), JSON.stringify(refused.status.conditions)).toBeDefined();
      // The hint names the class that would allow it: loopback, never "private".
      expect(JSON.stringify(refusedCondition(refused))).toMatch(/ALLOW_PRIVATE_ENDPOINTS=loopback/);
      expect(proxy.stats().connections).toBe(0);
      process.env[POLICY_SETTING] = 'loopback';
      const allowed = await check(await requestVia(target, proxy.url));
      expect(refusedCondition(allowed)).toBeUndefined();
      expect(proxy.stats().connections).toBeGreaterThan(0);
    });
  },
);

describe('redirects to the metadata service are refused on the hop', () => {
  let redirector: Awaited<ReturnType<typeof countingServer>>;
  beforeAll(async () => {
    redirector = await countingServer('http://169.254.169.254');
  });
  afterAll(() => new Promise<void>((resolve) => redirector.server.close(() => resolve())));

  // The SDKs that follow redirects themselves: Azure's pipeline, GCS's fetch, axios for B2.
  it.each(
    TARGETS.filter((t) => ['azure', 'gcs', 'b2'].includes(t.provider)).map((t) => [t.provider, t] as const),
  )('%s', async (_name, target) => {
    process.env[POLICY_SETTING] = 'loopback';
    const result = await check(await requestVia(target, redirector.url));
    const conditions = JSON.stringify(result.status.conditions);
    expect(redirector.hits()).toBeGreaterThan(0);
    expect(result.status.phase).toBe('NotReady');
    expect(
      result.status.conditions.map((c) => c.reason),
      conditions,
    ).not.toContain('Unknown');
    // Followed: refused on the hop. Not followed (Azure's pipeline keeps a 307): a classified redirect.
    const redirected = result.status.conditions.some(
      (c) => c.reason === 'InvalidConfig' && /redirect/.test(c.message),
    );
    expect(refusedCondition(result) !== undefined || redirected, conditions).toBe(true);
    // Whatever was followed never reached the metadata address (this machine answers it with a 403 page).
    expect(conditions).not.toMatch(/denied destination|PermissionDenied/);
  });
});
