/**
 * Attack class 2, which secret: over HTTP, secrets come only from the deployment's CREDENTIALS_SOURCE
 * template applied to the caller's granted namespace and tenant. Another tenant's Secret named by
 * path, the function's own environment, a Secrets Manager id, a traversal out of an allowed folder, an
 * encryption secret of another namespace, a webhook signing secret: each is refused (403 naming the
 * field) before anything is read or any connection made, on every provider, for every operation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  deployStage,
  GRANTS,
  leaked,
  PROVIDERS,
  signedEvent,
  storageFor,
  type DeployedStage,
  operationHandlers,
  OPERATION_NAMES,
  type OperationName,
} from './support/attack.js';
import { lambdaContext, parseHttpResult } from './support/lambda.js';
import { startRecordingListener, type RecordingListener } from './support/recording-listener.js';

let attacker: RecordingListener;
let victim: { reference: string; values: Record<string, string> };

// Cluster A may also name Secrets under its own folder for its namespace, explicitly.
const grants = GRANTS.map((grant) =>
  grant.tenant === 'a' ? { ...grant, references: [`dir:@ROOT@/a/{namespace}/*`] } : grant,
);
const stage: DeployedStage = await deployStage();
const allowedRoot = stage.secretsRoot;
process.env.API_GRANTS = JSON.stringify(grants).replaceAll('@ROOT@', allowedRoot);
process.env.AWS_ACCESS_KEY_ID = 'AKIAFUNCTIONOWNKEY0001';
process.env.AWS_SECRET_ACCESS_KEY = 'function-own-secret-access-key-do-not-leak';
process.env.AWS_SESSION_TOKEN = 'function-own-session-token-do-not-leak';
const handlers = await operationHandlers();
type Op = OperationName;
const OPS = OPERATION_NAMES;
const FUNCTION_SECRETS = [process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN];

beforeAll(async () => {
  attacker = await startRecordingListener();
  victim = await stage.secret('b', 'other-ns', 'b2-secret');
  await stage.secret('a', 'demo', 'own');
});
afterAll(() => attacker.close());
beforeEach(() => attacker.reset());

async function http(op: Op, body: Record<string, unknown>) {
  return parseHttpResult(await handlers[op](signedEvent(body, `/v1/${op}`) as never, lambdaContext()));
}

function expectNothingLeft(): void {
  expect(attacker.connections()).toBe(0);
  expect(leaked([...stage.secretValues, ...FUNCTION_SECRETS] as string[], attacker.text())).toEqual([]);
}

const REFUSED_REFERENCES: [string, () => string][] = [
  ['another tenant’s Secret by path', () => victim.reference],
  ['the function’s environment', () => 'env'],
  ['the function’s environment by prefix', () => 'env:AWS_'],
  ['a Secrets Manager id', () => 'aws-secretsmanager:backupstorage-functions/prod/b/other-ns/b2-secret'],
  ['an SSM parameter', () => 'aws-ssm:/backupstorage-functions/prod/b/other-ns/b2-secret'],
  ['a traversal out of the allowed folder', () => `dir:${allowedRoot}/a/demo/../../b/other-ns/b2-secret`],
  ['an empty segment in the allowed folder', () => `dir:${allowedRoot}/a/demo//x`],
];

describe('explicit credentials over HTTP', () => {
  it.each(PROVIDERS)(
    '%s: every refused reference, every operation: 403 on `credentials`, nothing read or sent',
    async (provider) => {
      let attacks = 0;
      for (const [label, reference] of REFUSED_REFERENCES) {
        for (const op of OPS) {
          const { storage, options } = storageFor(provider, 'demo', attacker.url);
          const { statusCode, json } = await http(op, { storage, options, credentials: reference() });
          expect(statusCode, `${label} ${op}`).toBe(403);
          expect(json.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['credentials']);
          attacks += 1;
        }
      }
      expect(attacks).toBe(REFUSED_REFERENCES.length * OPS.length);
      expectNothingLeft();
    },
  );

  it('a reference the grant lists, in the caller’s own namespace, is used', async () => {
    const { storage, options } = storageFor('s3', 'demo', attacker.url);
    const { statusCode, json } = await http('check', {
      storage,
      options,
      credentials: `dir:${allowedRoot}/a/demo/own`,
    });
    expect(statusCode).toBe(200);
    expect(json.status.conditions.find((c: { type: string }) => c.type === 'BackendSecretFound').status).toBe(
      'True',
    );
    // The listener was the endpoint the caller named, with the caller's own secret: not another's.
    expect(leaked(Object.values(victim.values), attacker.text())).toEqual([]);
  });

  it('the same pattern does not reach the folder of another namespace', async () => {
    await stage.secret('a', 'team-x', 'own');
    const { storage, options } = storageFor('s3', 'demo', attacker.url);
    const { statusCode } = await http('check', {
      storage,
      options,
      credentials: `dir:${allowedRoot}/a/team-x/own`,
    });
    expect(statusCode).toBe(403);
    expectNothingLeft();
  });
});

describe('repository encryption secrets and signing secrets over HTTP', () => {
  it.each([
    [
      'by reference, another tenant',
      { encryptionSecret: '@VICTIM@' },
      'options.repositories[0].encryptionSecret',
    ],
    [
      'by reference, the environment',
      { encryptionSecret: 'env:RESTIC_' },
      'options.repositories[0].encryptionSecret',
    ],
    [
      'by name, another namespace',
      { encryptionSecret: { name: 'b2-secret', namespace: 'other-ns' } },
      'options.repositories[0].encryptionSecret.namespace',
    ],
  ])('%s is refused', async (_label, repository, path) => {
    const { storage, options } = storageFor('s3', 'demo', attacker.url);
    const secret = JSON.parse(JSON.stringify(repository).replace('@VICTIM@', victim.reference)) as object;
    for (const op of ['initialize', 'check'] as const) {
      const { statusCode, json } = await http(op, {
        storage,
        options: { ...options, repositories: [{ path: 'app', ...secret }] },
      });
      expect(statusCode).toBe(403);
      expect(json.error.issues[0].path).toBe(path);
    }
    expectNothingLeft();
  });

  it('notify.webhook.secret is the deployment’s choice only', async () => {
    const { storage, options } = storageFor('s3', 'demo', attacker.url);
    const { statusCode, json } = await http('check', {
      storage,
      options,
      notify: { webhook: { url: attacker.url, secret: victim.reference } },
    });
    expect(statusCode).toBe(403);
    expect(json.error.issues[0].path).toBe('notify.webhook.secret');
    expectNothingLeft();
  });

  it('direct invokes are the operator: an explicit reference is honoured', async () => {
    const { storage, options } = storageFor('s3', 'other-ns', attacker.url);
    const result = (await handlers.check(
      { storage, options, credentials: victim.reference } as never,
      lambdaContext(),
    )) as {
      status: { conditions: { type: string; status: string }[] };
    };
    expect(result.status.conditions.find((c) => c.type === 'BackendSecretFound')?.status).toBe('True');
    expect(attacker.connections()).toBeGreaterThan(0);
  });
});
