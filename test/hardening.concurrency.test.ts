/**
 * Concurrency: 50 initialize calls at once on one prefix, per provider, on its real server or contract
 * fake, through the handler: every caller ends Ready, exactly one metadata.yaml exists and nothing else
 * is left under the prefix (no probe, no claim), and a second wave of 50 leaves that metadata.yaml as it was.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../lib/backends/registry.js';
import { listAll, type ObjectStore } from '../lib/backends/object-store.js';
import { parseRequest } from '../lib/config/request.js';
import { resolveCredentials } from '../lib/credentials/resolve.js';
import type { OperationResult } from '../lib/status/result.js';
import { lambdaContext } from './support/lambda.js';
import { TARGETS, freshLocation, secretDir } from './support/hardening-targets.js';

const { handler: initializeHandler } = await import('../functions/initialize.js');

const CALLERS = 50;

async function storeFor(body: Record<string, unknown>): Promise<ObjectStore> {
  const request = parseRequest(body);
  return openStore(request.storage.backend, {
    credentials: await resolveCredentials(request.credentials as string),
    endpoint: request.options.endpoint,
  });
}

/**
 * Fifty callers at once on a shared 2-core machine can need more than the default 25 s bound; the
 * property under test is one winner and no overwrite, so each call gets the invocation's whole time.
 */
async function wave(body: Record<string, unknown>): Promise<OperationResult[]> {
  const patient = { ...body, options: { ...(body.options as object), timeoutSeconds: 85 } };
  return Promise.all(
    Array.from(
      { length: CALLERS },
      async () => (await initializeHandler(patient as never, lambdaContext(90_000))) as OperationResult,
    ),
  );
}

describe.each(TARGETS.map((target) => [target.provider, target] as const))(
  '%s: 50 concurrent initialize calls on one prefix',
  (_name, target) => {
    it(
      'all Ready, exactly one metadata.yaml, nothing overwritten by a second wave',
      { timeout: 180_000 },
      async () => {
        const location = freshLocation(`conc-${target.provider}`);
        const body = target.request(location, await secretDir(target.secrets()));
        const first = await wave(body);
        for (const result of first)
          expect(result.status.phase, JSON.stringify(result.status.conditions)).toBe('Ready');

        const store = await storeFor(body);
        try {
          const keys = async (): Promise<string[]> => {
            const found: string[] = [];
            for await (const object of listAll(store, `${location.prefix}/`)) found.push(object.key);
            return found.sort();
          };
          expect(await keys()).toEqual([`${location.prefix}/metadata.yaml`]);
          const metadataKey = `${location.prefix}/metadata.yaml`;
          const before = await store.stat(metadataKey);
          const content = Buffer.from(await store.get(metadataKey)).toString('utf8');

          const second = await wave(body);
          for (const result of second) expect(result.status.phase).toBe('Ready');
          expect(await keys()).toEqual([metadataKey]);
          const after = await store.stat(metadataKey);
          expect(after.etag).toBe(before.etag);
          expect(after.lastModified?.getTime()).toBe(before.lastModified?.getTime());
          expect(Buffer.from(await store.get(metadataKey)).toString('utf8')).toBe(content);
        } finally {
          await store.close();
        }
      },
    );
  },
);
