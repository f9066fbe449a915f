/** The samples in events/azure/ parse as requests, and the azurite ones run green through the handlers. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../lib/config/request.js';
import type { OperationResult } from '../lib/status/result.js';
import { lambdaContext } from './support/lambda.js';
import { serverInfo } from './support/servers.js';

const dir = join(import.meta.dirname, '..', 'events', 'azure');
const samples = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();

async function sample(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, unknown>;
}

describe('events/azure samples', () => {
  it('has KubeStash, Stash, sovereign-cloud and azurite samples', () => {
    expect(samples).toEqual(
      expect.arrayContaining([
        'kubestash-check.json',
        'kubestash-initialize.json',
        'kubestash-china-check.json',
        'stash-repository-check.json',
        'azurite-initialize.json',
        'azurite-check.json',
      ]),
    );
  });

  it.each(samples)('%s parses into an azure request', async (name) => {
    const request = parseRequest(await sample(name));
    expect(request.storage.backend.provider).toBe('azure');
    expect(['kubestash', 'stash']).toContain(request.storage.flavor);
  });

  it('runs the azurite samples (initialize, then check) with the key from the environment', async () => {
    const azurite = serverInfo('azurite');
    process.env.AZURE_ACCOUNT_KEY = azurite.accountKey;
    const { handler: initialize } = await import('../functions/initialize.js');
    const { handler: check } = await import('../functions/check.js');
    // Same endpoint as the sample unless another run held port 10000.
    const withEndpoint = (event: Record<string, unknown>): Record<string, unknown> => ({
      ...event,
      options: { ...(event.options as object), endpoint: azurite.endpoint },
    });
    const initialized = (await initialize(
      withEndpoint(await sample('azurite-initialize.json')) as never,
      lambdaContext(),
    )) as OperationResult;
    expect(initialized.status.phase, JSON.stringify(initialized.status)).toBe('Ready');
    const checked = (await check(
      withEndpoint(await sample('azurite-check.json')) as never,
      lambdaContext(),
    )) as OperationResult;
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
  });
});
