import { backoffDelay, parseRetryAfter } from '../lib/runtime/retry.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Deadline } from '../lib/runtime/deadline.js';
import { DEFAULT_RETRY_POLICY, deliverWebhook, type WebhookEvent } from '../lib/delivery/webhook.js';
import {
  seededRandom,
  startWebhookReceiver,
  type Fault,
  type WebhookReceiver,
} from './support/webhook-receiver.js';

const SECRET = 'whsec-test-0123456789';

/**
 * An independent verifier, written from docs/delivery.md rather than from lib/delivery/signing.ts:
 * parse `t=..,v1=..`, recompute HMAC-SHA256 over `${t}.${raw body}`, compare in constant time, and
 * refuse timestamps outside the tolerance window.
 */
function verify(headers: IncomingHttpHeaders, body: string, secret: string, toleranceSeconds = 300): boolean {
  const header = headers['x-bsf-signature'];
  if (typeof header !== 'string') return false;
  const fields = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(fields.get('t'));
  const given = fields.get('v1');
  if (!Number.isInteger(timestamp) || !given) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  if (headers['x-bsf-timestamp'] !== String(timestamp)) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.setFaults(() => undefined);
});

function event(overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  return {
    url: `${receiver.url}/hooks/bsf`,
    secret: SECRET,
    eventId: crypto.randomUUID(),
    eventType: 'check.completed',
    body: JSON.stringify({ status: { phase: 'Ready' }, note: 'ünïcode ✓' }),
    ...overrides,
  };
}

const fast = { baseDelayMs: 10, maxDelayMs: 100, attemptTimeoutMs: 400 };

describe('webhook delivery against a real HTTP receiver', () => {
  it('sends a signed JSON event that an independent verifier accepts', async () => {
    const sent = event();
    const outcome = await deliverWebhook(sent, { deadline: Deadline.in(5000) });
    expect(outcome).toMatchObject({
      delivered: true,
      attempts: 1,
      signed: true,
      httpStatus: 204,
      target: `${receiver.url}/hooks/bsf`,
    });
    const [request] = receiver.requests;
    expect(request?.body).toBe(sent.body);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toMatch(/^backupstorage-functions\/\d+\.\d+\.\d+/);
    expect(request?.headers['x-bsf-event-id']).toBe(sent.eventId);
    expect(request?.headers['x-bsf-event-type']).toBe('check.completed');
    expect(verify(request?.headers ?? {}, request?.body ?? '', SECRET)).toBe(true);
    // A tampered body or another secret fails verification.
    expect(verify(request?.headers ?? {}, `${request?.body} `, SECRET)).toBe(false);
    expect(verify(request?.headers ?? {}, request?.body ?? '', 'another-secret')).toBe(false);
  });

  it('sends no signature header without a secret', async () => {
    const outcome = await deliverWebhook(event({ secret: undefined }), { deadline: Deadline.in(5000) });
    expect(outcome).toMatchObject({ delivered: true, signed: false });
    expect(receiver.requests[0]?.headers['x-bsf-signature']).toBeUndefined();
  });

  it('retries 5xx and keeps the event id across attempts', async () => {
    receiver.setFaults((index) =>
      index < 2 ? { kind: 'status', status: index === 0 ? 500 : 503 } : undefined,
    );
    const sent = event();
    const outcome = await deliverWebhook(sent, { deadline: Deadline.in(5000), policy: fast });
    expect(outcome).toMatchObject({ delivered: true, attempts: 3, httpStatus: 204 });
    expect(new Set(receiver.requests.map((request) => request.headers['x-bsf-event-id']))).toEqual(
      new Set([sent.eventId]),
    );
    for (const request of receiver.requests) expect(verify(request.headers, request.body, SECRET)).toBe(true);
  });

  it('honours Retry-After on 429', async () => {
    receiver.setFaults((index) => (index === 0 ? { kind: 'retryAfter', seconds: 1 } : undefined));
    const outcome = await deliverWebhook(event(), { deadline: Deadline.in(5000), policy: fast });
    expect(outcome).toMatchObject({ delivered: true, attempts: 2 });
    const [first, second] = receiver.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('gives up at once when Retry-After points past the deadline', async () => {
    receiver.setFaults(() => ({ kind: 'retryAfter', seconds: 30 }));
    const outcome = await deliverWebhook(event(), { deadline: Deadline.in(3000), policy: fast });
    expect(outcome.delivered).toBe(false);
    expect(outcome.attempts).toBe(1);
    expect(outcome.httpStatus).toBe(429);
    expect(outcome.error).toMatch(/past the deadline/);
  });

  it('does not retry other 4xx', async () => {
    receiver.setFaults(() => ({ kind: 'status', status: 400 }));
    const outcome = await deliverWebhook(event(), { deadline: Deadline.in(5000), policy: fast });
    expect(outcome).toMatchObject({ delivered: false, attempts: 1, httpStatus: 400 });
    expect(outcome.error).toMatch(/refused the event \(400\)/);
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries a receiver that hangs and one that resets the connection', async () => {
    receiver.setFaults((index) =>
      index === 0 ? { kind: 'hang' } : index === 1 ? { kind: 'reset' } : undefined,
    );
    const outcome = await deliverWebhook(event(), { deadline: Deadline.in(5000), policy: fast });
    expect(outcome).toMatchObject({ delivered: true, attempts: 3 });
  });

  it('stops at the deadline when the receiver keeps failing', async () => {
    receiver.setFaults(() => ({ kind: 'status', status: 502 }));
    const deadline = Deadline.in(800);
    const outcome = await deliverWebhook(event(), { deadline, policy: fast });
    expect(outcome.delivered).toBe(false);
    expect(outcome.attempts).toBeGreaterThan(1);
    expect(outcome.error).toMatch(/502/);
    expect(receiver.requests.every((request) => request.at <= deadline.at)).toBe(true);
  });

  it('follows a same-origin 307/308 but no redirect to another host and no method-changing redirect', async () => {
    receiver.setFaults((index, request) =>
      request.path === '/old' ? { kind: 'redirect', status: 308, location: '/new' } : undefined,
    );
    const followed = await deliverWebhook(event({ url: `${receiver.url}/old` }), {
      deadline: Deadline.in(5000),
    });
    expect(followed.delivered).toBe(true);
    expect(receiver.requests.map((request) => request.path)).toEqual(['/old', '/new']);

    receiver.requests.length = 0;
    const otherHost = receiver.url.replace('127.0.0.1', 'localhost');
    receiver.setFaults(() => ({ kind: 'redirect', status: 307, location: `${otherHost}/elsewhere` }));
    const refused = await deliverWebhook(event(), { deadline: Deadline.in(5000) });
    expect(refused.delivered).toBe(false);
    expect(refused.error).toMatch(/another host not followed/);
    expect(receiver.requests).toHaveLength(1);

    receiver.requests.length = 0;
    receiver.setFaults((index, request) =>
      request.path === '/hooks/bsf' ? { kind: 'redirect', status: 302, location: '/new' } : undefined,
    );
    const methodChange = await deliverWebhook(event(), { deadline: Deadline.in(5000) });
    expect(methodChange.error).toMatch(/302/);
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses URLs that are not http(s) or carry credentials, without sending anything', async () => {
    const ftp = await deliverWebhook(event({ url: 'ftp://example.com/x' }), { deadline: Deadline.in(1000) });
    expect(ftp.error).toMatch(/http\(s\)/);
    const withUser = await deliverWebhook(
      event({ url: receiver.url.replace('http://', 'http://user:pw@') }),
      { deadline: Deadline.in(1000) },
    );
    expect(withUser.error).toMatch(/credentials/);
    expect(withUser.target).not.toContain('pw');
    expect(receiver.requests).toHaveLength(0);
  });

  it('loses no delivery with 30% injected failures, and duplicates only what at-least-once allows', async () => {
    const random = seededRandom(20240917);
    const faults: Fault[] = [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'retryAfter', seconds: 1 },
      { kind: 'hang' },
      { kind: 'reset' },
      { kind: 'slowAck', ms: 1500 },
    ];
    receiver.setFaults(() => (random() < 0.3 ? faults[Math.floor(random() * faults.length)] : undefined));
    const events = Array.from({ length: 120 }, (_, index) => event({ body: JSON.stringify({ index }) }));
    const deadline = Deadline.in(40_000);
    const outcomes: Awaited<ReturnType<typeof deliverWebhook>>[] = [];
    const attemptsById = new Map<string, number>();
    const queue = [...events];
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const outcome = await deliverWebhook(next, {
            deadline,
            policy: { baseDelayMs: 20, maxDelayMs: 400, attemptTimeoutMs: 1000 },
          });
          attemptsById.set(next.eventId, outcome.attempts);
          outcomes.push(outcome);
        }
      }),
    );
    expect(outcomes.filter((outcome) => !outcome.delivered)).toEqual([]);
    const injected = receiver.requests.filter((request) => request.fault).length;
    expect(injected / receiver.requests.length).toBeGreaterThan(0.15);

    const sentIds = new Set(events.map((sent) => sent.eventId));
    const accepted = receiver.accepted();
    const acceptedIds = accepted.map((request) => String(request.headers['x-bsf-event-id']));
    expect(new Set(acceptedIds)).toEqual(sentIds);
    for (const request of accepted) {
      expect(verify(request.headers, request.body, SECRET)).toBe(true);
      // The id names exactly one logical event: its body never differs between copies.
      const original = events.find((sent) => sent.eventId === request.headers['x-bsf-event-id']);
      expect(request.body).toBe(original?.body);
    }
    // Copies of one id come only from that event's own retries: never more copies than attempts.
    const seen = new Map<string, number>();
    for (const id of acceptedIds) seen.set(id, (seen.get(id) ?? 0) + 1);
    for (const [id, copies] of seen) {
      expect(copies).toBeLessThanOrEqual(attemptsById.get(id) ?? 0);
    }
  });
});

describe('webhook retry arithmetic', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000)).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('draws full-jitter backoff below a doubling, capped ceiling', () => {
    expect(
      backoffDelay(0, DEFAULT_RETRY_POLICY.baseDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, () => 0.999),
    ).toBe(199);
    expect(
      backoffDelay(3, DEFAULT_RETRY_POLICY.baseDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, () => 0.5),
    ).toBe(800);
    expect(
      backoffDelay(20, DEFAULT_RETRY_POLICY.baseDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, () => 0.999),
    ).toBe(4995);
    expect(backoffDelay(5, DEFAULT_RETRY_POLICY.baseDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, () => 0)).toBe(
      0,
    );
  });
});
