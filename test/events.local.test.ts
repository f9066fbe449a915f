/** Every sample in events/local/ runs as it is, through the handlers, on a fresh volume: phase Ready. */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from './support/lambda.js';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<any>;
const handlers: Record<string, Handler> = {};

beforeAll(async () => {
  // As serverless.yml sets them for the local stage; the handlers read them at cold start.
  process.env.LOCAL_VOLUME_ROOT = await mkdtemp(join(tmpdir(), 'bsf-events-'));
  process.env.BSF_DEMO_RESTIC_PASSWORD = 'changeit';
  handlers.initialize = (await import('../functions/initialize.js')).handler as Handler;
  handlers.check = (await import('../functions/check.js')).handler as Handler;
  handlers.inventory = (await import('../functions/inventory.js')).handler as Handler;
});

async function invoke(file: string): Promise<any> {
  const fn = file.replace(/\.json$/, '').replace(/^(http|stash)-/, '');
  const event = JSON.parse(await readFile(join('events', 'local', file), 'utf8'));
  const result = await (handlers[fn] as Handler)(event, lambdaContext(30_000));
  return 'body' in result ? { statusCode: result.statusCode, ...JSON.parse(result.body) } : result;
}

describe('events/local samples', () => {
  it('has initialize and check samples, direct and HTTP, KubeStash and Stash', async () => {
    expect((await readdir(join('events', 'local'))).sort()).toEqual([
      'check.json',
      'console.json',
      'fleet.json',
      'fleet.yaml',
      'http-check.json',
      'http-initialize.json',
      'initialize.json',
      'inventory.json',
      'stash-check.json',
      'stash-initialize.json',
    ]);
  });

  it.each([
    ['initialize.json', 'check.json', 'inventory.json'],
    ['http-initialize.json', 'http-check.json'],
    ['stash-initialize.json', 'stash-check.json'],
  ])('%s then the others run Ready', async (...files) => {
    for (const file of files) {
      const result = await invoke(file);
      expect(result.statusCode ?? 200, file).toBe(200);
      expect(result.status.phase, `${file}: ${JSON.stringify(result.status.conditions)}`).toBe('Ready');
    }
  });
});
