/** An inventory that could list nothing proves nothing: the storage is NotReady, with the network reason. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseRequest } from '../lib/config/request.js';
import { inventory } from '../lib/operations/inventory.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { freePort } from './support/process.js';

describe('inventory against an endpoint nobody listens on', () => {
  it('is NotReady with BackendReachable False (Unreachable), not a Ready inventory of nothing', async () => {
    const secret = await mkdtemp(join(tmpdir(), 'bsf-inv-unreachable-'));
    await writeFile(join(secret, 'AWS_ACCESS_KEY_ID'), 'AKIDEXAMPLE');
    await writeFile(join(secret, 'AWS_SECRET_ACCESS_KEY'), 'not-a-real-secret');
    const port = await freePort();
    const request = parseRequest({
      storage: { provider: 's3', endpoint: `http://127.0.0.1:${port}`, bucket: 'b', prefix: 'p', region: 'us-east-1', name: 'x' },
      credentials: `dir:${secret}`,
      options: { timeoutSeconds: 5 },
    });
    const config = { ...loadRuntimeConfig(process.env) };
    const result = await inventory(request, { deadline: Deadline.in(8000), config, log: silentLog });
    expect(result.status.phase).toBe('NotReady');
    expect(result.status.conditions.find((c) => c.type === 'BackendReachable')).toMatchObject({ status: 'False', reason: 'Unreachable' });
    expect(result.status.conditions.find((c) => c.type === 'Inventoried')?.status).not.toBe('True');
    expect(result.status.totalSize).toBeUndefined();
    expect(result.status.conditionalWrites).toBeUndefined();
  });
});
