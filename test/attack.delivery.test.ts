/**
 * Attack class 4, delivery: a request names its own webhook or queue to (a) reach an address the
 * endpoint guard refuses — the SQS sink signs with the function's role and sends its session token to
 * the queue URL's host, so every spelling of loopback and of the unspecified address is tried — and
 * (b) keep an operation out of the deployment's audit trail by replacing the deployment's targets.
 * Neither works: request-named queues go through the guarded SQS client (0 connections to the
 * recording listener, bound on 127.0.0.1 and ::1 so any spelling would reach it), HTTP callers on a
 * deployed stage get only the targets the deployment lists, and the deployment's webhook and queue
 * receive every result, whatever the request says. Real handlers, a real webhook receiver, the SQS and
 * Secrets Manager contract fakes.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverResult, type DeliveryReport } from '../lib/delivery/deliver.js';
import type { OperationResult } from '../lib/status/result.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { startAwsJsonEndpoint } from './fakes/aws-json.js';
import { SecretsManagerFake } from './fakes/secretsmanager.js';
import { SqsFake } from './fakes/sqs.js';
import { deployStage, signedEvent, storageFor } from './support/attack.js';
import { useFakeAwsEnvironment } from './support/aws-env.js';
import { lambdaContext, parseHttpResult } from './support/lambda.js';
import { startRecordingListener } from './support/recording-listener.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const SESSION_TOKEN = `role-session-token-${Date.now().toString(36)}-canary`;
const sqs = new SqsFake();
const secrets = new SecretsManagerFake();
const aws = await startAwsJsonEndpoint([sqs, secrets]);
useFakeAwsEnvironment(aws.url);
process.env.AWS_SESSION_TOKEN = SESSION_TOKEN;
secrets.put('bsf/webhook', JSON.stringify({ WEBHOOK_SECRET: 'deployment-webhook-secret' }));
for (const name of ['bsf-audit', 'tenant-a-status', 'elsewhere'])
  sqs.handle('CreateQueue', { QueueName: name }, aws.url);
const auditQueue = `${aws.url}/000000000000/bsf-audit`;
const tenantQueue = `${aws.url}/000000000000/tenant-a-status`;
const otherQueue = `${aws.url}/000000000000/elsewhere`;

const receiver = await startWebhookReceiver();
const attacker = await startRecordingListener({ hosts: ['127.0.0.1', '::1'] });
const volume = await mkdtemp(join(tmpdir(), 'bsf-attack-delivery-'));
const stage = await deployStage({
  LOCAL_VOLUME_ROOT: volume,
  // Read at cold start: request-named queues must match these (or be the deployment's own). The second
  // is careless on purpose (any host): the endpoint guard must still hold underneath it.
  NOTIFY_SQS_ALLOWED_QUEUES: `${aws.url}/000000000000/tenant-*,http://*/000000000000/q`,
});
const { handler: checkHandler } = await import('../functions/check.js');
const { handler: cleanupHandler } = await import('../functions/cleanup.js');
// The deployment's settings as the handlers read them at cold start (one test widens the webhook list).
const { runtimeConfig } = await import('../functions/common/middleware.js');

const figures = { attacks: 0, attackerConnections: 0, attackerBytes: 0, leaks: 0, auditMissed: 0 };

beforeAll(() => {
  // The deployment's own targets, read per delivery.
  Object.assign(process.env, {
    NOTIFY_WEBHOOK_URL: `${receiver.url}/audit`,
    NOTIFY_WEBHOOK_SECRET_REF: 'aws-secretsmanager:bsf/webhook',
    NOTIFY_SQS_QUEUE_URL: auditQueue,
  });
});
afterAll(async () => {
  await attacker.close();
  await receiver.close();
  await aws.close();
  console.log(
    `[attack.delivery] attacks: ${figures.attacks}, connections to the attacker: ${figures.attackerConnections}, bytes received: ${figures.attackerBytes}, session tokens leaked: ${figures.leaks}, results missing from the audit trail: ${figures.auditMissed}`,
  );
});

type Result = OperationResult & { delivery?: DeliveryReport };

const { storage } = storageFor('local', 'demo', '', 'local-secret', volume);

async function direct(notify: Record<string, unknown>): Promise<Result> {
  return (await checkHandler({ storage, notify } as never, lambdaContext(20_000))) as Result;
}

async function http(body: Record<string, unknown>, handler = checkHandler, path = '/v1/check') {
  return parseHttpResult(await handler(signedEvent(body, path) as never, lambdaContext(20_000)));
}

/** The deployment's webhook and queue both got this event: the audit trail is whole. */
function expectAudited(result: Result, where: string): void {
  const eventId = result.delivery?.eventId;
  const hook = receiver.requests.find((request) => request.headers['x-bsf-event-id'] === eventId);
  const queued = sqs
    .queue('bsf-audit')
    .find((message) => message.MessageAttributes.eventId?.StringValue === eventId);
  if (!hook || !queued) figures.auditMissed += 1;
  expect(result.delivery?.webhook, where).toMatchObject({ delivered: true, signed: true });
  expect(result.delivery?.sqs, where).toMatchObject({ delivered: true, target: auditQueue });
  expect(hook, `${where}: the deployment's webhook got the event`).toBeDefined();
  expect(queued, `${where}: the deployment's queue got the event`).toBeDefined();
}

/** One attack: the listener must have seen nothing, the role's session token nowhere. */
function expectNothingReached(where: string): void {
  figures.attacks += 1;
  const text = attacker.text();
  figures.attackerConnections += attacker.connections();
  figures.attackerBytes += text.length;
  if (text.includes(SESSION_TOKEN)) figures.leaks += 1;
  expect(attacker.connections(), `${where}: connections to the attacker`).toBe(0);
  expect(text, where).toBe('');
}

const port = attacker.port;
const UNSPECIFIED = [
  `http://0.0.0.0:${port}/000000000000/q`,
  `http://0:${port}/000000000000/q`,
  `http://[::]:${port}/000000000000/q`,
  `http://[::ffff:0.0.0.0]:${port}/000000000000/q`,
  `http://0x0.0:${port}/000000000000/q`,
];
const LOOPBACK = [
  `http://127.0.0.1:${port}/000000000000/q`,
  `http://localhost:${port}/000000000000/q`,
  `http://LOCALHOST.:${port}/000000000000/q`,
  `http://127.1:${port}/000000000000/q`,
  `http://0x7f000001:${port}/000000000000/q`,
  `http://2130706433:${port}/000000000000/q`,
  `http://0177.0.0.1:${port}/000000000000/q`,
  `http://[::1]:${port}/000000000000/q`,
  `http://[0:0:0:0:0:0:0:1]:${port}/000000000000/q`,
  `http://[::ffff:127.0.0.1]:${port}/000000000000/q`,
  `http://[::ffff:7f00:1]:${port}/000000000000/q`,
];

describe('a request-named queue goes through the endpoint guard (under an allow-list that lets any host through)', () => {
  it.each(UNSPECIFIED)('unspecified, refused even with loopback allowed: %s', async (queueUrl) => {
    attacker.reset();
    const result = await direct({ sqs: { queueUrl } });
    expect(result.delivery?.requested?.sqs).toMatchObject({ delivered: false });
    expect(result.delivery?.requested?.sqs?.error).toMatch(/queue URL is not allowed: .*unspecified/);
    expectNothingReached(queueUrl);
    expectAudited(result, queueUrl);
  });

  it.each(LOOPBACK)('loopback, refused unless ALLOW_PRIVATE_ENDPOINTS lists it: %s', async (queueUrl) => {
    attacker.reset();
    const saved = process.env.ALLOW_PRIVATE_ENDPOINTS;
    process.env.ALLOW_PRIVATE_ENDPOINTS = '';
    let result: Result;
    try {
      result = await direct({ sqs: { queueUrl } });
    } finally {
      process.env.ALLOW_PRIVATE_ENDPOINTS = saved;
    }
    expect(result.delivery?.requested?.sqs?.delivered).toBe(false);
    // `localhost.` does not resolve here (no connection either way); every other spelling is the guard's.
    if (!queueUrl.includes('.:'))
      expect(result.delivery?.requested?.sqs?.error).toMatch(
        /queue URL is not allowed: .*loopback.*ALLOW_PRIVATE_ENDPOINTS=loopback/,
      );
    expectNothingReached(queueUrl);
    // (The deployment's loopback test servers were refused too while loopback was off.)
  });
});

describe('HTTP callers on a deployed stage', () => {
  it('a queue that is neither the deployment’s nor in NOTIFY_SQS_ALLOWED_QUEUES is refused in the report; the audit trail is whole', async () => {
    for (const queueUrl of [otherQueue, `http://127.0.0.1:${port}/000000000000/tenant-a-status`]) {
      attacker.reset();
      const { statusCode, json } = await http({ storage, notify: { sqs: { queueUrl } } });
      expect(statusCode).toBe(200);
      const result = json as Result;
      expect(result.delivery?.requested?.sqs?.error).toMatch(/NOTIFY_SQS_ALLOWED_QUEUES/);
      expect(sqs.queue('elsewhere')).toHaveLength(0);
      expectNothingReached(queueUrl);
      expectAudited(result, queueUrl);
    }
  });

  it('an allowed queue gets the result in addition, and the deployment’s own queue is not sent twice', async () => {
    const allowed = (await http({ storage, notify: { sqs: { queueUrl: tenantQueue } } })).json as Result;
    expect(allowed.delivery?.requested?.sqs).toMatchObject({ delivered: true, target: tenantQueue });
    expectAudited(allowed, 'allowed queue');
    const own = (await http({ storage, notify: { sqs: { queueUrl: auditQueue } } })).json as Result;
    expect(own.delivery?.requested?.sqs).toEqual(own.delivery?.sqs);
    const copies = sqs
      .queue('bsf-audit')
      .filter((message) => message.MessageAttributes.eventId?.StringValue === own.delivery?.eventId);
    expect(copies).toHaveLength(1);
  });

  it('a webhook needs NOTIFY_WEBHOOK_ALLOWED_HOSTS; allowed, it is sent unsigned, beside the deployment’s signed one', async () => {
    attacker.reset();
    const refused = (await http({ storage, notify: { webhook: { url: `${attacker.url}/hook` } } }))
      .json as Result;
    expect(refused.delivery?.requested?.webhook).toMatchObject({ delivered: false, attempts: 0 });
    expect(refused.delivery?.requested?.webhook?.error).toMatch(/NOTIFY_WEBHOOK_ALLOWED_HOSTS is not set/);
    expectNothingReached('webhook, no list');
    expectAudited(refused, 'webhook, no list');

    runtimeConfig.notifyWebhookAllowedHosts = [new URL(receiver.url).host];
    try {
      attacker.reset();
      const elsewhere = (await http({ storage, notify: { webhook: { url: `${attacker.url}/hook` } } }))
        .json as Result;
      expect(elsewhere.delivery?.requested?.webhook?.error).toMatch(/is not in NOTIFY_WEBHOOK_ALLOWED_HOSTS/);
      expectNothingReached('webhook, not listed');
      expectAudited(elsewhere, 'webhook, not listed');

      const listed = (await http({ storage, notify: { webhook: { url: `${receiver.url}/tenant` } } }))
        .json as Result;
      expect(listed.delivery?.requested?.webhook).toMatchObject({ delivered: true, signed: false });
      const theirs = receiver.requests.find(
        (request) =>
          request.path === '/tenant' && request.headers['x-bsf-event-id'] === listed.delivery?.eventId,
      );
      expect(theirs?.headers['x-bsf-signature']).toBeUndefined();
      expectAudited(listed, 'webhook, listed');
    } finally {
      delete runtimeConfig.notifyWebhookAllowedHosts;
    }
  });

  it('naming a secret for its webhook is refused; a cleanup cannot leave the audit trail either', async () => {
    attacker.reset();
    const withSecret = await http({
      storage,
      notify: { webhook: { url: `${attacker.url}/hook`, secret: 'aws-secretsmanager:bsf/webhook' } },
    });
    expect([400, 403]).toContain(withSecret.statusCode);
    expectNothingReached('webhook secret');

    // A WipeOut S3 storage whose endpoint is closed: the cleanup runs, fails, and its result is audited.
    await stage.secret('a', 'demo', 's3-secret');
    const wiped = storageFor('s3', 'demo', 'http://127.0.0.1:9').storage;
    const cleanup = await http(
      {
        storage: wiped,
        options: { confirm: 'victim/p' },
        notify: { webhook: { url: `${attacker.url}/hook` }, sqs: { queueUrl: otherQueue } },
      },
      cleanupHandler,
      '/v1/cleanup',
    );
    expect(cleanup.statusCode, JSON.stringify(cleanup.json)).toBe(200);
    const cleaned = cleanup.json as Result;
    expect(cleaned.operation).toBe('cleanup');
    expect(cleaned.delivery?.requested?.webhook?.delivered).toBe(false);
    expect(cleaned.delivery?.requested?.sqs?.delivered).toBe(false);
    expectNothingReached('cleanup');
    expectAudited(cleaned, 'cleanup');
  });
});

describe('deliverResult with no queue list on a deployed stage', () => {
  it('refuses every request-named queue of an HTTP caller, and still sends to the deployment’s queue', async () => {
    const result = (await direct({})) as Result;
    attacker.reset();
    figures.attacks += 1;
    const report = await deliverResult(
      result,
      { sqs: { queueUrl: tenantQueue } },
      {
        deadline: Deadline.in(10_000),
        log: silentLog,
        config: { workstation: false },
        caller: { kind: 'http', principal: 'hmac:default' },
      },
      { deployment: { sqs: { queueUrl: auditQueue } } },
    );
    expect(report?.requested?.sqs?.error).toMatch(/NOTIFY_SQS_ALLOWED_QUEUES is not set/);
    expect(report?.sqs).toMatchObject({ delivered: true });
    expect(attacker.connections()).toBe(0);
  });
});
