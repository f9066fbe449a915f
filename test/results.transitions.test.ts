/**
 * Memory through the real operations: runOperation records every result in the deployment's store and
 * returns it with previousPhase and since; with NOTIFY_ON=change the deployment's webhook gets only the
 * transitions (first result, break, recovery), and a request's `notify.on: change` holds its own target
 * the same way; the held targets are reported. A store that cannot be written never fails the check.
 */
import { mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { runOperation } from '../lib/operations/run.js';
import { FileResultsStore } from '../lib/results/file-store.js';
import { Deadline } from '../lib/runtime/deadline.js';
import { silentLog } from '../lib/runtime/log.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const work = await mkdtemp(join(tmpdir(), 'bsf-transitions-'));
const volume = join(work, 'volume');
const results = join(work, 'results');
// The deployment's settings as a cold start reads them, per call: the tests change NOTIFY_ON between calls.
const context = () => ({ deadline: Deadline.in(20_000), config: loadRuntimeConfig(), log: silentLog });
const storage = {
  apiVersion: 'storage.kubestash.com/v1alpha1',
  kind: 'BackupStorage',
  metadata: { name: 'flappy', namespace: 'demo', uid: 'u-1', labels: { team: 'demo' } },
  spec: {
    storage: { provider: 'local', local: { mountPath: volume, subPath: 'flappy' } },
    deletionPolicy: 'Delete',
  },
};
let receiver: WebhookReceiver;
let own: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  own = await startWebhookReceiver();
  process.env.RESULTS_STORE = `file:${results}`;
  process.env.NOTIFY_WEBHOOK_URL = `${receiver.url}/deployment`;
  process.env.NOTIFY_ON = 'change';
  await mkdir(volume, { recursive: true });
  const initialized = await runOperation(
    'initialize',
    { storage, options: { createBucket: true } },
    context(),
  );
  expect(initialized.status.phase).toBe('Ready');
});

afterAll(async () => {
  delete process.env.NOTIFY_ON;
  delete process.env.NOTIFY_WEBHOOK_URL;
  delete process.env.RESULTS_STORE;
  await receiver.close();
  await own.close();
});

const phasesDelivered = (hook: WebhookReceiver): string[] =>
  hook.accepted().map((request) => (JSON.parse(request.body) as { status: { phase: string } }).status.phase);

describe('transitions through runOperation', () => {
  it('remembers every result and delivers only transitions to targets set to change', async () => {
    const request = { storage, notify: { webhook: { url: `${own.url}/mine` }, on: 'change' } };
    // initialize (above) was the first result: a transition, delivered.
    expect(phasesDelivered(receiver)).toEqual(['Ready']);
    const steady = await runOperation('check', request, context());
    expect(steady).toMatchObject({ previousPhase: 'Ready', status: { phase: 'Ready' } });
    expect(steady.delivery).toMatchObject({ held: { targets: ['deployment', 'request'] } });
    expect(steady.delivery).not.toHaveProperty('webhook');

    await rename(join(volume, 'flappy'), join(volume, 'flappy.moved'));
    const broken = await runOperation('check', request, context());
    expect(broken).toMatchObject({
      previousPhase: 'Ready',
      status: { phase: 'NotReady' },
      since: broken.status.lastValidationTime,
    });
    expect(broken.delivery).toMatchObject({
      webhook: { delivered: true },
      requested: { webhook: { delivered: true } },
    });
    const stillBroken = await runOperation('check', request, context());
    expect(stillBroken).toMatchObject({ previousPhase: 'NotReady', since: broken.since });
    expect(stillBroken.delivery).toHaveProperty('held');

    await rename(join(volume, 'flappy.moved'), join(volume, 'flappy'));
    const recovered = await runOperation('check', request, context());
    expect(recovered).toMatchObject({ previousPhase: 'NotReady', status: { phase: 'Ready' } });
    expect(phasesDelivered(receiver)).toEqual(['Ready', 'NotReady', 'Ready']);
    expect(phasesDelivered(own)).toEqual(['NotReady', 'Ready']);

    const store = new FileResultsStore(results);
    const record = await store.get('demo/flappy');
    expect(record).toMatchObject({
      version: 5,
      phase: 'Ready',
      manifest: { uid: 'u-1', labels: { team: 'demo' } },
    });
    const transitions = await store.history('demo/flappy', { transitionsOnly: true });
    expect(transitions.map((entry) => [entry.previousPhase, entry.phase, entry.operation])).toEqual([
      ['NotReady', 'Ready', 'check'],
      ['Ready', 'NotReady', 'check'],
      [undefined, 'Ready', 'initialize'],
    ]);
  });

  it('refuses a NOTIFY_ON it does not know at cold start, naming the setting', () => {
    expect(() => loadRuntimeConfig({ NOTIFY_ON: 'sometimes' })).toThrow(/NOTIFY_ON/);
  });

  it('delivers every result when NOTIFY_ON is unset, and never fails on a broken store', async () => {
    delete process.env.NOTIFY_ON;
    const blocker = join(work, 'not-a-directory');
    await writeFile(blocker, 'x');
    process.env.RESULTS_STORE = `file:${blocker}/results`;
    const before = receiver.accepted().length;
    const result = await runOperation('check', { storage }, context());
    expect(result.status.phase).toBe('Ready');
    expect(result).not.toHaveProperty('previousPhase');
    expect(receiver.accepted().length).toBe(before + 1);
    process.env.RESULTS_STORE = `file:${results}`;
  });
});
