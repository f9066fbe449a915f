/**
 * Fault injection through a TCP proxy in front of each provider's real server or contract fake: check
 * on an initialized storage while every connection is reset, black-holed, slowed, truncated or answered
 * 503, and while only the first connections fail. Every failure is classified (never Unknown), a fault
 * that goes away is retried within the deadline (Ready), and no probe object is left behind.
 *
 * Swift and B2 (no SDK retry layer: lib/backends/retry.ts) also get faults on single requests of the
 * data path (the probe upload, the listing, the probe delete): a reset, a 503 (with Retry-After), and
 * an upload whose answer is lost after the server stored it. B2's contract fake hands out its URLs at
 * the address the client reached, so every B2 call after authorize passes the proxy too.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openStore } from '../lib/backends/registry.js';
import { listAll } from '../lib/backends/object-store.js';
import { parseRequest } from '../lib/config/request.js';
import { resolveCredentials } from '../lib/credentials/resolve.js';
import { isProbeKey } from '../lib/operations/probes.js';
import type { OperationResult } from '../lib/status/result.js';
import { lambdaContext } from './support/lambda.js';
import {
  startFaultProxy,
  type FaultProxy,
  type ProxiedRequest,
  type ProxyFault,
  type RequestFault,
} from './support/fault-proxy.js';
import {
  TARGETS,
  freshLocation,
  secretDir,
  type HardeningTarget,
  type Location,
} from './support/hardening-targets.js';

const { handler: initializeHandler } = await import('../functions/initialize.js');
const { handler: checkHandler } = await import('../functions/check.js');

const CASES: [string, (index: number) => ProxyFault | undefined, 'fails' | 'recovers'][] = [
  ['every connection reset', () => ({ kind: 'reset' }), 'fails'],
  ['every connection black-holed', () => ({ kind: 'blackhole' }), 'fails'],
  ['every answer truncated after 20 bytes', () => ({ kind: 'truncate', afterBytes: 20 }), 'fails'],
  ['every request answered 503', () => ({ kind: 'status', status: 503 }), 'fails'],
  ['slow answers (100 ms per chunk)', () => ({ kind: 'slow', delayMs: 100 }), 'recovers'],
  ['the first connection reset, then healthy', (i) => (i === 0 ? { kind: 'reset' } : undefined), 'recovers'],
  [
    'the first request answered 503, then healthy',
    (i) => (i === 0 ? { kind: 'status', status: 503 } : undefined),
    'recovers',
  ],
];

/** `TEST_SERVERS` may narrow a run to some servers; a full run covers every target. */
const started = inject('servers');
const targets = TARGETS.filter((target) => target.server in started);

it('covers every provider unless TEST_SERVERS narrows the run', () => {
  if (!process.env.TEST_SERVERS)
    expect(targets.map((t) => t.provider)).toEqual(TARGETS.map((t) => t.provider));
  expect(targets.length).toBeGreaterThan(0);
});

/** A storage initialized directly, and check through `proxy` on it. */
function proxiedStorage(target: HardeningTarget): {
  proxy: () => FaultProxy;
  check: () => Promise<OperationResult>;
  expectNoProbeLeft: () => Promise<void>;
} {
  let proxy: FaultProxy;
  let location: Location;
  let direct: Record<string, unknown>;
  beforeAll(async () => {
    proxy = await startFaultProxy(target.upstream());
    location = freshLocation(`faults-${target.provider}`);
    direct = target.request(location, await secretDir(target.secrets()));
    const initialized = (await initializeHandler(direct as never, lambdaContext(30_000))) as OperationResult;
    expect(initialized.status.phase).toBe('Ready');
  });
  afterAll(() => proxy.close());
  return {
    proxy: () => proxy,
    async check() {
      const body = target.request(location, await secretDir(target.secrets(proxy.url)), proxy.url);
      body.options = { ...(body.options as object), timeoutSeconds: 8 };
      const result = (await checkHandler(body as never, lambdaContext(20_000))) as OperationResult;
      const shown = JSON.stringify(result.status.conditions);
      expect(
        result.status.conditions.map((c) => c.reason),
        shown,
      ).not.toContain('Unknown');
      return result;
    },
    // Straight to the server: nothing but metadata.yaml under the prefix, no probe object.
    async expectNoProbeLeft() {
      const request = parseRequest(direct);
      const store = await openStore(request.storage.backend, {
        credentials: await resolveCredentials(request.credentials as string),
        endpoint: request.options.endpoint,
      });
      try {
        const keys: string[] = [];
        for await (const object of listAll(store, `${location.prefix}/`)) keys.push(object.key);
        expect(keys.filter(isProbeKey), keys.join(', ')).toEqual([]);
      } finally {
        await store.close();
      }
    },
  };
}

describe.each(targets.map((t) => [t.provider, t] as const))('%s behind a fault proxy', (_name, target) => {
  const storage = proxiedStorage(target);

  it.each(CASES)('%s: classified, probe removed', { timeout: 60_000 }, async (_case, plan, expected) => {
    storage.proxy().setFaults(plan);
    const result = await storage.check();
    const shown = JSON.stringify(result.status.conditions);
    expect(storage.proxy().stats().connections).toBeGreaterThan(0);
    expect(result.status.phase, shown).toBe(expected === 'fails' ? 'NotReady' : 'Ready');
    await storage.expectNoProbeLeft();
  });
});

/**
 * Which requests of check's data path each adapter that retries them itself sends, by operation: Swift
 * and B2 (no SDK retry layer) all of them, GCS its uploads (the SDK retries its listings and deletes).
 */
type DataPathOperation = 'upload' | 'list' | 'delete';
const DATA_PATH: Record<
  'swift' | 'b2' | 'gcs',
  Partial<Record<DataPathOperation, (r: ProxiedRequest) => boolean>>
> = {
  swift: {
    upload: (r) => r.method === 'PUT' && r.path.includes('/hardening/'),
    list: (r) => r.method === 'GET' && r.path.includes('format=json'),
    delete: (r) => r.method === 'DELETE',
  },
  b2: {
    upload: (r) => r.path.includes('/b2api/v2/b2_upload_file/'),
    list: (r) => r.path.endsWith('/b2api/v2/b2_list_file_names'),
    delete: (r) => r.path.endsWith('/b2api/v2/b2_delete_file_version'),
  },
  gcs: {
    upload: (r) => r.method === 'POST' && r.path.startsWith('/upload/storage/v1/b/'),
  },
};

const REQUEST_CASES: [string, DataPathOperation, RequestFault][] = [
  ['the probe upload reset', 'upload', { kind: 'reset' }],
  ['the probe upload answered 503', 'upload', { kind: 'status', status: 503 }],
  ['the probe upload stored, its answer lost', 'upload', { kind: 'drop-answer' }],
  ['the listing reset', 'list', { kind: 'reset' }],
  ['the listing answered 503 with Retry-After: 1', 'list', { kind: 'status', status: 503, retryAfter: '1' }],
  ['the probe delete reset', 'delete', { kind: 'reset' }],
  ['the probe delete answered 503', 'delete', { kind: 'status', status: 503 }],
];

describe.each(
  targets
    .filter((t) => t.provider === 'swift' || t.provider === 'b2' || t.provider === 'gcs')
    .map((t) => [t.provider, t] as const),
)('%s data path: one request faulted, then healthy (contract for b2 and gcs)', (_name, target) => {
  const storage = proxiedStorage(target);
  const matchers = DATA_PATH[target.provider as 'swift' | 'b2' | 'gcs'];

  it.each(REQUEST_CASES.filter(([, op]) => matchers[op] !== undefined))(
    '%s: retried to Ready, probe removed',
    { timeout: 60_000 },
    async (_case, op, fault) => {
      let matching = 0;
      storage.proxy().setRequestFaults((request) => {
        if (!matchers[op]?.(request)) return undefined;
        matching += 1;
        return matching === 1 ? fault : undefined;
      });
      const result = await storage.check();
      expect(result.status.phase, JSON.stringify(result.status.conditions)).toBe('Ready');
      // The faulted request was the operation's, and the operation was sent again.
      expect(storage.proxy().stats().faulted).toBe(1);
      expect(matching).toBeGreaterThanOrEqual(2);
      await storage.expectNoProbeLeft();
    },
  );
});
