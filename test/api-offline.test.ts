/**
 * `npm run api` (scripts/api.mjs: serverless offline, stage local) answers the README's "Call the HTTP
 * API" curl commands: JSON and YAML bodies, a typo (400 naming the field), then a run in HMAC mode with
 * the README's signing snippet (unsigned 401, signed 200, replayed 403). SIGTERM stops it and frees
 * its ports; a second start on the same port works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY, run } from './support/cli.js';
import { freePort } from './support/process.js';

interface Api {
  child: ChildProcess;
  port: number;
  output(): string;
}

let volume: string;
let blocks: string[];
const running: Api[] = [];

/** The README section's shell blocks, in order. */
async function readmeBlocks(): Promise<string[]> {
  const readme = await readFile(join(REPOSITORY, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Call the HTTP API')) ?? '';
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, 'localhost', () => probe.close(() => resolve(true)));
  });
}

/** Starts `npm run api -- --port <port>` in its own process group; resolves once it serves. */
async function startApi(port: number, env: Record<string, string> = {}): Promise<Api> {
  const child = spawn('npm', ['run', 'api', '--', '--port', String(port)], {
    cwd: REPOSITORY,
    env: { ...process.env, LOCAL_VOLUME_ROOT: volume, ...env },
    detached: true,
    stdio: 'pipe',
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const api = { child, port, output: () => output };
  running.push(api);
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (output.includes('Server ready:')) resolve();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => reject(new Error(`npm run api exited (${code}):\n${output}`)));
  });
  return api;
}

/** Stops the API as a user would; resolves with npm's exit code. */
async function stopApi(api: Api, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (api.child.exitCode !== null) return api.child.exitCode;
  const exited = new Promise<number | null>((resolve) => api.child.once('exit', resolve));
  // `kill <pid>` reaches npm alone; a terminal's Ctrl-C reaches its whole process group.
  process.kill(signal === 'SIGINT' ? -(api.child.pid as number) : (api.child.pid as number), signal);
  return exited;
}

/** A README block with its port replaced by the test's. */
async function shell(
  block: string,
  port: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('bash', ['-c', block.replaceAll('localhost:3000', `localhost:${port}`)]);
}

/** The JSON answers a block's curl commands printed, one per line (curl -w adds the status). */
function answers(stdout: string): { status: number; body: Record<string, unknown> }[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const status = Number(line.slice(line.lastIndexOf('|') + 1));
      return { status, body: JSON.parse(line.slice(0, line.lastIndexOf('|'))) as Record<string, unknown> };
    });
}

/** Makes each curl of a block print `<body>|<status>` on its own line. */
const withStatus = (block: string): string => block.replaceAll('curl -sS', `curl -sS -w '|%{http_code}\\n'`);

beforeAll(async () => {
  volume = await mkdtemp(join(tmpdir(), 'bsf-api-volume-'));
  blocks = await readmeBlocks();
  expect(blocks[0]).toMatch(/^npm run api/);
});

afterEach(async () => {
  for (const api of running.splice(0)) {
    await stopApi(api);
    try {
      process.kill(-(api.child.pid as number), 'SIGKILL');
    } catch {
      // The group is gone.
    }
  }
});

describe('npm run api', () => {
  it('answers the README curl commands (JSON and YAML), stops on SIGTERM freeing its ports, and starts again', async () => {
    const port = await freePort();
    const api = await startApi(port);
    const calls = await shell(withStatus(blocks[1] as string), port);
    expect(calls.code, calls.stderr).toBe(0);
    const [initialized, checked, yaml] = answers(calls.stdout);
    expect(initialized?.status).toBe(200);
    expect((initialized?.body.status as { phase: string }).phase).toBe('Ready');
    expect(checked?.status).toBe(200);
    expect((checked?.body.status as { phase: string }).phase).toBe('Ready');
    expect(yaml?.status).toBe(200);
    expect((yaml?.body.status as { phase: string }).phase).toBe('Ready');

    // A typo is a 400 naming the field; NotReady is still a 200.
    const body = (await readFile(join(REPOSITORY, 'events/local/check.json'), 'utf8')).replace(
      '"subPath"',
      '"subPth"',
    );
    const typo = await run('curl', [
      '-sS',
      '-w',
      '|%{http_code}',
      '-X',
      'POST',
      `localhost:${port}/v1/check`,
      '-H',
      'content-type: application/json',
      '--data-binary',
      body,
    ]);
    const [refused] = answers(typo.stdout);
    expect(refused?.status).toBe(400);
    expect(JSON.stringify(refused?.body)).toContain('storage.spec.storage.local.subPth');

    expect(await stopApi(api)).toBe(0);
    expect(await portIsFree(port)).toBe(true);
    expect(await portIsFree(port + 2)).toBe(true);

    const again = await startApi(port);
    const second = await shell(withStatus(blocks[1] as string), port);
    expect(answers(second.stdout).map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(await stopApi(again, 'SIGINT')).toBe(0);
    expect(await portIsFree(port)).toBe(true);
  }, 240_000);

  it('HMAC mode (BSF_API_AUTH=hmac, API_AUTH_SECRET_REF): unsigned 401, signed as the README shows 200, replayed 403', async () => {
    const secretDir = await mkdtemp(join(tmpdir(), 'bsf-api-secret-'));
    const secret = 'change-me-to-a-long-random-secret';
    await writeFile(join(secretDir, 'API_AUTH_SECRET'), secret);
    expect(blocks[2]).toContain('BSF_API_AUTH=hmac API_AUTH_SECRET_REF=dir:');
    const port = await freePort();
    const api = await startApi(port, { BSF_API_AUTH: 'hmac', API_AUTH_SECRET_REF: `dir:${secretDir}` });

    const unsigned = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      `localhost:${port}/v1/check`,
      '-H',
      'content-type: application/json',
      '--data-binary',
      '@events/local/check.json',
    ]);
    expect(unsigned.stdout).toBe('401');

    // The README's snippet, made to print the status and to send its signed request twice.
    const signing = withStatus(blocks[3] as string);
    const replayed = await shell(signing.replace(/(curl[\s\S]*)$/, '$1\n$1'), port);
    expect(replayed.code, replayed.stderr).toBe(0);
    const [answer, replay] = answers(replayed.stdout);
    expect(answer?.status).toBe(200);
    expect(answer?.body.operation).toBe('check');
    expect(['Ready', 'NotReady']).toContain((answer?.body.status as { phase: string }).phase);
    expect(replay?.status).toBe(403);
    expect(JSON.stringify(replay?.body)).toMatch(/each signed request is accepted once/);
    expect(await stopApi(api)).toBe(0);
    expect(await portIsFree(port)).toBe(true);
  }, 240_000);
});
