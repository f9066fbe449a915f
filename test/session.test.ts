/** The steps every operation shares: credentials, the endpoint guard, opening the store. */
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseRequest } from '../lib/config/request.js';
import { check } from '../lib/operations/check.js';
import { initialize } from '../lib/operations/initialize.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';

const context = () => ({ deadline: Deadline.in(10_000), config: loadRuntimeConfig(process.env), log: silentLog });

describe('an endpoint the SSRF guard refuses', () => {
  it.each([
    ['gcs', { provider: 'gcs', bucket: 'b' }, 'http://169.254.169.254'],
    ['azure', { provider: 'azure', container: 'c', storageAccount: 'a' }, 'http://169.254.169.254/a'],
    ['s3 (manifest endpoint)', { provider: 's3', bucket: 'b', endpoint: 'http://169.254.169.254' }, undefined],
  ])('%s: refused before any client is built, as InvalidConfig on BackendReachable', async (_name, storage, endpoint) => {
    for (const operation of [check, initialize]) {
      const result = await operation(parseRequest({ storage, options: endpoint ? { endpoint } : {} }), context());
      expect(result.status.phase).toBe('NotReady');
      const reachable = result.status.conditions.find((c) => c.type === 'BackendReachable');
      expect(reachable).toMatchObject({ status: 'False', reason: 'InvalidConfig' });
      expect(reachable?.hint).toMatch(/metadata addresses are never allowed/);
      // No store was opened, so no adapter or SDK was loaded and nothing was retried.
      expect(result.status.timings.connect).toBeUndefined();
    }
  });
});
