/**
 * Deadlines: with 2 s of invocation time left and a server that accepts connections but never answers
 * (a black-hole proxy in front of each provider's real server or contract fake), every function
 * answers before the invocation's deadline with a status classified Timeout and NotReady; inventory and
 * cleanup (resumable) also return a continuation token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationResult } from '../lib/status/result.js';
import { lambdaContext } from './support/lambda.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { TARGETS, freshLocation, secretDir } from './support/hardening-targets.js';

const handlers = {
  initialize: (await import('../functions/initialize.js')).handler,
  check: (await import('../functions/check.js')).handler,
  inventory: (await import('../functions/inventory.js')).handler,
  cleanup: (await import('../functions/cleanup.js')).handler,
};
const REMAINING_MS = 2000;

describe.each(TARGETS.map((t) => [t.provider, t] as const))(
  '%s: a server that never answers, 2 s left',
  (_name, target) => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(target.upstream());
      proxy.setFaults(() => ({ kind: 'blackhole' }));
    });
    afterAll(() => proxy.close());

    it.each(Object.keys(handlers) as (keyof typeof handlers)[])(
      '%s returns a classified status before the deadline',
      async (name) => {
        const location = freshLocation(`deadline-${target.provider}`);
        const body = target.request(location, await secretDir(target.secrets(proxy.url)), proxy.url);
        if (name === 'cleanup')
          (body.options as Record<string, unknown>).confirm = `${location.bucket}/${location.prefix}`;
        const started = Date.now();
        const result = (await handlers[name](
          body as never,
          lambdaContext(REMAINING_MS),
        )) as OperationResult & {
          statusCode?: number;
          inventory?: { continuation?: string };
          cleanup?: { continuation?: string };
        };
        const elapsed = Date.now() - started;
        expect(elapsed, `${target.provider} ${name} answered after ${elapsed} ms`).toBeLessThan(REMAINING_MS);
        if (name === 'cleanup' && target.provider === 'b2') {
          // Stash forbids wipeOut for b2: refused before anything runs.
          expect(result.statusCode).toBe(403);
          return;
        }
        const conditions = result.status.conditions;
        const shown = JSON.stringify(conditions);
        expect(
          conditions.map((c) => c.reason),
          shown,
        ).not.toContain('Unknown');
        // Every function: a classified Timeout, NotReady (nothing answered, so nothing is known).
        expect(
          conditions.map((c) => c.reason),
          shown,
        ).toContain('Timeout');
        expect(result.status.phase).toBe('NotReady');
        if (name === 'inventory' || name === 'cleanup') {
          // Resumable: the continuation token still lets the next call start where this one stopped.
          expect(result.inventory?.continuation ?? result.cleanup?.continuation).toBeTruthy();
        }
      },
    );
  },
);
