/**
 * Attack class 1, who is calling and for which namespaces: an HTTP caller reaches only the namespaces
 * API_GRANTS gives its identity, and two clusters' `demo` namespaces never share a secret. Every
 * refusal happens before any secret is read or any connection made: the attacker's listener, named as
 * every provider's endpoint, sees nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deployStage,
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

const stage: DeployedStage = await deployStage();
const handlers = await operationHandlers();
type Op = OperationName;
const OPS = OPERATION_NAMES;

let attacker: RecordingListener;
beforeAll(async () => {
  attacker = await startRecordingListener();
  for (const tenant of ['a', 'b']) {
    for (const namespace of ['demo', 'other-ns', 'default']) {
      for (const provider of PROVIDERS) await stage.secret(tenant, namespace, `${provider}-secret`);
    }
  }
});
afterAll(() => attacker.close());

async function http(op: Op, body: unknown, keyId: 'default' | 'cluster-b' = 'default') {
  return parseHttpResult(await handlers[op](signedEvent(body, `/v1/${op}`, keyId) as never, lambdaContext()));
}

describe('namespace grants', () => {
  it.each(PROVIDERS)(
    '%s: every operation for an ungranted namespace is 403, before any secret or connection',
    async (provider) => {
      attacker.reset();
      for (const op of OPS) {
        for (const namespace of ['other-ns', undefined]) {
          const { storage, options } = storageFor(provider, namespace, attacker.url);
          const { statusCode, json } = await http(op, {
            storage,
            options: op === 'cleanup' ? { ...options, confirm: 'victim/p' } : options,
          });
          expect(statusCode, `${op} ${namespace}`).toBe(403);
          expect(json.error.code).toBe('Forbidden');
          expect(json.error.message).toContain(`namespace "${namespace ?? 'default'}"`);
          expect(json.error.issues[0].path).toMatch(/^storage/);
        }
      }
      expect(attacker.connections()).toBe(0);
      expect(leaked(stage.secretValues, attacker.text())).toEqual([]);
    },
  );

  it('a granted key for one cluster is not granted by another key’s patterns', async () => {
    // cluster-b holds only `demo`; `team-x` belongs to cluster A's grant.
    const { storage, options } = storageFor('s3', 'team-x', attacker.url);
    attacker.reset();
    expect((await http('check', { storage, options }, 'cluster-b')).statusCode).toBe(403);
    expect((await http('check', { storage, options }, 'default')).statusCode).toBe(200);
  });

  it('two clusters’ demo namespaces use their own tenants’ secrets, never each other’s', async () => {
    const a = await stage.secret('a', 'demo', 'shared-name');
    const b = await stage.secret('b', 'demo', 'shared-name');
    for (const [keyId, own, other] of [
      ['default', a, b],
      ['cluster-b', b, a],
    ] as const) {
      attacker.reset();
      const { storage, options } = storageFor('s3', 'demo', attacker.url, 'shared-name');
      const { statusCode, json } = await http('check', { storage, options }, keyId);
      expect(statusCode).toBe(200);
      expect(json.status.phase).toBe('NotReady');
      // The S3 request is signed with the tenant's own key id (the listener is the S3 endpoint here).
      expect(attacker.text()).toContain(own.values.AWS_ACCESS_KEY_ID);
      expect(leaked(Object.values(other.values), attacker.text())).toEqual([]);
    }
  });

  it('an HTTP request cannot pick its tenant', async () => {
    const { storage, options } = storageFor('s3', 'demo', attacker.url);
    attacker.reset();
    const { statusCode, json } = await http('check', { storage, options, tenant: 'b' });
    expect(statusCode).toBe(403);
    expect(json.error.issues[0].path).toBe('tenant');
    expect(attacker.connections()).toBe(0);
  });

  it('direct invokes are the operator: any namespace, tenant from the request', async () => {
    const { storage, options } = storageFor('s3', 'other-ns', attacker.url);
    attacker.reset();
    const result = (await handlers.check({ storage, options, tenant: 'a' } as never, lambdaContext())) as {
      status: { phase: string; conditions: { type: string; status: string }[] };
    };
    expect(result.status.conditions.find((c) => c.type === 'BackendSecretFound')?.status).toBe('True');
    expect(attacker.connections()).toBeGreaterThan(0);
  });
});
