/**
 * Attack class 3, where a secret may go: a caller (or a server the caller does not control but the
 * storage names) points an endpoint at a server the caller runs, to collect what the function sends
 * there — B2's Basic key id and key, Azure's SAS, Swift's tokens, GCS's access token, S3's access key
 * id and the function's own AWS session. With ENDPOINT_ALLOWED_HOSTS set, every storage connection
 * outside the list is refused before a byte leaves, whichever field named it: options.endpoint, a
 * manifest's endpoint, a secret's auth or storage URL, a Keystone catalog, B2's authorize answer. The
 * attacker's listener (test/support/recording-listener.ts) records every byte: it must see no
 * connection at all, and the deployment's own servers, which are listed, still work (Ready).
 * Real handlers, direct invokes (the operator) and HMAC-signed HTTP on a deployed stage.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployStage, leaked, signedEvent } from './support/attack.js';
import {
  TARGETS,
  freshLocation,
  secretDir,
  swiftStorageOrigin,
  type HardeningTarget,
} from './support/hardening-targets.js';
import { lambdaContext, parseHttpResult } from './support/lambda.js';
import { writeSecret } from './support/mounted-secret.js';
import { startRecordingListener, type RecordingListener } from './support/recording-listener.js';

const stage = await deployStage();
const handlers = {
  initialize: (await import('../functions/initialize.js')).handler,
  check: (await import('../functions/check.js')).handler,
  inventory: (await import('../functions/inventory.js')).handler,
};
type Op = keyof typeof handlers;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  hint?: string;
}
interface Result {
  status: { phase: string; conditions: Condition[] };
}

/** Figures for the report: attacks tried, connections and secret values that reached the attacker. */
const figures = { attacks: 0, attackerConnections: 0, attackerBytes: 0, leakedValues: 0 };
/** Tokens the treacherous (listed) auth server hands out: searched for on the attacker's side too. */
const TOKEN = `tok${randomBytes(12).toString('hex')}`;

let attacker: RecordingListener;
/** A listed server that authenticates, then hands back URLs on the attacker's listener. */
let treacherous: { server: Server; url: string; hits: number };
let listed: string;

function startTreacherous(attackerUrl: string): Promise<typeof treacherous> {
  const state = { hits: 0 } as typeof treacherous;
  state.server = createServer((req, res) => {
    state.hits += 1;
    req.resume();
    const path = req.url ?? '/';
    if (path.startsWith('/auth/v1.0')) {
      res.writeHead(200, { 'x-auth-token': TOKEN, 'x-storage-url': `${attackerUrl}/v1/AUTH_victim` }).end();
    } else if (path.startsWith('/v3/auth/tokens')) {
      res.writeHead(201, { 'x-subject-token': TOKEN, 'content-type': 'application/json' }).end(
        JSON.stringify({
          token: {
            expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            catalog: [
              {
                type: 'object-store',
                endpoints: [
                  {
                    interface: 'public',
                    region_id: 'RegionOne',
                    region: 'RegionOne',
                    url: `${attackerUrl}/v1/AUTH_p`,
                  },
                ],
              },
            ],
          },
        }),
      );
    } else if (path.includes('b2_authorize_account')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          accountId: 'victim',
          authorizationToken: TOKEN,
          apiUrl: attackerUrl,
          downloadUrl: attackerUrl,
          allowed: {
            capabilities: [
              'listBuckets',
              'listFiles',
              'readFiles',
              'writeFiles',
              'deleteFiles',
              'writeBuckets',
            ],
            bucketId: null,
            bucketName: null,
            namePrefix: null,
          },
          recommendedPartSize: 100_000_000,
          absoluteMinimumPartSize: 5_000_000,
        }),
      );
    } else res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    state.server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
      resolve(state);
    }),
  );
}

/** Every secret value a provider's working secret holds, for the leak search. */
const secretValues: string[] = [TOKEN];

beforeAll(async () => {
  attacker = await startRecordingListener();
  treacherous = await startTreacherous(attacker.url);
  const hosts = new Set(TARGETS.map((target) => new URL(target.upstream()).host));
  hosts.add(new URL(swiftStorageOrigin()).host);
  hosts.add(new URL(treacherous.url).host);
  listed = [...hosts].join(',');
  // Read by the guard on every connection; the handlers validated the (unset) setting at import.
  process.env.ENDPOINT_ALLOWED_HOSTS = listed;
  for (const target of TARGETS) {
    const values = target.secrets();
    secretValues.push(...Object.values(values).filter((value) => value.length >= 6));
    await writeSecret(join(stage.secretsRoot, 'a', 'demo', `${target.provider}-real`), values);
  }
});
afterAll(async () => {
  await attacker.close();
  await new Promise<void>((resolve) => treacherous.server.close(() => resolve()));
  console.log(
    `[attack.endpoints] attacks: ${figures.attacks}, connections to the attacker: ${figures.attackerConnections}, bytes received: ${figures.attackerBytes}, secret values leaked: ${figures.leakedValues}`,
  );
});

async function direct(op: Op, body: Record<string, unknown>): Promise<Result> {
  return (await handlers[op](body as never, lambdaContext(30_000))) as Result;
}

async function http(op: Op, body: Record<string, unknown>): Promise<Result> {
  const { statusCode, json } = parseHttpResult(
    await handlers[op](signedEvent(body, `/v1/${op}`) as never, lambdaContext(30_000)),
  );
  expect(statusCode, JSON.stringify(json)).toBe(200);
  return json as Result;
}

/** A target's request over HTTP: no explicit reference, the Secret by name through CREDENTIALS_SOURCE. */
function httpBody(target: HardeningTarget, base?: string): Record<string, unknown> {
  const body = target.request(freshLocation(`ep-${target.provider}`), 'unused', base) as {
    storage: { spec: { storage: Record<string, Record<string, unknown>> } };
    credentials?: string;
  };
  delete body.credentials;
  const block = body.storage.spec.storage[target.provider] as Record<string, unknown>;
  block.secretName = `${target.provider}-real`;
  return body;
}

async function directBody(target: HardeningTarget, base?: string): Promise<Record<string, unknown>> {
  return target.request(freshLocation(`ep-${target.provider}`), await secretDir(target.secrets()), base);
}

function refusal(result: Result): Condition | undefined {
  return result.status.conditions.find(
    (condition) => condition.reason === 'InvalidConfig' && /not allowed/.test(condition.message),
  );
}

/** Runs one attack: the result must name the refusal, and the attacker must have seen nothing. */
async function attack(where: string, run: () => Promise<Result>, expected: RegExp): Promise<Result> {
  attacker.reset();
  figures.attacks += 1;
  const result = await run();
  const text = attacker.text();
  figures.attackerConnections += attacker.connections();
  figures.attackerBytes += text.length;
  const leaks = leaked([...secretValues, ...stage.secretValues], text);
  figures.leakedValues += leaks.length;
  const conditions = JSON.stringify(result.status.conditions);
  expect(result.status.phase, where).toBe('NotReady');
  expect(conditions, where).toMatch(expected);
  expect(
    result.status.conditions.map((condition) => condition.reason),
    where,
  ).not.toContain('Unknown');
  expect(attacker.connections(), `${where}: connections to the attacker`).toBe(0);
  expect(text, where).toBe('');
  expect(leaks, where).toEqual([]);
  return result;
}

const notListed = (): RegExp =>
  new RegExp(`host 127\\.0\\.0\\.1:${attacker.port} is not in ENDPOINT_ALLOWED_HOSTS`);

describe('caller-named endpoints outside ENDPOINT_ALLOWED_HOSTS', () => {
  describe.each(TARGETS.map((target) => [target.provider, target] as const))('%s', (_name, target) => {
    it.each(['initialize', 'check', 'inventory'] as const)(
      '%s: options.endpoint (or the manifest’s endpoint) on the attacker is refused before any connection, direct and over HTTP',
      async (op) => {
        const viaDirect = await attack(
          `${target.provider} ${op} direct`,
          async () => direct(op, await directBody(target, attacker.url)),
          notListed(),
        );
        // The hint names the setting and the value that would allow it.
        expect(refusal(viaDirect)?.hint).toContain(
          `add 127.0.0.1:${attacker.port} to ENDPOINT_ALLOWED_HOSTS`,
        );
        await attack(
          `${target.provider} ${op} http`,
          () => http(op, httpBody(target, attacker.url)),
          notListed(),
        );
      },
    );

    it('its listed server still works: initialize and check are Ready, direct and over HTTP', async () => {
      const body = await directBody(target);
      expect((await direct('initialize', body)).status.phase).toBe('Ready');
      const checked = await direct('check', body);
      expect(checked.status.phase, JSON.stringify(checked.status.conditions)).toBe('Ready');
      const overHttp = httpBody(target);
      expect((await http('initialize', overHttp)).status.phase).toBe('Ready');
      const checkedHttp = await http('check', overHttp);
      expect(checkedHttp.status.phase, JSON.stringify(checkedHttp.status.conditions)).toBe('Ready');
    });
  });
});

describe('endpoints named by secrets and handed back by servers', () => {
  const swift = TARGETS.find((target) => target.provider === 'swift') as HardeningTarget;
  const b2 = TARGETS.find((target) => target.provider === 'b2') as HardeningTarget;
  const azure = TARGETS.find((target) => target.provider === 'azure') as HardeningTarget;

  async function withSecret(target: HardeningTarget, values: Record<string, string>): Promise<Result> {
    const body = target.request(freshLocation(`ep-${target.provider}`), await secretDir(values));
    return direct('check', body);
  }

  it('Swift v1: ST_AUTH on the attacker', async () => {
    await attack(
      'swift ST_AUTH',
      () =>
        withSecret(swift, { ST_AUTH: `${attacker.url}/auth/v1.0`, ST_USER: 'test:tester', ST_KEY: 'k3y-v1' }),
      notListed(),
    );
  });

  it('Swift v1: a listed auth server hands back a storage URL on the attacker; the token never goes there', async () => {
    const before = treacherous.hits;
    await attack(
      'swift storage URL',
      () =>
        withSecret(swift, {
          ST_AUTH: `${treacherous.url}/auth/v1.0`,
          ST_USER: 'test:tester',
          ST_KEY: 'k3y-v1',
        }),
      notListed(),
    );
    expect(treacherous.hits).toBeGreaterThan(before);
  });

  it('Keystone v3: OS_AUTH_URL on the attacker, and a listed Keystone whose catalog points at it', async () => {
    const keystone = {
      OS_USERNAME: 'backup',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PASSWORD: 'keystone-password',
      OS_PROJECT_NAME: 'backups',
      OS_PROJECT_DOMAIN_NAME: 'Default',
    };
    secretValues.push(keystone.OS_PASSWORD);
    await attack(
      'keystone auth URL',
      () => withSecret(swift, { ...keystone, OS_AUTH_URL: `${attacker.url}/v3` }),
      notListed(),
    );
    const before = treacherous.hits;
    await attack(
      'keystone catalog',
      () => withSecret(swift, { ...keystone, OS_AUTH_URL: `${treacherous.url}/v3` }),
      notListed(),
    );
    expect(treacherous.hits).toBeGreaterThan(before);
  });

  it('Swift token mode: OS_STORAGE_URL on the attacker', async () => {
    await attack(
      'swift token',
      () => withSecret(swift, { OS_AUTH_TOKEN: TOKEN, OS_STORAGE_URL: `${attacker.url}/v1/AUTH_victim` }),
      notListed(),
    );
  });

  it('B2: a listed authorize server hands back API and download URLs on the attacker', async () => {
    const before = treacherous.hits;
    await attack(
      'b2 apiUrl',
      async () =>
        direct(
          'check',
          await (async () => {
            const body = b2.request(
              freshLocation('ep-b2'),
              await secretDir({ B2_ACCOUNT_ID: 'victim-key-id', B2_ACCOUNT_KEY: 'victim-application-key' }),
            ) as { options: Record<string, unknown> };
            body.options.endpoint = treacherous.url;
            return body as Record<string, unknown>;
          })(),
        ),
      notListed(),
    );
    expect(treacherous.hits).toBeGreaterThan(before);
  });

  it('Azure: AZURE_ENDPOINT_SUFFIX names an unlisted host, refused before DNS', async () => {
    const values = azure.secrets();
    const body = azure.request(
      freshLocation('ep-azure'),
      await secretDir({ ...values, AZURE_ENDPOINT_SUFFIX: 'attacker.invalid' }),
    ) as {
      options: Record<string, unknown>;
    };
    delete body.options.endpoint;
    await attack(
      'azure suffix',
      () => direct('check', body as Record<string, unknown>),
      /is not in ENDPOINT_ALLOWED_HOSTS/,
    );
  });
});

describe('S3 with the function’s own AWS role', () => {
  const s3 = TARGETS.find((target) => target.provider === 's3') as HardeningTarget;
  const ROLE = {
    AWS_ACCESS_KEY_ID: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    AWS_SECRET_ACCESS_KEY: randomBytes(20).toString('hex'),
    AWS_SESSION_TOKEN: `role-session-${randomBytes(24).toString('hex')}`,
  };

  async function withRole<T>(
    role: Record<string, string>,
    hosts: string | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    const saved = { ...process.env };
    Object.assign(process.env, role);
    if (hosts === undefined) delete process.env.ENDPOINT_ALLOWED_HOSTS;
    else process.env.ENDPOINT_ALLOWED_HOSTS = hosts;
    try {
      return await run();
    } finally {
      process.env = saved;
    }
  }

  function roleRequest(endpointBase: string, credentials?: string): Record<string, unknown> {
    const body = s3.request(freshLocation('ep-role'), 'unused', endpointBase) as Record<string, unknown>;
    if (credentials) body.credentials = credentials;
    else delete body.credentials;
    return body;
  }

  it('without a secret (or with an `env` reference to the role’s keys), a custom endpoint gets nothing unless listed by name', async () => {
    secretValues.push(...Object.values(ROLE));
    // No list at all: "any host" is not a statement that the deployment trusts this one with its role.
    for (const [label, credentials] of [
      ['credential-less', undefined],
      ['env reference', 'env'],
    ] as const) {
      await withRole(ROLE, undefined, () =>
        attack(
          `s3 role ${label}`,
          () => direct('check', roleRequest(attacker.url, credentials)),
          /function's own AWS credentials are not sent/,
        ),
      );
    }
  });

  it('listed by name, the role is used (s3rver accepts the environment’s keys): Ready', async () => {
    const server = s3.secrets();
    const role = {
      AWS_ACCESS_KEY_ID: server.AWS_ACCESS_KEY_ID as string,
      AWS_SECRET_ACCESS_KEY: server.AWS_SECRET_ACCESS_KEY as string,
    };
    await withRole(role, listed, async () => {
      const body = roleRequest(s3.upstream());
      expect((await direct('initialize', body)).status.phase).toBe('Ready');
      expect((await direct('check', body)).status.phase).toBe('Ready');
    });
  });
});
