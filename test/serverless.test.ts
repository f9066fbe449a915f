import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** The last top-level JSON object serverless printed (the handler's result). */
function lastJson(output: string): any {
  const start = output.lastIndexOf('\n{\n');
  return JSON.parse(output.slice(start + 1));
}

describe('serverless invoke local (real serverless 3 + esbuild bundle)', () => {
  it('initializes, then checks, the local sample storage: phase Ready', async () => {
    const volume = await mkdtemp(join(tmpdir(), 'bsf-sls-'));
    const env = {
      ...process.env,
      LOCAL_VOLUME_ROOT: volume,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      AWS_EC2_METADATA_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    };
    for (const fn of ['initialize', 'check']) {
      const { stdout } = await run('npx', ['serverless', 'invoke', 'local', '-f', fn, '-p', `events/local/${fn}.json`], {
        env,
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      const result = lastJson(stdout);
      expect(result.operation).toBe(fn);
      expect(result.status.phase).toBe('Ready');
    }
    expect(await readdir(join(volume, 'demo', 'local-storage'))).toEqual(['metadata.yaml']);
  }, 320_000);
});
