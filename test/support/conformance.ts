/**
 * The conformance suite every ObjectStore adapter runs against its real server (or contract fake):
 * `describeObjectStore(name, target)`. Each run works under a unique prefix. A store whose protocol
 * cannot express some cases (restic's REST server holds only restic files) names them with the reason
 * in `notApplicable`: they are not generated, and the suite's title says which and why.
 *
 * Its depth follows Go CDK's blob/drivertest: checksums and byte-exact binary content, canceled writes
 * (before and during the call) that leave nothing behind, `limit` on every list page, delimiter listings
 * at depth, keys with spaces, unicode and URL-special characters, conditional create under concurrency
 * and after a delete, deletes of what is absent.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError, StorageError } from '../../lib/backends/errors.js';
import {
  listAll,
  type ListOptions,
  type ListPage,
  type ObjectStore,
  type PutResult,
} from '../../lib/backends/object-store.js';

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
export type ConformanceCase =
  | 'overwrite'
  | 'exclusiveRace'
  | 'siblings'
  | 'listing'
  | 'pagination'
  | 'pageLimit'
  | 'pageLimitFolded'
  | 'abortInFlight'
  | 'nestedDelimiter'
  | 'weirdKeys';

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

/** The pagination case's vitest timeout: a cap only; its own deadline comes from the machine's pace. */
const PACED_CAP_MS = 15 * 60_000;
/** How much slower than its first batch the rest of a set-up may run before it counts as hung. */
const PACED_SLACK = 8;
/** The least time the rest of a set-up gets, however fast its first batch was. */
const PACED_FLOOR_MS = 30_000;

/**
 * Runs `task` over `items`, `width` at a time. The first batch is timed, and its pace (times
 * PACED_SLACK, at least PACED_FLOOR_MS, never past `until`) is the deadline of the rest, handed to every
 * call as its signal: a loaded machine gets a set-up as long as it needs, a hung server fails with the
 * budget named instead of the runner's blanket timeout.
 */
async function paced<T>(
  what: string,
  items: readonly T[],
  width: number,
  until: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const first = Math.min(items.length, width * 4);
  const run = async (from: number, to: number, budget: number, pace?: number): Promise<void> => {
    const signal = AbortSignal.timeout(Math.max(1, Math.round(budget)));
    try {
      await inParallel(to - from, width, (index) => task(items[from + index] as T, signal));
    } catch (error) {
      if (!signal.aborted) throw error;
      const measured =
        pace === undefined ? '' : ` (set from its first batch: ${pace.toFixed(1)} ms per item)`;
      throw new Error(
        `${what}: ${to - from} items did not finish within ${Math.round(budget)} ms${measured}`,
        {
          cause: error,
        },
      );
    }
  };
  const started = performance.now();
  await run(0, first, until - Date.now());
  const pace = (performance.now() - started) / Math.max(1, first);
  const budget = Math.min(
    until - Date.now(),
    Math.max(PACED_FLOOR_MS, pace * (items.length - first) * PACED_SLACK),
  );
  await run(first, items.length, budget, pace);
}

/** Every page of a listing, following tokens; fails rather than loop when pages never end. */
async function listPages(
  store: ObjectStore,
  prefix: string,
  options: Omit<ListOptions, 'pageToken'> = {},
): Promise<ListPage[]> {
  const pages: ListPage[] = [];
  let pageToken: string | undefined;
  do {
    const page = await store.list(prefix, { ...options, pageToken });
    pages.push(page);
    const entries = pages.reduce((sum, p) => sum + p.objects.length + p.prefixes.length, 0);
    if (pages.length > 2 * entries + 2) throw new Error(`listing ${prefix} returns pages without end`);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return pages;
}

/** The names a listing returned, objects and folded prefixes together, in the order of its pages. */
const entriesOf = (pages: readonly ListPage[]): string[] =>
  pages.flatMap((page) => [...page.objects.map((o) => o.key), ...page.prefixes].sort());

const md5 = (body: Uint8Array): string => createHash('md5').update(body).digest('base64');
const sha1 = (body: Uint8Array): string => createHash('sha1').update(body).digest('hex');

/** The checksum `put` returned is the checksum of `body` (a store that returns one must return a right one). */
function expectChecksumOf(written: PutResult, body: Uint8Array, store: ObjectStore): void {
  const returned = { contentMd5: written.contentMd5, contentSha1: written.contentSha1 };
  const expected = {
    contentMd5: written.contentMd5 === undefined ? undefined : md5(body),
    contentSha1: written.contentSha1 === undefined ? undefined : sha1(body),
  };
  expect(returned).toEqual(expected);
  expect(
    !store.capabilities.putReturnsChecksum || Object.values(returned).some((sum) => sum !== undefined),
    'putReturnsChecksum, yet put returned no checksum',
  ).toBe(true);
}

/** The directory part of a key (`a/b/` for `a/b/c`), to list what sits beside it. */
const directoryOf = (key: string): string => key.slice(0, key.lastIndexOf('/') + 1);

/** Keys that need escaping somewhere: spaces, unicode (also outside the BMP), URL-special characters. */
const WEIRD_NAMES = [
  'a b',
  'ü',
  '100%',
  'a+b',
  '%2F',
  '%20',
  'q?x=1&y=2',
  'hash#frag',
  'tilde~',
  "quote'",
  'colon:semi;',
  'at@comma,',
  'emoji-😀',
  '中文',
  'double  space',
];

export function describeObjectStore(name: string, target: ConformanceTarget): void {
  const skipped = Object.entries(target.notApplicable ?? {});
  const title =
    skipped.length === 0 ? '' : ` (not generated: ${skipped.map(([c, why]) => `${c}: ${why}`).join('; ')})`;
  /** `it` for a case the store supports; a case it declared not applicable is not generated at all. */
  const itCase =
    (which: ConformanceCase) =>
    (title: string, body: () => Promise<void>, timeout?: number): void => {
      if (target.notApplicable?.[which] === undefined) it(title, body, timeout);
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
        // Set-up paced by the machine (see `paced`): the deadline follows the first batch's rate.
        const until = Date.now() + PACED_CAP_MS - 60_000;
        const count = target.paginationKeys ?? 1050;
        const names = Array.from({ length: count }, (_, index) =>
          key(`page/${String(index).padStart(5, '0')}`),
        );
        await paced('writing the pagination keys', names, 16, until, async (name, signal) => {
          await store.put(name, Buffer.from('x'), { signal });
        });
        const firstPage = await store.list(key('page/'), { limit: 400 });
        expect(firstPage.objects.length).toBeGreaterThan(0);
        expect(firstPage.objects.length).toBeLessThanOrEqual(400);
        expect(firstPage.nextPageToken).toBeDefined();
        const seen: string[] = [];
        for await (const object of listAll(store, key('page/'))) seen.push(object.key);
        expect(seen).toEqual(names);
        const batches = Array.from({ length: Math.ceil(count / 50) }, (_, index) =>
          names.slice(index * 50, index * 50 + 50),
        );
        await paced('deleting the pagination keys', batches, 4, until, async (batch, signal) => {
          await store.deleteMany(batch, { signal });
        });
        const after = await store.list(key('page/'));
        expect(after.objects).toEqual([]);
      },
      PACED_CAP_MS,
    );

    itCase('pageLimit')(
      'never returns more than `limit` objects in a page, and its pages cover every key once',
      async () => {
        const names = Array.from({ length: 7 }, (_, index) => key(`limit/flat/${index}`));
        await Promise.all(names.map((name) => store.put(name, Buffer.from(name))));
        for (const limit of [1, 2, 3, 1000]) {
          const pages = await listPages(store, key('limit/flat/'), { limit });
          for (const page of pages) expect(page.objects.length).toBeLessThanOrEqual(limit);
          expect(entriesOf(pages)).toEqual(names);
        }
      },
    );

    itCase('pageLimitFolded')(
      'counts objects and folded prefixes together against `limit`, and its pages cover every entry once',
      async () => {
        const objects = Array.from({ length: 5 }, (_, index) => key(`limit/folded/${index}`));
        const nested = ['limit/folded/d1/x', 'limit/folded/d1/y', 'limit/folded/d2/z'].map(key);
        await Promise.all([...objects, ...nested].map((name) => store.put(name, Buffer.from(name))));
        const expected = [...objects, key('limit/folded/d1/'), key('limit/folded/d2/')];
        for (const limit of [1, 2, 3, 1000]) {
          const pages = await listPages(store, key('limit/folded/'), { limit, delimiter: '/' });
          for (const page of pages)
            expect(page.objects.length + page.prefixes.length).toBeLessThanOrEqual(limit);
          expect(entriesOf(pages).sort()).toEqual(expected);
        }
      },
    );

    itCase('nestedDelimiter')('folds prefixes under a delimiter at every depth', async () => {
      const keys = ['tree/a', 'tree/b/c', 'tree/b/d/e', 'tree/b/d/f/g', 'tree/b/h', 'tree/i/j'].map(key);
      await Promise.all(keys.map((name) => store.put(name, Buffer.from(name))));
      const level = async (prefix: string): Promise<{ objects: string[]; prefixes: string[] }> => {
        const pages = await listPages(store, key(prefix), { delimiter: '/' });
        return {
          objects: pages.flatMap((page) => page.objects.map((o) => o.key)),
          prefixes: pages.flatMap((page) => page.prefixes),
        };
      };
      expect(await level('tree/')).toEqual({
        objects: [key('tree/a')],
        prefixes: [key('tree/b/'), key('tree/i/')],
      });
      expect(await level('tree/b/')).toEqual({
        objects: [key('tree/b/c'), key('tree/b/h')],
        prefixes: [key('tree/b/d/')],
      });
      expect(await level('tree/b/d/')).toEqual({
        objects: [key('tree/b/d/e')],
        prefixes: [key('tree/b/d/f/')],
      });
      expect(await level('tree/b/d/f/')).toEqual({ objects: [key('tree/b/d/f/g')], prefixes: [] });
      expect(await level('tree/b/d/f/g/')).toEqual({ objects: [], prefixes: [] });
      // Walking the folded prefixes down finds every object once.
      const walked: string[] = [];
      const walk = async (prefix: string): Promise<void> => {
        for (const page of await listPages(store, prefix, { delimiter: '/' })) {
          walked.push(...page.objects.map((o) => o.key));
          for (const sub of page.prefixes) await walk(sub);
        }
      };
      await walk(key('tree/'));
      expect(walked.sort()).toEqual([...keys].sort());
    });

    itCase('weirdKeys')(
      'round-trips keys with spaces, unicode and URL-special characters through put, list, stat, get and delete',
      async () => {
        const names = WEIRD_NAMES.map((name) => key(`weird/${name}`));
        await Promise.all(names.map((name) => store.put(name, Buffer.from(name))));
        const listed: string[] = [];
        for await (const object of listAll(store, key('weird/'))) listed.push(object.key);
        expect([...listed].sort()).toEqual([...names].sort());
        for (const name of names) {
          expect(Buffer.from(await store.get(name)).toString(), name).toBe(name);
          expect((await store.stat(name)).size, name).toBe(Buffer.byteLength(name));
        }
        const folded = await listPages(store, key('weird/'), { delimiter: '/' });
        expect(entriesOf(folded).sort()).toEqual([...names].sort());
        await Promise.all(names.map((name) => store.delete(name)));
        for (const name of names) await expectCode(store.stat(name), ['NotFound']);
        expect((await store.list(key('weird/'))).objects).toEqual([]);
      },
    );

    it('returns a checksum of what put wrote, and stat reports its size and checksum', async () => {
      const body = randomBytes(4099);
      const written = await store.put(key('checksum/object'), body);
      expectChecksumOf(written, body, store);
      const info = await store.stat(key('checksum/object'));
      expect(info.size).toBe(body.length);
      // Where the store reports an MD5 or entity tag on stat, it is the written content's.
      expect(info.contentMd5 ?? md5(body)).toBe(md5(body));
      expect(info.etag ?? written.etag).toBe(written.etag ?? info.etag);
    });

    it('round-trips binary content byte-exact: every byte value, an empty object, 5 MiB', async () => {
      const bodies: [string, Uint8Array][] = [
        ['binary/every-byte', Uint8Array.from({ length: 256 }, (_, index) => index)],
        ['binary/empty', new Uint8Array(0)],
        ['binary/five-mib', randomBytes(5 * 1024 * 1024)],
      ];
      for (const [name, body] of bodies) {
        const written = await store.put(key(name), body);
        expectChecksumOf(written, body, store);
        expect((await store.stat(key(name))).size, name).toBe(body.length);
        const read = await store.get(key(name));
        expect(read.length, name).toBe(body.length);
        expect(Buffer.compare(Buffer.from(read), Buffer.from(body)), name).toBe(0);
      }
    });

    it('rejects every call whose signal is already aborted as Timeout, and changes nothing', async () => {
      const kept = key('aborted/kept');
      const fresh = key('aborted/fresh');
      await store.put(kept, Buffer.from('kept'));
      const signal = AbortSignal.abort();
      await expectCode(store.put(fresh, Buffer.from('fresh'), { signal }), ['Timeout']);
      await expectCode(store.put(fresh, Buffer.from('fresh'), { signal, ifNotExists: true }), ['Timeout']);
      await expectCode(store.put(kept, Buffer.from('replaced'), { signal }), ['Timeout']);
      await expectCode(store.delete(kept, { signal }), ['Timeout']);
      await expectCode(store.deleteMany([kept], { signal }), ['Timeout']);
      await expectCode(store.get(kept, { signal }), ['Timeout']);
      await expectCode(store.stat(kept, { signal }), ['Timeout']);
      await expectCode(store.list(directoryOf(kept), { signal }), ['Timeout']);
      await expectCode(store.bucketExists({ signal }), ['Timeout']);
      // Canceled writes leave nothing visible, and the object they would have replaced or removed stays.
      await expectCode(store.stat(fresh), ['NotFound']);
      expect(Buffer.from(await store.get(kept)).toString()).toBe('kept');
      const beside: string[] = [];
      for await (const object of listAll(store, directoryOf(kept))) beside.push(object.key);
      expect(beside).toContain(kept);
      expect(beside).not.toContain(fresh);
    });

    itCase('abortInFlight')(
      'leaves the whole object or nothing when a put is aborted in flight',
      async () => {
        const body = randomBytes(5 * 1024 * 1024);
        // Aborted at different points of the upload: before the request leaves, while the body is sent, …
        for (const [round, turns] of [0, 1, 3, 10, 30].entries()) {
          const name = key(`aborted/in-flight-${round}`);
          const controller = new AbortController();
          const put = store.put(name, body, { signal: controller.signal });
          for (let turn = 0; turn < turns; turn += 1) await new Promise((resolve) => setImmediate(resolve));
          controller.abort();
          const failure = await put.then(
            () => undefined,
            (error: unknown) => error,
          );
          if (failure !== undefined) {
            expect(isStorageError(failure), String(failure)).toBe(true);
            expect((failure as StorageError).code).toBe('Timeout');
          }
          // A server may still finish a request whose body had all arrived: each look sees nothing or all.
          const found = await store.stat(name).catch((error: unknown) => error);
          if (isStorageError(found)) expect(found.code, found.message).toBe('NotFound');
          else expect(found).toMatchObject({ key: name, size: body.length });
          for await (const object of listAll(store, directoryOf(name)))
            if (object.key === name) expect(object.size, 'listed size').toBe(body.length);
          const read = await store.get(name).catch((error: unknown) => error);
          if (isStorageError(read)) expect(read.code, read.message).toBe('NotFound');
          else expect(Buffer.compare(Buffer.from(read as Uint8Array), body)).toBe(0);
        }
      },
    );

    it('creates with ifNotExists again once the object was deleted', async () => {
      const name = key('exclusive/recreated');
      await store.put(name, Buffer.from('first'), { ifNotExists: true });
      await store.delete(name);
      await expectCode(store.stat(name), ['NotFound']);
      await store.put(name, Buffer.from('second'), { ifNotExists: true });
      expect(Buffer.from(await store.get(name)).toString()).toBe('second');
      await expectCode(store.put(name, Buffer.from('third'), { ifNotExists: true }), [
        'AlreadyExists',
        'PreconditionFailed',
      ]);
      expect(Buffer.from(await store.get(name)).toString()).toBe('second');
    });

    it('deletes a mix of existing and missing keys with deleteMany, and an empty list', async () => {
      const present = ['many/a', 'many/b', 'many/c'].map(key);
      const absent = ['many/never-1', 'many/never-2'].map(key);
      await Promise.all(present.map((name) => store.put(name, Buffer.from(name))));
      const mixed = [absent[0], present[0], present[1], absent[1], present[2]] as string[];
      await expect(store.deleteMany(mixed)).resolves.toBeUndefined();
      for (const name of present) await expectCode(store.stat(name), ['NotFound']);
      await expect(store.deleteMany(mixed)).resolves.toBeUndefined();
      await expect(store.deleteMany([])).resolves.toBeUndefined();
    });

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
