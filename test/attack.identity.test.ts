/**
 * Attack class 7, fail closed: how HTTP callers prove who they are (IAM, HMAC with key ids), replays,
 * and deployments configured wrongly. Each configuration is a fresh cold start of the real handler
 * (modules reset, environment set first), and the attacker's listener is every request's endpoint:
 * nothing refused may reach it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { deployStage, KEYS, leaked, signedEvent, storageFor, type DeployedStage } from './support/attack.js';
import { httpEvent, lambdaContext, parseHttpResult } from './support/lambda.js';
import { startRecordingListener, type RecordingListener } from './support/recording-listener.js';

const BASE_ENV = { ...process.env };
let stage: DeployedStage;
let attacker: RecordingListener;
let body: Record<string, unknown>;

beforeAll(async () => {
  attacker = await startRecordingListener();
  stage = await deployStage();
  await stage.secret('a', 'demo', 's3-secret');
  body = storageFor('s3', 'demo', attacker.url);
});
afterAll(() => attacker.close());
beforeEach(() => attacker.reset());

/** The check handler as a cold start with `env` on top of the deployed stage. */
async function coldCheck(env: Record<string, string | undefined>) {
  vi.resetModules();
  process.env = { ...BASE_ENV };
  await deployStage();
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  process.env.CREDENTIALS_SOURCE = `dir:${stage.secretsRoot}/{tenant}/{namespace}/{name}`;
  const { handler } = await import('../functions/check.js');
  return async (event: unknown) => parseHttpResult(await handler(event as never, lambdaContext()));
}

/** An HTTP API v2 event as API Gateway's IAM authorizer hands it on. */
function iamEvent(userArn: string | undefined): Record<string, unknown> {
  const event = httpEvent(body) as unknown as { requestContext: Record<string, unknown> };
  if (userArn) event.requestContext.authorizer = { iam: { userArn, accountId: '111122223333' } };
  return event;
}

describe('IAM mode', () => {
  const operator = 'arn:aws:sts::111122223333:assumed-role/kubestash-a/session-1';
  const grants = JSON.stringify([
    { principal: 'arn:aws:sts::111122223333:assumed-role/kubestash-a/*', namespaces: ['demo'], tenant: 'a' },
  ]);

  it('a request that did not pass the IAM authorizer is 401, whatever it carries', async () => {
    const check = await coldCheck({
      BSF_API_AUTH: 'iam',
      API_AUTH_SECRET_REF: undefined,
      API_GRANTS: grants,
    });
    const { statusCode, json } = await check(iamEvent(undefined));
    expect(statusCode).toBe(401);
    expect(json.error.issues[0].path).toBe('requestContext.authorizer.iam');
    // A signature of the HMAC scheme does not stand in for IAM.
    expect((await check(signedEvent(body))).statusCode).toBe(401);
    expect(attacker.connections()).toBe(0);
  });

  it('the signer’s ARN is the caller: granted runs, another role is 403', async () => {
    const check = await coldCheck({
      BSF_API_AUTH: 'iam',
      API_AUTH_SECRET_REF: undefined,
      API_GRANTS: grants,
    });
    expect((await check(iamEvent('arn:aws:sts::111122223333:assumed-role/kubestash-b/s'))).statusCode).toBe(
      403,
    );
    expect(attacker.connections()).toBe(0);
    const granted = await check(iamEvent(operator));
    expect(granted.statusCode).toBe(200);
    expect(granted.json.status.phase).toBe('NotReady');
  });

  it('REST API (v1) events carry the ARN in requestContext.identity', async () => {
    const check = await coldCheck({
      BSF_API_AUTH: 'iam',
      API_AUTH_SECRET_REF: undefined,
      API_GRANTS: grants,
    });
    const event = {
      resource: '/v1/check',
      path: '/v1/check',
      httpMethod: 'POST',
      headers: { 'content-type': 'application/json' },
      requestContext: { identity: { userArn: 'arn:aws:iam::111122223333:user/intruder' } },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    };
    expect((await check(event)).statusCode).toBe(403);
    expect(attacker.connections()).toBe(0);
  });
});

describe('HMAC mode', () => {
  it('a replayed signed request is refused; the first one ran once', async () => {
    const check = await coldCheck({});
    const event = signedEvent(body);
    expect((await check(event)).statusCode).toBe(200);
    const connections = attacker.connections();
    expect(connections).toBeGreaterThan(0);
    const replay = await check(structuredClone(event));
    expect(replay.statusCode).toBe(403);
    expect(replay.json.error.message).toContain('replay');
    expect(attacker.connections()).toBe(connections);
  });

  it('each key id verifies only with its own secret, and an unknown key id answers like a wrong signature', async () => {
    const check = await coldCheck({});
    const forged = signedEvent(body) as { headers: Record<string, string> };
    forged.headers['X-BSF-Key-Id'] = 'cluster-b'; // signed with cluster A's key
    expect((await check(forged)).statusCode).toBe(403);
    const unknown = signedEvent(body) as { headers: Record<string, string> };
    unknown.headers['X-BSF-Key-Id'] = 'cluster-z';
    const refused = await check(unknown);
    expect(refused.statusCode).toBe(403);
    expect(refused.json.error.message).toBe('the request signature does not match');
    expect((await check(signedEvent(body, '/v1/check', 'cluster-b'))).statusCode).toBe(200);
  });

  it('HMAC without a usable secret refuses every HTTP request with 503, and direct invokes still run', async () => {
    for (const env of [
      { API_AUTH_SECRET_REF: undefined },
      { API_AUTH_SECRET_REF: 'env:BSF_NOTHING_HERE_', BSF_NOTHING_HERE_OTHER: 'x' },
    ]) {
      attacker.reset();
      const check = await coldCheck(env);
      const { statusCode, json } = await check(signedEvent(body));
      expect(statusCode).toBe(503);
      expect(json.error.code).toBe('Misconfigured');
      expect(attacker.connections()).toBe(0);
    }
    const { handler } = await import('../functions/check.js');
    const direct = (await handler({ ...body, tenant: 'a' } as never, lambdaContext())) as {
      status: { phase: string };
    };
    expect(direct.status.phase).toBe('NotReady');
    expect(attacker.connections()).toBeGreaterThan(0);
    expect(
      leaked(
        stage.secretValues.filter((value) => value.includes('awssecret')),
        attacker.text(),
      ),
    ).toEqual([]);
  });

  it('a deployed stage with no grants refuses every HTTP caller', async () => {
    const check = await coldCheck({ API_GRANTS: undefined });
    const { statusCode } = await check(signedEvent(body));
    expect(statusCode).toBe(403);
    expect(attacker.connections()).toBe(0);
  });
});

describe('settings that would open the API are refused at cold start', () => {
  it.each([
    ['IAM', 'BSF_API_AUTH'],
    ['None', 'BSF_API_AUTH'],
    ['off', 'BSF_API_AUTH'],
  ])('BSF_API_AUTH=%s', (value, setting) => {
    expect(() => loadRuntimeConfig({ BSF_STAGE: 'prod', BSF_API_AUTH: value })).toThrow(setting);
  });

  it('BSF_API_AUTH=none outside the local stage, and weak KDFs outside it', () => {
    expect(() => loadRuntimeConfig({ BSF_STAGE: 'prod', BSF_API_AUTH: 'none' })).toThrow(
      /only for the local stage/,
    );
    expect(() => loadRuntimeConfig({ BSF_API_AUTH: 'none' })).toThrow(/only for the local stage/);
    expect(() => loadRuntimeConfig({ BSF_STAGE: 'dev', BSF_ALLOW_WEAK_KDF: '1' })).toThrow(
      /BSF_ALLOW_WEAK_KDF/,
    );
    expect(loadRuntimeConfig({ BSF_STAGE: 'local', BSF_API_AUTH: 'none' }).apiAuth).toBe('none');
  });

  it('grants that do not parse stop the function at cold start, naming the entry', () => {
    expect(() =>
      loadRuntimeConfig({ BSF_STAGE: 'prod', API_GRANTS: '[{"principal":"hmac:a","namespaces":[]}]' }),
    ).toThrow(/API_GRANTS: \[0\.namespaces\]/);
    expect(() =>
      loadRuntimeConfig({
        BSF_STAGE: 'prod',
        API_GRANTS: '[{"principal":"x","namespaces":["a"],"tenant":"A B"}]',
      }),
    ).toThrow(/tenant/);
  });

  it('the defaults: deployed is IAM with no grants, the local stage is open', () => {
    const deployed = loadRuntimeConfig({});
    expect([deployed.apiAuth, deployed.grants.length, deployed.workstation]).toEqual(['iam', 0, false]);
    const local = loadRuntimeConfig({ BSF_STAGE: 'local' });
    expect([local.apiAuth, local.grants[0]?.principal, local.workstation]).toEqual(['none', '*', true]);
    expect(KEYS.default).not.toBe(KEYS['cluster-b']);
  });
});
