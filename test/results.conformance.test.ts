/**
 * One conformance suite for both results stores (lib/results/): the embedded file store and the
 * DynamoDB store on dynalite (an independent implementation of the DynamoDB API) with the real AWS SDK.
 * Versions, transitions, idempotency per event id, 50 concurrent writers on one storage losing nothing,
 * a writer that died between its two steps, namespaces, history and the uptime strip.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoResultsStore, tableDefinition } from '../lib/results/dynamodb-store.js';
import { FileResultsStore } from '../lib/results/file-store.js';
import { applyEvent, type VersionedLog } from '../lib/results/record.js';
import { RECENT_LIMIT, type RecordInput, type ResultsStore } from '../lib/results/store.js';
import type { Phase } from '../lib/status/conditions.js';
import { serverInfo } from './support/servers.js';

type Store = ResultsStore & VersionedLog;

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();

function event(key: string, phase: Phase, minute: number, extra: Partial<RecordInput> = {}): RecordInput {
  const named = /^([^/:]+)\/([^/]+)$/.exec(key);
  return {
    key,
    eventId: randomUUID(),
    at: at(minute),
    operation: 'check',
    phase,
    storage: {
      provider: 'local',
      flavor: 'kubestash',
      kind: named ? 'BackupStorage' : 'Backend',
      prefix: '',
      ...(named ? { namespace: named[1], name: named[2] } : {}),
    },
    conditions: [
      {
        type: 'BackendReachable',
        status: phase === 'Ready' ? 'True' : 'False',
        reason: phase === 'Ready' ? 'Reachable' : 'Unreachable',
        message: 'm',
        lastTransitionTime: at(minute),
      },
    ],
    ...(phase === 'NotReady' ? { reason: 'Unreachable', message: 'BackendReachable: m' } : {}),
    ...extra,
  };
}

function describeResultsStore(name: string, make: () => Promise<Store>): void {
  describe(`results store conformance: ${name}`, () => {
    const run = randomUUID().slice(0, 8);
    const key = (suffix: string): string => `ns-${run}/${suffix}`;
    let store: Store;
    const opened = async (): Promise<Store> => (store ??= await make());

    it('records a first event as a transition at version 1, then steady events keep `since`', async () => {
      const s = await opened();
      const first = await s.record(event(key('a'), 'Ready', 0));
      expect(first.duplicate).toBe(false);
      expect(first.entry).toMatchObject({ version: 1, transition: true, phase: 'Ready' });
      expect(first.entry.previousPhase).toBeUndefined();
      expect(first.record).toMatchObject({
        version: 1,
        since: at(0),
        phase: 'Ready',
        namespace: `ns-${run}`,
        name: 'a',
      });
      const second = await s.record(event(key('a'), 'Ready', 15));
      expect(second.entry).toMatchObject({ version: 2, transition: false, previousPhase: 'Ready' });
      expect(second.record.since).toBe(at(0));
      expect(second.record.lastChecked).toBe(at(15));
      const broken = await s.record(event(key('a'), 'NotReady', 30));
      expect(broken.entry).toMatchObject({
        version: 3,
        transition: true,
        previousPhase: 'Ready',
        reason: 'Unreachable',
      });
      expect(broken.record).toMatchObject({ since: at(30), previousPhase: 'Ready', reason: 'Unreachable' });
      const recovered = await s.record(event(key('a'), 'Ready', 45));
      expect(recovered.entry).toMatchObject({ version: 4, transition: true, previousPhase: 'NotReady' });
    });

    it('records an event id once: a redelivery returns the original entry and changes nothing', async () => {
      const s = await opened();
      const input = event(key('dup'), 'NotReady', 0);
      const original = await s.record(input);
      await s.record(event(key('dup'), 'NotReady', 1));
      const again = await s.record({ ...input, phase: 'Ready', at: at(99) });
      expect(again.duplicate).toBe(true);
      expect(again.entry).toEqual(original.entry);
      const latest = await s.get(key('dup'));
      expect(latest).toMatchObject({ version: 2, phase: 'NotReady', lastChecked: at(1) });
      expect(await s.history(key('dup'))).toHaveLength(2);
    });

    it('keeps the manifest, source and last complete inventory across events that do not carry them', async () => {
      const s = await opened();
      const manifest = {
        uid: 'u-1',
        labels: { team: 'a' },
        annotations: { note: 'x' },
        deletionPolicy: 'WipeOut',
      };
      const source = { storage: { provider: 'local', mountPath: '/x' }, endpoint: 'http://e' };
      const repositories = [
        {
          name: 'r',
          namespace: 'demo',
          path: '/demo/r',
          bytes: 2048,
          size: '2.000 KiB',
          snapshotCount: 3,
          synced: true,
        },
      ];
      await s.record(
        event(key('inv'), 'Ready', 0, { manifest, source, inventory: { totalBytes: 2048, repositories } }),
      );
      await s.record(event(key('inv'), 'Ready', 1));
      const record = await s.get(key('inv'));
      expect(record).toMatchObject({ manifest, source, repositories, totalBytes: 2048, repositoryCount: 1 });
      expect(record?.conditions[0]?.type).toBe('BackendReachable');
      const [summary] = (await s.list({ namespaces: (ns) => ns === `ns-${run}` })).filter(
        (x) => x.key === key('inv'),
      );
      expect(summary).toMatchObject({ totalBytes: 2048, repositoryCount: 1, phase: 'Ready' });
      expect(summary).not.toHaveProperty('conditions');
    });

    it('lists by namespace, and gives history newest first, limited, transitions only on request', async () => {
      const s = await opened();
      const other = `other-${run}/b`;
      await s.record(event(other, 'Ready', 0));
      const mine = await s.list({ namespaces: (ns) => ns === `ns-${run}` });
      expect(mine.length).toBeGreaterThanOrEqual(3);
      expect(mine.every((x) => x.namespace === `ns-${run}`)).toBe(true);
      const all = await s.list();
      expect(all.some((x) => x.key === other)).toBe(true);
      const history = await s.history(key('a'));
      expect(history.map((entry) => entry.version)).toEqual([4, 3, 2, 1]);
      expect((await s.history(key('a'), { limit: 2 })).map((entry) => entry.version)).toEqual([4, 3]);
      const transitions = await s.history(key('a'), { transitionsOnly: true });
      expect(transitions.map((entry) => entry.version)).toEqual([4, 3, 1]);
      expect(await s.history(`nobody-${run}/x`)).toEqual([]);
      expect(await s.get(`nobody-${run}/x`)).toBeUndefined();
    });

    it('keeps the last checks for the uptime strip, oldest first', async () => {
      const s = await opened();
      for (let n = 0; n < RECENT_LIMIT + 5; n += 1)
        await s.record(event(key('strip'), n % 3 ? 'Ready' : 'NotReady', n));
      const record = await s.get(key('strip'));
      expect(record?.recent).toHaveLength(RECENT_LIMIT);
      expect(record?.recent[0]?.at).toBe(at(5));
      expect(record?.recent.at(-1)).toEqual({ at: at(RECENT_LIMIT + 4), phase: 'Ready' });
    });

    it('50 concurrent writers on one storage lose no event and no transition', async () => {
      const s = await opened();
      const target = key('race');
      const inputs = Array.from({ length: 50 }, (_, n) => event(target, n % 2 ? 'Ready' : 'NotReady', n));
      const outcomes = await Promise.all(inputs.map((input) => s.record(input)));
      expect(outcomes.every((outcome) => !outcome.duplicate)).toBe(true);
      expect(new Set(outcomes.map((outcome) => outcome.entry.version)).size).toBe(50);
      const history = (await s.history(target, { limit: 100 })).reverse();
      expect(history.map((entry) => entry.version)).toEqual(Array.from({ length: 50 }, (_, n) => n + 1));
      expect(new Set(history.map((entry) => entry.eventId))).toEqual(
        new Set(inputs.map((input) => input.eventId)),
      );
      // Every entry's previous phase is the phase of the entry before it, and a transition exactly when they differ.
      history.forEach((entry, index) => {
        const before = history[index - 1];
        expect(entry.previousPhase).toBe(before?.phase);
        expect(entry.transition).toBe(before === undefined || before.phase !== entry.phase);
      });
      const latest = await s.get(target);
      expect(latest?.version).toBe(50);
      expect(latest?.phase).toBe(history.at(-1)?.phase);
      const changes = history.filter((entry) => entry.transition).length;
      expect((await s.history(target, { transitionsOnly: true, limit: 100 })).length).toBe(changes);
      // Redelivered at once, the same events are all recognized.
      const again = await Promise.all(inputs.slice(0, 10).map((input) => s.record(input)));
      expect(again.every((outcome) => outcome.duplicate)).toBe(true);
      expect((await s.get(target))?.version).toBe(50);
    });

    it('finishes the move of a writer that claimed a version and died before updating the latest record', async () => {
      const s = await opened();
      const target = key('crash');
      const first = await s.record(event(target, 'Ready', 0));
      const crashed = applyEvent(first.record, event(target, 'NotReady', 1), 2);
      expect(await s.claim(crashed)).toBe(true);
      expect((await s.get(target))?.version).toBe(1);
      const next = await s.record(event(target, 'NotReady', 2));
      expect(next.entry).toMatchObject({ version: 3, transition: false, previousPhase: 'NotReady' });
      const history = await s.history(target);
      expect(history.map((entry) => [entry.version, entry.transition])).toEqual([
        [3, false],
        [2, true],
        [1, true],
      ]);
      expect(
        (await s.record({ ...event(target, 'NotReady', 9), eventId: crashed.entry.eventId })).duplicate,
      ).toBe(true);
    });

    it('takes keys of bare backends (slashes, colons) and very long keys', async () => {
      const s = await opened();
      const bare = `s3:bucket-${run}/some/prefix`;
      const long = `${'p'.repeat(600)}-${run}`;
      await s.record(event(bare, 'Ready', 0));
      await s.record(event(long, 'NotReady', 0));
      expect((await s.get(bare))?.namespace).toBe('');
      expect((await s.get(long))?.phase).toBe('NotReady');
      expect((await s.history(long))[0]?.key).toBe(long);
    });

    afterAll(async () => {
      await store?.close?.();
    });
  });
}

describeResultsStore(
  'file (embedded)',
  async () => new FileResultsStore(await mkdtemp(join(tmpdir(), 'bsf-results-'))),
);

const dynalite = serverInfo('dynalite');
const client = new DynamoDBClient({
  endpoint: dynalite.endpoint,
  region: dynalite.region,
  credentials: {
    accessKeyId: dynalite.accessKeyId as string,
    secretAccessKey: dynalite.secretAccessKey as string,
  },
});
describeResultsStore('DynamoDB (dynalite, real AWS SDK)', async () => {
  const table = `results-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateTableCommand(tableDefinition(table)));
  return new DynamoResultsStore({ table, client });
});

afterAll(() => client.destroy());
