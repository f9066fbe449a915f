/**
 * Fuzzing the HTTP handlers with fast-check: 10,000 generated bodies (random JSON, YAML and text, deep
 * nesting, huge strings, a wrong type in every field of valid requests, unicode in keys and prefixes)
 * through initialize, check, inventory and cleanup as API Gateway events. Expected: no response of 500
 * or above, no unhandled rejection, and every 4xx says what is wrong: a code and a message, and for an
 * invalid request the path of each offending field (for a wrong-typed field, that field or its parent).
 * Valid bodies land on a local volume, or on the metadata address, which the endpoint guard refuses.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEvent, lambdaContext } from './support/lambda.js';

process.env.LOCAL_VOLUME_ROOT = await mkdtemp(join(tmpdir(), 'bsf-fuzz-volume-'));
const handlers = {
  initialize: (await import('../functions/initialize.js')).handler,
  check: (await import('../functions/check.js')).handler,
  inventory: (await import('../functions/inventory.js')).handler,
  cleanup: (await import('../functions/cleanup.js')).handler,
};
type HandlerName = keyof typeof handlers;
const HANDLER_NAMES = Object.keys(handlers) as HandlerName[];

interface Outcome {
  statusCode: number;
  json: { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } };
}

/** Sends a raw body with a content type through one handler, as API Gateway would. */
async function send(name: HandlerName, body: string, contentType = 'application/json'): Promise<Outcome> {
  const event = httpEvent('', `/v1/${name}`) as { headers: Record<string, string>; body: string };
  event.headers['Content-Type'] = contentType;
  event.body = body;
  const response = (await handlers[name](event as never, lambdaContext(10_000))) as {
    statusCode: number;
    body: string;
  };
  return { statusCode: response.statusCode, json: JSON.parse(response.body) as Outcome['json'] };
}

const counts = { runs: 0, '2xx': 0, '4xx': 0, '5xx': 0, unhandled: 0 };
const onUnhandled = (): void => {
  counts.unhandled += 1;
};
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  console.info(`fuzz: ${JSON.stringify(counts)}`);
});

/** The common expectations; returns the outcome for more specific ones. */
function expectWellFormed(outcome: Outcome, input: unknown): Outcome {
  counts.runs += 1;
  const bucket = outcome.statusCode >= 500 ? '5xx' : outcome.statusCode >= 400 ? '4xx' : '2xx';
  counts[bucket] += 1;
  const shown = JSON.stringify(input)?.slice(0, 300);
  expect(outcome.statusCode, `${shown} → ${JSON.stringify(outcome.json).slice(0, 300)}`).toBeLessThan(500);
  if (outcome.statusCode >= 400) {
    expect(outcome.json.error?.code, shown).toMatch(/^[A-Za-z]+$/);
    expect(outcome.json.error?.message, shown).toBeTruthy();
    if (outcome.json.error?.code === 'InvalidRequest') {
      expect(outcome.json.error.issues?.length, shown).toBeGreaterThan(0);
      for (const issue of outcome.json.error.issues ?? []) expect(typeof issue.path).toBe('string');
    }
  }
  return outcome;
}

// ---- valid requests to mutate ----------------------------------------------------------------------

// The endpoint guard refuses this at once (no connection, no retry), so valid bodies finish fast.
const CLOSED = 'http://169.254.169.254';

function kubestash(provider: string, block: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'fuzz', namespace: 'demo' },
    spec: { storage: { provider, [provider]: block }, deletionPolicy: 'WipeOut', default: true },
  };
}

function stash(backend: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'fuzz', namespace: 'demo' },
    spec: { backend: { ...backend, storageSecretName: 'secret' }, wipeOut: false },
  };
}

const BASES: Record<string, unknown>[] = [
  {
    storage: kubestash('s3', {
      endpoint: CLOSED,
      bucket: 'fuzz-bucket',
      region: 'us-east-1',
      prefix: 'a/b',
      maxConnections: 4,
    }),
    credentials: 'env',
    options: { timeoutSeconds: 0.3, readOnly: true },
  },
  {
    storage: kubestash('gcs', { bucket: 'fuzz-bucket', prefix: 'p', maxConnections: 2 }),
    options: { endpoint: CLOSED, timeoutSeconds: 0.3 },
  },
  {
    storage: kubestash('azure', { storageAccount: 'acct', container: 'fuzz', prefix: 'p' }),
    options: { endpoint: `${CLOSED}/acct`, timeoutSeconds: 0.3 },
  },
  {
    storage: kubestash('local', {
      mountPath: '/data',
      subPath: 'fuzz/x',
      persistentVolumeClaim: { claimName: 'pvc' },
    }),
    options: { createBucket: true },
  },
  {
    storage: stash({ s3: { endpoint: CLOSED, bucket: 'fuzz-bucket', prefix: '/stash' } }),
    options: { timeoutSeconds: 0.3 },
  },
  {
    storage: stash({ b2: { bucket: 'fuzz-bucket', prefix: 'x', maxConnections: 3 } }),
    options: { endpoint: CLOSED, timeoutSeconds: 0.3 },
  },
  {
    storage: stash({ swift: { container: 'fuzz', prefix: 'x' } }),
    options: { endpoint: CLOSED, timeoutSeconds: 0.3 },
  },
  { storage: stash({ local: { mountPath: '/data', subPath: 'stash' } }), options: { inventory: true } },
];

type Path = (string | number)[];

/** Every path to a value inside a request (objects and arrays included). */
function pathsOf(value: unknown, base: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [base];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [base, ...entries.flatMap(([key, child]) => pathsOf(child, [...base, key]))].filter(
    (p) => p.length > 0,
  );
}

function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1) as string | number] = replacement;
  return copy;
}

function getAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** A value of another JSON type than `original`. */
function wrongType(original: unknown): fc.Arbitrary<unknown> {
  const candidates: fc.Arbitrary<unknown>[] = [
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.jsonValue(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 3 }),
    fc.string({ maxLength: 20 }),
  ];
  return fc
    .oneof(...candidates)
    .filter(
      (value) =>
        kindOf(value) !== kindOf(original) && !(typeof value === 'number' && typeof original === 'number'),
    );
}

/** Whether a handler accepts an unmutated base (cleanup, for one, wants options.confirm). */
const baselineAccepted = new Map<string, boolean>();
async function accepts(name: HandlerName, base: Record<string, unknown>): Promise<boolean> {
  const key = `${name}:${BASES.indexOf(base)}`;
  if (!baselineAccepted.has(key))
    baselineAccepted.set(key, (await send(name, JSON.stringify(base))).statusCode < 400);
  return baselineAccepted.get(key) as boolean;
}

/** apiVersion and kind name the manifest type together: an error in one may be reported at the other. */
function sameField(target: string, issuePath: string): boolean {
  const pair = (path: string): string => path.replace(/\.(apiVersion|kind)$/, '.[type]');
  const [t, i] = [pair(target), pair(issuePath)];
  return t.startsWith(i) || i.startsWith(t);
}

const mutation = fc
  .constantFrom(...BASES)
  .chain((base) =>
    fc
      .constantFrom(...pathsOf(base))
      .chain((path) => wrongType(getAt(base, path)).map((value) => ({ base, path, value }))),
  );

function dotted(path: Path): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${key}`))
    .join('');
}

/** Deeply nested arrays/objects around a leaf, as text (JSON, and YAML flow style, which JSON is a subset of). */
const deep = fc
  .tuple(fc.integer({ min: 50, max: 5_000 }), fc.boolean(), fc.constantFrom('1', '"x"', 'null', '{}'))
  .map(([depth, arrays, leaf]) =>
    arrays
      ? `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`
      : `${'{"storage":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`,
  );

const unicodeKey = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });

describe('fuzzing the HTTP handlers (10,000 bodies)', () => {
  const handler = fc.constantFrom(...HANDLER_NAMES);

  it('random JSON values (2,500)', async () => {
    await fc.assert(
      fc.asyncProperty(handler, fc.jsonValue({ maxDepth: 6 }), async (name, value) => {
        expectWellFormed(await send(name, JSON.stringify(value) ?? 'null'), value);
      }),
      { numRuns: 2500 },
    );
  });

  it('random text as JSON and as YAML, and YAML documents (1,500)', async () => {
    await fc.assert(
      fc.asyncProperty(
        handler,
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.jsonValue({ maxDepth: 5 }).map((value) => stringify(value)),
        ),
        fc.constantFrom(
          'application/json',
          'application/yaml',
          'text/yaml',
          'application/x-yaml; charset=utf-8',
          'text/plain',
        ),
        async (name, text, contentType) => {
          expectWellFormed(await send(name, text, contentType), text);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('deep nesting in JSON and YAML (500)', async () => {
    await fc.assert(
      fc.asyncProperty(handler, deep, fc.boolean(), async (name, text, yaml) => {
        expectWellFormed(
          await send(name, text, yaml ? 'application/yaml' : 'application/json'),
          `[depth ${text.length}]`,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('huge strings in every position, around the body limit (200)', async () => {
    await fc.assert(
      fc.asyncProperty(
        handler,
        fc.constantFrom(...BASES),
        fc.integer({ min: 2_000, max: 1_100_000 }),
        async (name, base, size) => {
          const paths = pathsOf(base);
          const path = paths[size % paths.length] as Path;
          const body = JSON.stringify(setAt(base, path, 'x'.repeat(size)));
          const outcome = expectWellFormed(await send(name, body), `${dotted(path)} = ${size} chars`);
          if (Buffer.byteLength(body) > 1024 * 1024) expect(outcome.json.error?.code).toBe('PayloadTooLarge');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a wrong type in every field of valid requests, and the field is named (3,500)', async () => {
    await fc.assert(
      fc.asyncProperty(handler, mutation, async (name, { base, path, value }) => {
        const body = setAt(base, path, value);
        const outcome = expectWellFormed(await send(name, JSON.stringify(body)), {
          path: dotted(path),
          value,
        });
        if (outcome.statusCode < 400 || !(await accepts(name, base))) return;
        const target = dotted(path);
        const issues = outcome.json.error?.issues ?? [];
        // The offending field, one of its ancestors or something inside it.
        const named =
          issues.some((issue) => sameField(target, issue.path)) ||
          // A string where a manifest may be YAML text (storage): the parse error's message names the field.
          (issues.length === 0 && (outcome.json.error?.message ?? '').startsWith(target));
        expect(named, `${target} ← ${JSON.stringify(value)?.slice(0, 80)}: ${JSON.stringify(issues)}`).toBe(
          true,
        );
        expect(issues.length === 0 || issues.some((issue) => issue.path !== ''), target).toBe(true);
      }),
      { numRuns: 3500 },
    );
  });

  it('unicode in keys: unknown fields are named one by one (1,000)', async () => {
    await fc.assert(
      fc.asyncProperty(
        handler,
        fc.constantFrom(...BASES),
        fc.integer({ min: 0, max: 50 }),
        unicodeKey,
        async (name, base, at, key) => {
          const objects = pathsOf(base).filter((p) => kindOf(getAt(base, p)) === 'object');
          const path = [...(objects[at % objects.length] ?? []), key];
          const body = setAt(base, path, 'x');
          const outcome = expectWellFormed(await send(name, JSON.stringify(body)), dotted(path));
          if (outcome.json.error?.code === 'InvalidRequest' && (await accepts(name, base))) {
            expect(
              outcome.json.error.issues?.some(
                (issue) => issue.path.includes(key) || dotted(path).startsWith(issue.path),
              ),
            ).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('unicode in prefixes and names, run for real on a local volume (800)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<HandlerName>('check', 'inventory', 'initialize'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (name, prefix, yaml) => {
          const body = {
            storage: kubestash('local', { mountPath: '/data', subPath: prefix }),
            options: { createBucket: true },
          };
          const text = yaml ? stringify(body) : JSON.stringify(body);
          expectWellFormed(await send(name, text, yaml ? 'application/yaml' : 'application/json'), prefix);
        },
      ),
      { numRuns: 800 },
    );
  });

  it('left no unhandled rejection and no 5xx', () => {
    expect(counts.runs).toBe(10_000);
    expect(counts['5xx']).toBe(0);
    expect(counts.unhandled).toBe(0);
  });
});
