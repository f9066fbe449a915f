import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { handler as check } from '../functions/check.js';
import { handler as initialize } from '../functions/initialize.js';
import { httpEvent, lambdaContext, parseHttpResult } from './support/lambda.js';

let root: string;
const storage = (subPath: string) => ({
  apiVersion: 'storage.kubestash.com/v1alpha1',
  kind: 'BackupStorage',
  metadata: { name: 'local-storage', namespace: 'demo' },
  spec: { storage: { provider: 'local', local: { mountPath: root, subPath, hostPath: { path: '/x' } } }, deletionPolicy: 'Delete' },
});

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bsf-handlers-'));
});

describe('initialize and check through the real middy chain', () => {
  it('answers a direct invoke with the status object', async () => {
    const result = (await initialize({ storage: storage('direct'), options: { createBucket: true } }, lambdaContext())) as any;
    expect(result.operation).toBe('initialize');
    expect(result.status.phase).toBe('Ready');
    expect(result.storage).toMatchObject({ provider: 'local', name: 'local-storage', namespace: 'demo', path: `${root}/direct` });
    const checked = (await check({ storage: storage('direct') }, lambdaContext())) as any;
    expect(checked.status.phase).toBe('Ready');
    expect(checked.status.conditions.map((c: any) => c.type)).toEqual([
      'BackendReachable',
      'BackendAuthenticated',
      'BackendReadable',
      'BackendWritable',
      'MetadataValid',
      'BackendInitialized',
    ]);
  });

  it('answers an HTTP JSON call with 200 and the status, also for a NotReady backend', async () => {
    const ready = parseHttpResult(await initialize(httpEvent({ storage: storage('http'), options: { createBucket: true } }), lambdaContext()));
    expect(ready.statusCode).toBe(200);
    expect(ready.json.status.phase).toBe('Ready');
    const missing = parseHttpResult(await check(httpEvent({ storage: storage('never-created') }), lambdaContext()));
    expect(missing.statusCode).toBe(200);
    expect(missing.json.status.phase).toBe('NotReady');
    const readable = missing.json.status.conditions.find((c: any) => c.type === 'BackendReadable');
    expect(readable).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(readable.hint).toMatch(/mountPath|createBucket/);
  });

  it('accepts a YAML body as kubectl prints it, and a base64-encoded body', async () => {
    const yaml = parseHttpResult(
      await initialize(httpEvent(stringify({ storage: storage('yaml'), options: { createBucket: true } }), { contentType: 'application/yaml' }), lambdaContext()),
    );
    expect(yaml.json.status.phase).toBe('Ready');
    const b64 = parseHttpResult(await check(httpEvent({ storage: storage('yaml') }, { base64: true }), lambdaContext()));
    expect(b64.json.status.phase).toBe('Ready');
  });

  it('accepts a direct invoke whose event is a YAML string', async () => {
    const result = (await initialize(stringify({ storage: storage('yaml-direct'), options: { createBucket: true } }) as any, lambdaContext())) as any;
    expect(result.status.phase).toBe('Ready');
  });
});

describe('bad requests get a specific 4xx, never a 500', () => {
  const cases: [string, ReturnType<typeof httpEvent>, number, string][] = [
    ['malformed JSON', httpEvent('{"storage": ', {}), 400, 'MalformedBody'],
    ['malformed YAML', httpEvent('storage: [a', { contentType: 'text/yaml' }), 400, 'MalformedBody'],
    ['an empty body', httpEvent('', {}), 400, 'InvalidRequest'],
    ['an unknown content type', httpEvent('storage=1', { contentType: 'application/x-www-form-urlencoded' }), 415, 'UnsupportedMediaType'],
    ['an oversized body', httpEvent({ storage: { provider: 'local', mountPath: '/d' }, pad: 'x'.repeat(1_100_000) }), 413, 'PayloadTooLarge'],
    ['an unknown provider', httpEvent({ storage: { provider: 'ftp', host: 'x' } }), 400, 'InvalidRequest'],
    ['a REST server URL that is not http(s)', httpEvent({ storage: { storageSecretName: 's', rest: { url: 'ftp://rest.example' } } }), 400, 'InvalidRequest'],
    ['a missing required field', httpEvent({ storage: { provider: 's3', endpoint: 'x' } }), 400, 'InvalidRequest'],
    ['path traversal in prefix', httpEvent({ storage: { provider: 'gcs', bucket: 'b', prefix: '../../etc' } }), 400, 'InvalidRequest'],
    ['path traversal in mountPath', httpEvent({ storage: { provider: 'local', mountPath: '/data/../../etc' } }), 400, 'InvalidRequest'],
  ];

  it.each(cases)('%s', async (_name, event, status, code) => {
    const result = parseHttpResult(await check(event, lambdaContext()));
    expect(result.statusCode).toBe(status);
    expect(result.json.error.code).toBe(code);
    expect(JSON.stringify(result.json)).not.toMatch(/\bat [\w.]+ \(|node_modules/);
  });

  it('names the offending fields', async () => {
    const result = parseHttpResult(
      await check(httpEvent({ storage: { storageSecretName: 's', s3: { bucket: 'b', endpoint: 'e', prefx: 'p' } }, options: { readOnyl: true } }), lambdaContext()),
    );
    expect(result.statusCode).toBe(400);
    expect(result.json.error.issues.map((i: any) => i.path)).toEqual(['options.readOnyl']);
    const inner = parseHttpResult(await check(httpEvent({ storage: { storageSecretName: 's', s3: { bucket: 'b', endpoint: 'e', prefx: 'p' } } }), lambdaContext()));
    expect(inner.json.error.issues.map((i: any) => i.path)).toEqual(['storage.s3.prefx']);
  });

  it('an invocation out of time answers 504 Timeout, never a bare 500', async () => {
    const body = { storage: { provider: 'local', mountPath: '/tmp', subPath: 'bsf-no-time' } };
    const http = parseHttpResult(await check(httpEvent(body), lambdaContext(1)));
    expect(http.statusCode).toBe(504);
    expect(http.json.error.code).toBe('Timeout');
    const direct = (await check(body, lambdaContext(1))) as any;
    expect([direct.statusCode, direct.error.code]).toEqual([504, 'Timeout']);
  });

  it('answers a bad direct invoke with a structured error instead of throwing', async () => {
    const result = (await check({ storage: { provider: 'local' } }, lambdaContext())) as any;
    expect(result.statusCode).toBe(400);
    expect(result.error.issues.map((i: any) => i.path)).toEqual(['storage.mountPath']);
  });

  it('leaves no probe object behind', async () => {
    const entries = await readdir(join(root, 'http'));
    expect(entries).toEqual(['metadata.yaml']);
  });
});
