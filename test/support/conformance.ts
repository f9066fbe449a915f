/**
 * The conformance suite every ObjectStore adapter runs against its real server (or contract fake):
 * `describeObjectStore(name, target)`. Each run works under a unique prefix. A store whose protocol
 * cannot express some cases (restic's REST server holds only restic files) names them with the reason
 * in `notApplicable`: they are not generated, and the suite's title says which and why.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError, StorageError } from '../../lib/backends/errors.js';
import { listAll, type ObjectStore } from '../../lib/backends/object-store.js';

export interface ConformanceTarget {
  /** A store on a bucket/container that exists; the suite writes only under a unique prefix. */
  store(): Promise<ObjectStore>;
  /** A store on a bucket/container that does not exist (the suite creates it in one test). */
  missingBucketStore(): Promise<ObjectStore>;
  /** Objects to write for the pagination test (default 1,050: more than one 1,000-key page). */
  paginationKeys?: number;
  /** Names the suite's objects (default `<run>/<name>`), for a store that holds only keys of a fixed shape. */
  key?: (run: string, name: string) => string;
  /** Cases the store's protocol cannot express, each with the reason. */
  notApplicable?: Partial<Record<ConformanceCase, string>>;
}

/** The cases a store may declare not applicable. */
export type ConformanceCase = 'overwrite' | 'exclusiveRace' | 'siblings' | 'listing' | 'pagination';

async function expectCode(promise: Promise<unknown>, codes: string[]): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(isStorageError(error), `expected a StorageError, got ${String(error)}`).toBe(true);
    expect(codes).toContain((error as StorageError).code);
    return error as StorageError;
  }
  throw new Error(`expected a StorageError with code ${codes.join(' or ')}, but the call succeeded`);
}

/** Runs `count` tasks with at most `width` in flight. */
async function inParallel(
  count: number,
  width: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export function describeObjectStore(name: string, target: ConformanceTarget): void {
  const skipped = Object.entries(target.notApplicable ?? {});
  const title =
    skipped.length === 0 ? '' : ` (not generated: ${skipped.map(([c, why]) => `${c}: ${why}`).join('; ')})`;
  /** `it` for a case the store supports; a case it declared not applicable is not generated at all. */
  const itCase =
    (which: ConformanceCase) =>
    (title: string, body: () => Promise<void>): void => {
      if (target.notApplicable?.[which] === undefined) it(title, body);
    };
  describe(`ObjectStore conformance: ${name}${title}`, () => {
    let store: ObjectStore;
    const run = `conformance-${randomUUID().slice(0, 8)}`;
    const key = (suffix: string): string => (target.key ? target.key(run, suffix) : `${run}/${suffix}`);

    beforeAll(async () => {
      store = await target.store();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('reports an existing bucket', async () => {
      expect(await store.bucketExists()).toBe(true);
    });

    it('puts, stats, gets and deletes an object', async () => {
      const body = randomBytes(1500);
      await store.put(key('round/trip.bin'), body);
      const info = await store.stat(key('round/trip.bin'));
      expect(info.key).toBe(key('round/trip.bin'));
      expect(info.size).toBe(body.length);
      expect(Buffer.from(await store.get(key('round/trip.bin'))).equals(body)).toBe(true);
      await store.delete(key('round/trip.bin'));
      await expectCode(store.stat(key('round/trip.bin')), ['NotFound']);
    });

    it('maps a missing object to NotFound with subject object', async () => {
      const statError = await expectCode(store.stat(key('missing/object')), ['NotFound']);
      expect(statError.subject).toBe('object');
      const getError = await expectCode(store.get(key('missing/object')), ['NotFound']);
      expect(getError.subject).toBe('object');
    });

    it('deletes idempotently', async () => {
      await expect(store.delete(key('never/written'))).resolves.toBeUndefined();
    });

    itCase('overwrite')('overwrites without ifNotExists', async () => {
      await store.put(key('overwrite'), Buffer.from('first'));
      await store.put(key('overwrite'), Buffer.from('second'));
      expect(Buffer.from(await store.get(key('overwrite'))).toString()).toBe('second');
    });

    it('refuses ifNotExists over an existing object and keeps its content', async () => {
      await store.put(key('exclusive/existing'), Buffer.from('original'));
      await expectCode(store.put(key('exclusive/existing'), Buffer.from('intruder'), { ifNotExists: true }), [
        'AlreadyExists',
        'PreconditionFailed',
      ]);
      expect(Buffer.from(await store.get(key('exclusive/existing'))).toString()).toBe('original');
    });

    itCase('exclusiveRace')('gives exactly one winner among 20 concurrent ifNotExists creators', async () => {
      const target = key('exclusive/race');
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) =>
          store.put(target, Buffer.from(`creator-${index}`), { ifNotExists: true }),
        ),
      );
      const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') {
          expect(isStorageError(result.reason), String(result.reason)).toBe(true);
          expect(['AlreadyExists', 'PreconditionFailed']).toContain((result.reason as StorageError).code);
        }
      }
      expect(Buffer.from(await store.get(target)).toString()).toBe(`creator-${winners[0]}`);
    });

    // A probe DELETE runs beside claim and marker PUTs in the same directory: the store must keep
    // every write whatever order the two land in (s3rver once lost its whole process to this).
    itCase('siblings')('keeps sibling writes that race deletes under one prefix', async () => {
      const rounds = 12;
      for (let round = 0; round < rounds; round += 1) {
        const dir = key(`siblings/${round}/`);
        await store.put(`${dir}doomed`, Buffer.from('doomed'));
        await Promise.all([
          store.delete(`${dir}doomed`),
          ...Array.from({ length: 4 }, (_, index) =>
            store.put(`${dir}kept-${index}`, Buffer.from(`kept-${index}`)),
          ),
        ]);
      }
      const listed: string[] = [];
      for await (const object of listAll(store, key('siblings/'))) listed.push(object.key);
      const expected = Array.from({ length: rounds }, (_, round) =>
        Array.from({ length: 4 }, (_, index) => key(`siblings/${round}/kept-${index}`)),
      ).flat();
      expect(listed.sort()).toEqual(expected.sort());
    });

    itCase('listing')(
      'lists by prefix in lexicographic order, with folded prefixes under a delimiter',
      async () => {
        const keys = ['list/a-c', 'list/a/b', 'list/a/c/d', 'list/b', 'listing-not-included'];
        await Promise.all(keys.map((k) => store.put(key(k), Buffer.from(k))));
        const flat = await store.list(key('list/'));
        expect(flat.objects.map((o) => o.key)).toEqual(
          ['list/a-c', 'list/a/b', 'list/a/c/d', 'list/b'].map(key),
        );
        expect(flat.nextPageToken).toBeUndefined();
        for (const object of flat.objects) expect(object.size).toBe(object.key.length - run.length - 1);
        const folded = await store.list(key('list/'), { delimiter: '/' });
        expect(folded.objects.map((o) => o.key)).toEqual([key('list/a-c'), key('list/b')]);
        expect(folded.prefixes).toEqual([key('list/a/')]);
        const partial = await store.list(key('list/a'));
        expect(partial.objects.map((o) => o.key)).toEqual(['list/a-c', 'list/a/b', 'list/a/c/d'].map(key));
      },
    );

    itCase('pagination')(
      'paginates across more than 1,000 keys without losing or repeating one',
      async () => {
        const count = target.paginationKeys ?? 1050;
        const names = Array.from({ length: count }, (_, index) =>
          key(`page/${String(index).padStart(5, '0')}`),
        );
        await inParallel(names.length, 16, async (index) => {
          await store.put(names[index] as string, Buffer.from('x'));
        });
        const firstPage = await store.list(key('page/'), { limit: 400 });
        expect(firstPage.objects.length).toBeGreaterThan(0);
        expect(firstPage.objects.length).toBeLessThanOrEqual(400);
        expect(firstPage.nextPageToken).toBeDefined();
        const seen: string[] = [];
        for await (const object of listAll(store, key('page/'))) seen.push(object.key);
        expect(seen).toEqual(names);
        await store.deleteMany(names);
        const after = await store.list(key('page/'));
        expect(after.objects).toEqual([]);
      },
    );

    it('reports a missing bucket as a result, then creates it', async () => {
      const missing = await target.missingBucketStore();
      try {
        expect(await missing.bucketExists()).toBe(false);
        const listError = await expectCode(missing.list(''), ['NotFound']);
        expect(listError.subject).toBe('bucket');
        const statError = await expectCode(missing.stat(key('some/key')), ['NotFound']);
        expect(statError.subject).toBe('bucket');
        await missing.createBucket();
        expect(await missing.bucketExists()).toBe(true);
        await expectCode(missing.createBucket(), ['AlreadyExists']);
        await missing.put(key('created/afterwards'), Buffer.from('ok'));
        expect(Buffer.from(await missing.get(key('created/afterwards'))).toString()).toBe('ok');
        await missing.delete(key('created/afterwards'));
      } finally {
        await missing.close();
      }
    });
  });
}
