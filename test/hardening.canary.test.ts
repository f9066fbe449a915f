/**
 * Secrets never leak: a distinct canary in every secret field of every provider (and in RESTIC_PASSWORD,
 * the webhook's WEBHOOK_SECRET, the function's own AWS keys), then every function through every path —
 * success with the real credentials beside the canaries, wrong key (the canary is the key), unreachable
 * endpoint, missing bucket, restic's wrong password — as direct and HTTP events, each result sent to a
 * real webhook receiver and to the SQS contract fake, plus a scheduled fleet check. Every log line
 * (Powertools at DEBUG, console, stdout/stderr), response, status, webhook request and queue message is
 * searched for the canaries in every encoded form (test/support/canaries.ts): none may appear.
 * Real servers: s3rver, azurite, Swift all-in-one (with the Keystone contract fake), GCS and B2 contract fakes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAwsJsonEndpoint, type AwsJsonEndpoint } from './fakes/aws-json.js';
import { fakeGcsControl } from './fakes/gcs.js';
import { startKeystoneFake, KEYSTONE_IDENTITY, type KeystoneFake } from './fakes/keystone.js';
import { SqsFake } from './fakes/sqs.js';
import { useFakeAwsEnvironment } from './support/aws-env.js';
import { Canaries, type Leak } from './support/canaries.js';
import { TARGETS, freshLocation, type HardeningTarget, type Location } from './support/hardening-targets.js';
import { httpEvent, lambdaContext } from './support/lambda.js';
import { secretDir, secretsRoot } from './support/mounted-secret.js';
import { captureOutput, type OutputCapture } from './support/output-capture.js';
import { freePort } from './support/process.js';
import { serverInfo } from './support/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const canaries = new Canaries();

// Everything at DEBUG, so every log line that could carry a secret is written (and captured).
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
// The deployment's template, for the fleet's secretName lookups; read at cold start.
const fleetSecrets = await secretsRoot('leak-fleet');
process.env.CREDENTIALS_SOURCE = fleetSecrets.source;
// What is under test is what leaves the process, not speed: on a loaded machine every call gets the
// invocation's whole time (INVOCATION_MS) instead of the default 25 s bound.
process.env.DEFAULT_TIMEOUT_SECONDS = '85';
const INVOCATION_MS = 90_000;

const handlers = {
  initialize: (await import('../functions/initialize.js')).handler,
  check: (await import('../functions/check.js')).handler,
  inventory: (await import('../functions/inventory.js')).handler,
  cleanup: (await import('../functions/cleanup.js')).handler,
};
const { handler: scheduledCheck } = await import('../functions/scheduledCheck.js');
type OpName = keyof typeof handlers;
type Via = 'direct' | 'http';

interface Outcome {
  statusCode?: number;
  status?: { phase: string; conditions: { type: string; reason: string; message: string }[] };
  delivery?: {
    webhook?: { delivered: boolean };
    sqs?: { delivered: boolean };
    /** The request's own targets (notify), beside the deployment's (lib/delivery/deliver.ts). */
    requested?: { webhook?: { delivered: boolean }; sqs?: { delivered: boolean } };
  };
  [field: string]: unknown;
}

/** Every text that left the functions, with where it came from; searched case by case and at the end. */
const outputs: { where: string; text: string }[] = [];
let capture: OutputCapture;
let receiver: WebhookReceiver;
let aws: AwsJsonEndpoint;
const sqs = new SqsFake();
let queueUrl: string;
let notify: Record<string, unknown>;
let closedBase: string;

function leaksIn(where: string, text: string): Leak[] {
  outputs.push({ where, text });
  return canaries.find(text, where);
}

function expectNoLeak(where: string, text: string): void {
  expect(leaksIn(where, text), where).toEqual([]);
}

/** A KubeStash restic repository below the prefix, so RESTIC_PASSWORD is used (cheap scrypt). */
const repositories = [{ path: 'demo/app' }];
const kdf = { N: 1024, r: 8, p: 1 };

/** A handler that threw: the error is checked for canaries, then fails the test. */
function thrown(where: string, error: unknown): never {
  expectNoLeak(`${where} thrown`, `${inspect(error, { depth: 20 })}\n${JSON.stringify(error)}`);
  throw error;
}

/** Over HTTP only the deployment chooses signing secrets (NOTIFY_WEBHOOK_SECRET_REF, set in beforeAll). */
function withoutSigningSecret(body: Record<string, unknown>): Record<string, unknown> {
  const requested = body.notify as { webhook?: { url: string; secret?: string } } | undefined;
  if (!requested?.webhook?.secret) return body;
  return { ...body, notify: { ...requested, webhook: { url: requested.webhook.url } } };
}

/** Runs one function as a direct or an HTTP event; the whole response is checked for canaries. */
async function invoke(op: OpName, body: Record<string, unknown>, via: Via, label: string): Promise<Outcome> {
  const where = `${label} ${op} (${via})`;
  const withNotify = { notify, ...body };
  const logsFrom = capture.chunks.length;
  let outcome: Outcome;
  if (via === 'http') {
    const response = (await handlers[op](
      httpEvent(withoutSigningSecret(withNotify), `/v1/${op}`) as never,
      lambdaContext(INVOCATION_MS),
    ).catch((error: unknown) => thrown(where, error))) as {
      statusCode: number;
      headers?: unknown;
      body: string;
    };
    expectNoLeak(`${where} response`, JSON.stringify(response));
    outcome = { ...(JSON.parse(response.body) as Outcome), statusCode: response.statusCode };
  } else {
    outcome = (await handlers[op](withNotify as never, lambdaContext(INVOCATION_MS)).catch((error: unknown) =>
      thrown(where, error),
    )) as Outcome;
    expectNoLeak(`${where} result`, `${JSON.stringify(outcome)}\n${inspect(outcome, { depth: 20 })}`);
  }
  // Lines written meanwhile (concurrent cases interleave; the last test searches every line once more).
  expectNoLeak(`${where} logs`, capture.chunks.slice(logsFrom).join(''));
  return outcome;
}

function reasons(outcome: Outcome): string[] {
  return (outcome.status?.conditions ?? []).map((condition) => condition.reason);
}

/** The result went to both sinks (so the webhook and queue paths ran with this status). */
function expectDelivered(outcome: Outcome, where: string): void {
  const sinks = outcome.delivery?.requested ?? outcome.delivery;
  expect(sinks?.webhook?.delivered, `${where}: ${JSON.stringify(outcome.delivery)}`).toBe(true);
  expect(sinks?.sqs?.delivered, `${where}: ${JSON.stringify(outcome.delivery)}`).toBe(true);
}

// ---- canaries per provider -------------------------------------------------------------------------------

/** A PEM-shaped canary (CA_CERT_DATA): only used for https endpoints, so it breaks nothing here. */
function pemCanary(provider: string): string {
  const value = canaries.make(provider, 'CA_CERT_DATA');
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(value).toString('base64')}\n-----END CERTIFICATE-----\n`;
}

/** A working GCS service-account key whose identifying fields are canaries; the fake trusts it when asked. */
function gcsKey(trusted: boolean): { json: string; trust: () => Promise<void> } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // The key's body lines are secrets too.
  for (const [index, line] of pem.split('\n').slice(1, -2).entries())
    if (index % 4 === 1) canaries.watch(`gcs:private_key line ${index}`, line);
  const email = `${canaries.make('gcs', trusted ? 'client_email' : 'untrusted_client_email')}@canary.iam.gserviceaccount.com`;
  const key = {
    type: 'service_account',
    project_id: serverInfo('gcs-fake').projectId,
    private_key_id: canaries.make('gcs', 'private_key_id'),
    private_key: pem,
    client_email: email,
    client_id: canaries.make('gcs', 'client_id'),
    // Its own universe: the SDK signs its own JWTs instead of asking Google's token endpoint.
    universe_domain: 'fake.test',
  };
  return {
    json: JSON.stringify(key),
    trust: () =>
      fakeGcsControl(serverInfo('gcs-fake').endpoint as string).trustKey(
        email,
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ),
  };
}

/** Canaries in the fields a provider's adapter does not use for the chosen mode (and other providers' fields). */
function bystanders(provider: string): Record<string, string> {
  const foreign: Record<string, string> = {
    s3: 'AWS_SECRET_ACCESS_KEY',
    azure: 'AZURE_ACCOUNT_KEY',
    b2: 'B2_ACCOUNT_KEY',
    swift: 'OS_PASSWORD',
  };
  const bag: Record<string, string> = {
    RESTIC_PASSWORD: canaries.make(provider, 'RESTIC_PASSWORD'),
    WEBHOOK_SECRET: canaries.make(provider, 'WEBHOOK_SECRET'),
    REST_SERVER_PASSWORD: canaries.make(provider, 'REST_SERVER_PASSWORD'),
  };
  for (const [owner, key] of Object.entries(foreign)) {
    if (owner !== provider) bag[key] = canaries.make(`${provider}-foreign`, key);
  }
  return bag;
}

interface WrongKey {
  label: string;
  secrets: Record<string, string>;
  options?: Record<string, unknown>;
  /** Another server to send the request to (origin). */
  base?: string;
}

interface ProviderPlan {
  /** Real credentials plus canaries in every field that mode leaves unused. */
  success(): Promise<Record<string, string>>;
  /** Ways to be refused, each with the canary as the key. */
  wrongKeys(): Promise<WrongKey[]>;
}

let keystone: KeystoneFake;

const PLANS: Record<HardeningTarget['provider'], ProviderPlan> = {
  s3: {
    success: async () => ({
      ...TARGETS[0]!.secrets(),
      CA_CERT_DATA: pemCanary('s3'),
      ...bystanders('s3'),
    }),
    wrongKeys: async (): Promise<WrongKey[]> => {
      // s3rver does not verify SigV4 signatures; Swift's s3api (the all-in-one) does.
      const s3api = serverInfo('swift');
      return [
        {
          label: 'secret access key and session token (s3api)',
          base: s3api.s3Endpoint as string,
          secrets: {
            AWS_ACCESS_KEY_ID: s3api.s3AccessKey as string,
            AWS_SECRET_ACCESS_KEY: canaries.make('s3', 'AWS_SECRET_ACCESS_KEY'),
            AWS_SESSION_TOKEN: canaries.make('s3', 'AWS_SESSION_TOKEN'),
          },
        },
        {
          label: 'secret access key (s3api)',
          base: s3api.s3Endpoint as string,
          secrets: {
            AWS_ACCESS_KEY_ID: s3api.s3AccessKey as string,
            AWS_SECRET_ACCESS_KEY: canaries.make('s3', 'AWS_SECRET_ACCESS_KEY'),
          },
        },
        {
          label: 'access key id (s3rver)',
          secrets: {
            AWS_ACCESS_KEY_ID: canaries.make('s3', 'AWS_ACCESS_KEY_ID').toUpperCase(),
            AWS_SECRET_ACCESS_KEY: canaries.make('s3', 'AWS_SECRET_ACCESS_KEY'),
          },
        },
      ];
    },
  },
  azure: {
    success: async () => ({
      ...TARGETS[1]!.secrets(),
      // Shared key wins; the SAS is present but unused.
      AZURE_ACCOUNT_SAS: azureSas(),
      ...bystanders('azure'),
    }),
    wrongKeys: async (): Promise<WrongKey[]> => [
      { label: 'account key', secrets: { AZURE_ACCOUNT_KEY: azureKey() } },
      { label: 'SAS', secrets: { AZURE_ACCOUNT_SAS: azureSas() } },
    ],
  },
  gcs: {
    success: async () => {
      const key = gcsKey(true);
      await key.trust();
      return {
        GOOGLE_PROJECT_ID: serverInfo('gcs-fake').projectId as string,
        GOOGLE_SERVICE_ACCOUNT_JSON_KEY: key.json,
        ...bystanders('gcs'),
      };
    },
    wrongKeys: async (): Promise<WrongKey[]> => [
      {
        label: 'untrusted service account',
        secrets: { GOOGLE_SERVICE_ACCOUNT_JSON_KEY: gcsKey(false).json },
      },
      {
        label: 'private_key not PEM',
        secrets: {
          GOOGLE_SERVICE_ACCOUNT_JSON_KEY: JSON.stringify({
            type: 'service_account',
            client_email: 'holder@leak.iam.gserviceaccount.com',
            private_key: canaries.make('gcs', 'private_key'),
          }),
        },
      },
      {
        label: 'malformed JSON',
        secrets: {
          GOOGLE_SERVICE_ACCOUNT_JSON_KEY: `{"type": "service_account", "private_key": "${canaries.make('gcs', 'malformed_private_key')}", `,
        },
      },
    ],
  },
  swift: {
    success: async () => ({
      ...TARGETS[3]!.secrets(),
      CA_CERT_DATA: pemCanary('swift'),
      // Each of these alone leaves its mode incomplete, so v1 (ST_*) is chosen.
      OS_PASSWORD: canaries.make('swift', 'OS_PASSWORD'),
      OS_APPLICATION_CREDENTIAL_SECRET: canaries.make('swift', 'OS_APPLICATION_CREDENTIAL_SECRET'),
      OS_AUTH_TOKEN: canaries.make('swift', 'OS_AUTH_TOKEN'),
      ...bystanders('swift'),
    }),
    wrongKeys: async (): Promise<WrongKey[]> => [
      { label: 'v1 key', secrets: { ...TARGETS[3]!.secrets(), ST_KEY: canaries.make('swift', 'ST_KEY') } },
      {
        label: 'token',
        secrets: {
          OS_AUTH_TOKEN: canaries.make('swift', 'OS_AUTH_TOKEN'),
          OS_STORAGE_URL: serverInfo('swift').storageUrl as string,
        },
      },
      {
        label: 'Keystone v3 password',
        secrets: {
          OS_AUTH_URL: `${keystone.url}/v3`,
          OS_USERNAME: KEYSTONE_IDENTITY.user.name,
          OS_USER_DOMAIN_NAME: KEYSTONE_IDENTITY.domain.name,
          OS_PROJECT_NAME: KEYSTONE_IDENTITY.project.name,
          OS_PROJECT_DOMAIN_NAME: KEYSTONE_IDENTITY.domain.name,
          OS_PASSWORD: canaries.make('swift', 'OS_PASSWORD'),
        },
      },
      {
        label: 'Keystone v2 password',
        secrets: {
          OS_AUTH_URL: `${keystone.url}/v2.0`,
          OS_USERNAME: KEYSTONE_IDENTITY.user.name,
          OS_TENANT_NAME: KEYSTONE_IDENTITY.project.name,
          OS_PASSWORD: canaries.make('swift', 'OS_PASSWORD'),
        },
      },
      {
        label: 'application credential',
        secrets: {
          OS_AUTH_URL: `${keystone.url}/v3`,
          OS_APPLICATION_CREDENTIAL_ID: KEYSTONE_IDENTITY.applicationCredential.id,
          OS_APPLICATION_CREDENTIAL_SECRET: canaries.make('swift', 'OS_APPLICATION_CREDENTIAL_SECRET'),
        },
      },
    ],
  },
  b2: {
    success: async () => ({ ...TARGETS[4]!.secrets(), ...bystanders('b2') }),
    wrongKeys: async (): Promise<WrongKey[]> => [
      {
        label: 'application key',
        secrets: {
          B2_ACCOUNT_ID: serverInfo('b2-fake').accountId as string,
          B2_ACCOUNT_KEY: canaries.make('b2', 'B2_ACCOUNT_KEY'),
        },
      },
      {
        label: 'key id and key',
        secrets: {
          B2_ACCOUNT_ID: canaries.make('b2', 'B2_ACCOUNT_ID'),
          B2_ACCOUNT_KEY: canaries.make('b2', 'B2_ACCOUNT_KEY'),
        },
      },
    ],
  },
};

/** An account key must be base64 for the SDK: the canary, encoded (both forms are watched). */
function azureKey(): string {
  return Buffer.from(canaries.make('azure', 'AZURE_ACCOUNT_KEY')).toString('base64');
}

function azureSas(): string {
  const sig = canaries.make('azure', 'AZURE_ACCOUNT_SAS');
  return `sv=2022-11-02&ss=b&srt=sco&sp=rwdlacx&se=2099-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https,http&sig=${sig}`;
}

// ---- the test run --------------------------------------------------------------------------------------

beforeAll(async () => {
  aws = await startAwsJsonEndpoint([sqs]);
  useFakeAwsEnvironment(aws.url);
  // The function's own AWS keys (used for SQS) are secrets too.
  process.env.AWS_SECRET_ACCESS_KEY = canaries.make('lambda', 'AWS_SECRET_ACCESS_KEY');
  process.env.AWS_SESSION_TOKEN = canaries.make('lambda', 'AWS_SESSION_TOKEN');
  sqs.handle('CreateQueue', { QueueName: 'bsf-leak-status' }, aws.url);
  queueUrl = `${aws.url}/000000000000/bsf-leak-status`;
  receiver = await startWebhookReceiver();
  const webhookSecret = await secretDir({ WEBHOOK_SECRET: canaries.make('webhook', 'WEBHOOK_SECRET') });
  notify = { webhook: { url: `${receiver.url}/status`, secret: webhookSecret }, sqs: { queueUrl } };
  process.env.NOTIFY_WEBHOOK_SECRET_REF = webhookSecret;
  closedBase = `http://127.0.0.1:${await freePort()}`;
  const swift = serverInfo('swift');
  keystone = await startKeystoneFake({
    swiftAuthUrl: swift.authUrl as string,
    swiftUser: swift.user as string,
    swiftKey: swift.key as string,
  });
  capture = captureOutput();
});

afterAll(async () => {
  capture?.restore();
  await keystone?.close();
  await receiver?.close();
  await aws?.close();
});

/** A request for `target` at `location`, with `secrets` as a mounted Secret and extra options. */
async function requestFor(
  target: HardeningTarget,
  location: Location,
  secrets: Record<string, string>,
  options: Record<string, unknown> = {},
  base?: string,
): Promise<Record<string, unknown>> {
  const body = target.request(location, await secretDir(secrets, `leak-${target.provider}`), base);
  const { createBucket: _ignored, ...rest } = body.options as Record<string, unknown>;
  return { ...body, options: { ...rest, ...options } };
}

const VIAS: Via[] = ['direct', 'http'];
const FAILED = ['Unauthenticated', 'PermissionDenied', 'InvalidConfig'];

describe.concurrent.each(TARGETS.map((target) => [target.provider, target] as const))(
  '%s: canaries in every secret field',
  (provider, target) => {
    const plan = PLANS[provider];

    it(
      'success: initialize, check, inventory, cleanup (direct and HTTP) leak nothing',
      { timeout: 300_000 },
      async () => {
        const location = freshLocation(`leak-${provider}`);
        const secrets = await plan.success();
        const label = `${provider} success`;
        for (const via of VIAS) {
          const initialized = await invoke(
            'initialize',
            await requestFor(target, location, secrets, { createBucket: true, repositories, kdf }),
            via,
            label,
          );
          expect(initialized.status?.phase, JSON.stringify(initialized.status)).toBe('Ready');
          expectDelivered(initialized, `${label} initialize`);
          const checked = await invoke(
            'check',
            await requestFor(target, location, secrets, { repositories, inventory: true }),
            via,
            label,
          );
          expect(checked.status?.phase, JSON.stringify(checked.status)).toBe('Ready');
          expectDelivered(checked, `${label} check`);
          const inventoried = await invoke(
            'inventory',
            await requestFor(target, location, secrets),
            via,
            label,
          );
          expect(inventoried.status?.phase, JSON.stringify(inventoried.status)).toBe('Ready');
          expectDelivered(inventoried, `${label} inventory`);
        }
        // The wrong repository password (a canary too) on the repository just written.
        const wrongPassword = {
          ...secrets,
          RESTIC_PASSWORD: canaries.make(provider, 'WRONG_RESTIC_PASSWORD'),
        };
        for (const via of VIAS) {
          const checked = await invoke(
            'check',
            await requestFor(target, location, wrongPassword, { repositories }),
            via,
            `${provider} wrong restic password`,
          );
          const status = checked.status as
            { repositories?: { conditions: { reason: string }[] }[] } | undefined;
          const repository = status?.repositories?.[0];
          expect(
            repository?.conditions.map((c) => c.reason),
            JSON.stringify(checked.status),
          ).toContain('WrongPassword');
          expectDelivered(checked, `${provider} wrong restic password check`);
        }
        for (const via of VIAS) {
          const cleaned = await invoke(
            'cleanup',
            await requestFor(target, location, secrets, { confirm: `${location.bucket}/${location.prefix}` }),
            via,
            label,
          );
          if (provider === 'b2') {
            // Stash forbids wiping a b2 storage: refused before anything runs.
            expect(cleaned.statusCode ?? 403).toBe(403);
          } else {
            expect(cleaned.status?.phase, JSON.stringify(cleaned.status)).toBe('Ready');
            expectDelivered(cleaned, `${label} cleanup`);
          }
        }
      },
    );

    it(
      'wrong key (the canary is the key): every function, direct and HTTP, leaks nothing',
      { timeout: 300_000 },
      async () => {
        const location = freshLocation(`leak-${provider}-key`);
        for (const wrong of await plan.wrongKeys()) {
          // The repository password is in play on the failure paths too.
          const variant = {
            ...wrong,
            secrets: { ...wrong.secrets, RESTIC_PASSWORD: canaries.make(provider, 'RESTIC_PASSWORD') },
          };
          const label = `${provider} wrong ${variant.label}`;
          for (const via of VIAS) {
            for (const op of ['initialize', 'check'] as const) {
              const outcome = await invoke(
                op,
                await requestFor(
                  target,
                  location,
                  variant.secrets,
                  {
                    ...(op === 'initialize' ? { createBucket: true, repositories, kdf } : {}),
                    ...variant.options,
                  },
                  variant.base,
                ),
                via,
                label,
              );
              expect(outcome.status?.phase, `${label} ${op}`).toBe('NotReady');
              expect(
                reasons(outcome).some((reason) => FAILED.includes(reason)),
                `${label} ${op}: ${JSON.stringify(outcome.status)}`,
              ).toBe(true);
              expectDelivered(outcome, `${label} ${op}`);
            }
          }
          // inventory and cleanup through the same refusal, once each way.
          const inventoried = await invoke(
            'inventory',
            await requestFor(target, location, variant.secrets, {}, variant.base),
            'direct',
            label,
          );
          expect(inventoried.status, label).toBeDefined();
          const cleaned = await invoke(
            'cleanup',
            await requestFor(
              target,
              location,
              variant.secrets,
              {
                confirm: `${location.bucket}/${location.prefix}`,
              },
              variant.base,
            ),
            'http',
            label,
          );
          expect(cleaned.statusCode, label).toBeLessThan(500);
        }
      },
    );

    it('unreachable endpoint and missing bucket: leak nothing', { timeout: 300_000 }, async () => {
      const secrets = await plan.success();
      const unreachable = freshLocation(`leak-${provider}-down`);
      for (const [op, via] of [
        ['initialize', 'direct'],
        ['check', 'http'],
      ] as const) {
        const body = await requestFor(
          target,
          unreachable,
          { ...secrets, ...(provider === 'swift' ? TARGETS[3]!.secrets(closedBase) : {}) },
          { timeoutSeconds: 4 },
          closedBase,
        );
        const outcome = await invoke(op, body, via, `${provider} unreachable`);
        expect(outcome.status?.phase).toBe('NotReady');
        expect(
          reasons(outcome).some((reason) => ['Unreachable', 'Timeout', 'Unavailable'].includes(reason)),
          JSON.stringify(outcome.status),
        ).toBe(true);
        expectDelivered(outcome, `${provider} unreachable ${op}`);
      }
      const missing = freshLocation(`leak-${provider}-none`);
      for (const via of VIAS) {
        for (const op of ['initialize', 'check', 'inventory'] as const) {
          const outcome = await invoke(
            op,
            await requestFor(target, missing, secrets),
            via,
            `${provider} missing bucket`,
          );
          expect(outcome.status?.phase, `${op}: ${JSON.stringify(outcome.status)}`).toBe('NotReady');
          expect(reasons(outcome), `${op}: ${JSON.stringify(outcome.status)}`).toContain('NotFound');
        }
      }
    });
  },
);

describe('scheduledCheck over a small fleet with canary secrets', () => {
  it(
    'checks every entry and leaks nothing in its output, webhook or queue',
    { timeout: 300_000 },
    async () => {
      const s3 = serverInfo('s3rver');
      const azurite = serverInfo('azurite');
      const good = await fleetSecrets.secret('demo', 's3-good', await PLANS.s3.success());
      await fleetSecrets.secret('demo', 's3-bad', {
        AWS_ACCESS_KEY_ID: s3.accessKeyId as string,
        AWS_SECRET_ACCESS_KEY: canaries.make('fleet', 'AWS_SECRET_ACCESS_KEY'),
      });
      await fleetSecrets.secret('demo', 'azure-bad', { AZURE_ACCOUNT_KEY: azureKey() });
      const entry = (
        name: string,
        storage: Record<string, unknown>,
        annotations?: Record<string, string>,
      ) => ({
        apiVersion: 'storage.kubestash.com/v1alpha1',
        kind: 'BackupStorage',
        metadata: { name, namespace: 'demo', ...(annotations ? { annotations } : {}) },
        spec: { storage, deletionPolicy: 'Delete' },
      });
      const s3Storage = (secretName: string) => ({
        provider: 's3',
        s3: {
          endpoint: s3.endpoint,
          bucket: s3.bucket,
          prefix: `leak-fleet/${secretName}`,
          region: 'us-east-1',
          secretName,
        },
      });
      const items = [
        entry('good', s3Storage('s3-good')),
        entry('bad', s3Storage('s3-bad')),
        entry(
          'azure-bad',
          {
            provider: 'azure',
            azure: { storageAccount: azurite.accountName, container: 'leak-fleet', secretName: 'azure-bad' },
          },
          { 'backupstorage-functions.io/endpoint': azurite.endpoint as string },
        ),
      ];
      const initialized = await invoke(
        'initialize',
        { storage: items[0], credentials: good },
        'direct',
        'fleet good',
      );
      expect(initialized.status?.phase, JSON.stringify(initialized.status)).toBe('Ready');
      const file = join(await mkdtemp(join(tmpdir(), 'bsf-leak-fleet-')), 'fleet.yaml');
      await writeFile(file, stringify({ apiVersion: 'v1', kind: 'List', items }));
      const hooksBefore = receiver.requests.length;
      Object.assign(process.env, {
        NOTIFY_WEBHOOK_URL: `${receiver.url}/fleet`,
        NOTIFY_WEBHOOK_SECRET_REF: (notify.webhook as { secret: string }).secret,
        NOTIFY_SQS_QUEUE_URL: queueUrl,
      });
      let output: unknown;
      try {
        output = await scheduledCheck(
          { fleet: `file:${file}` } as never,
          lambdaContext(INVOCATION_MS, 'scheduledCheck'),
        );
      } finally {
        delete process.env.NOTIFY_WEBHOOK_URL;
        delete process.env.NOTIFY_SQS_QUEUE_URL;
      }
      expectNoLeak('scheduledCheck output', `${JSON.stringify(output)}\n${inspect(output, { depth: 20 })}`);
      const results = (output as { results: { state: string; status?: { phase: string } }[] }).results;
      expect(results.map((result) => result.state)).toEqual(['checked', 'checked', 'checked']);
      expect(results.map((result) => result.status?.phase)).toEqual(['Ready', 'NotReady', 'NotReady']);
      // Each checked entry's status reached the webhook.
      expect(receiver.requests.length - hooksBefore).toBeGreaterThanOrEqual(3);
      expectNoLeak('scheduledCheck logs', capture.text());
    },
  );
});

describe('delivery that fails, with canary secrets in play', () => {
  it(
    'a refusing webhook and a missing queue: the failure reports leak nothing',
    { timeout: 300_000 },
    async () => {
      receiver.setFaults((_index, request) =>
        request.path === '/refuse' ? { kind: 'status', status: 401 } : undefined,
      );
      const target = TARGETS[0]!;
      const location = freshLocation('leak-delivery');
      const body = await requestFor(target, location, await PLANS.s3.success(), { createBucket: true });
      for (const via of VIAS) {
        const outcome = await invoke(
          'initialize',
          {
            ...body,
            notify: {
              webhook: {
                url: `${receiver.url}/refuse`,
                secret: (notify.webhook as { secret: string }).secret,
              },
              sqs: { queueUrl: `${aws.url}/000000000000/bsf-leak-absent` },
            },
          },
          via,
          's3 failed delivery',
        );
        expect(outcome.status?.phase).toBe('Ready');
        expect(outcome.delivery?.requested?.webhook?.delivered, JSON.stringify(outcome.delivery)).toBe(false);
        expect(outcome.delivery?.requested?.sqs?.delivered, JSON.stringify(outcome.delivery)).toBe(false);
      }
      expect(receiver.requests.some((request) => request.path === '/refuse')).toBe(true);
      expect(capture.text()).toContain('status not delivered');
    },
  );
});

describe('everything that left the process', () => {
  it('the search finds a canary in each form a leak takes', () => {
    const probe = new Canaries();
    const value = probe.make('probe', 'KEY');
    const random = value.slice(value.lastIndexOf('-') + 1);
    const forms = [
      `x ${value} y`,
      `q=${encodeURIComponent(`${value}&/`)}`,
      `b64 ${Buffer.from(value).toString('base64')}`,
      `hex ${Buffer.from(value).toString('hex')}`,
      `cut ${random.toUpperCase()}`,
      'truncated canary-pro',
    ];
    for (const text of forms) expect(probe.find(text, 'probe'), text).not.toEqual([]);
    expect(probe.find('nothing secret here', 'probe')).toEqual([]);
  });

  it('no canary in any log line, webhook request or queue message', () => {
    // The log capture saw the functions' own lines (Powertools JSON at DEBUG).
    const logs = capture.text();
    expect(logs.split('\n').filter((line) => line.startsWith('{')).length).toBeGreaterThan(50);
    expect(leaksIn('all logs', logs)).toEqual([]);
    expect(receiver.requests.length).toBeGreaterThan(100);
    for (const [index, request] of receiver.requests.entries()) {
      expect(
        leaksIn(`webhook ${index}`, `${request.path}\n${JSON.stringify(request.headers)}\n${request.body}`),
      ).toEqual([]);
    }
    const messages = sqs.queue('bsf-leak-status');
    expect(messages.length).toBeGreaterThan(100);
    for (const message of messages) expectNoLeak(`queue ${message.MessageId}`, JSON.stringify(message));
    // Every secret was in play: each canary label was made and searched for.
    expect(canaries.labels().length).toBeGreaterThan(60);
  });
});
