import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CredentialsError, referenceFromTemplate, resolveCredentials } from '../lib/credentials/resolve.js';
import { REDACTED, SecretBag, SecretValue } from '../lib/credentials/secret.js';
import { sanitizeText } from '../lib/credentials/redact.js';
import { loadRuntimeConfig } from '../lib/config/runtime.js';
import { parseRequest } from '../lib/config/request.js';
import { check } from '../lib/operations/check.js';
import { Deadline } from '../lib/runtime/deadline.js';
import type { Log } from '../lib/runtime/log.js';

const CANARY = 'canary-7f3a9e2b41c6-secret';
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'bsf-credentials-'));
});

/** A mounted Kubernetes Secret: keys are symlinks into a timestamped `..data` directory. */
async function mountedSecret(dir: string, data: Record<string, string>): Promise<void> {
  const real = join(dir, '..2026_11_22_00_00_00.000000001');
  await mkdir(real, { recursive: true });
  for (const [key, value] of Object.entries(data)) await writeFile(join(real, key), value);
  await symlink(real, join(dir, '..data'));
  for (const key of Object.keys(data)) await symlink(join('..data', key), join(dir, key));
}

describe('secret values are a type that never prints', () => {
  it('redacts in every way a value can be printed or serialized', () => {
    const secret = new SecretValue(CANARY);
    const bag = new SecretBag([['AWS_SECRET_ACCESS_KEY', CANARY]], 'dir:/secrets/demo/s3');
    const printed = [String(secret), `${secret}`, JSON.stringify({ secret, bag }), inspect(secret), inspect(bag), inspect({ nested: { secret } })];
    for (const text of printed) expect(text).not.toContain(CANARY);
    expect(String(secret)).toBe(REDACTED);
    expect(JSON.stringify(bag)).toBe('{"source":"dir:/secrets/demo/s3","keys":["AWS_SECRET_ACCESS_KEY"]}');
    expect(bag.reveal('AWS_SECRET_ACCESS_KEY')).toBe(CANARY);
  });

  it('scrubs secret values, signed-URL parameters, credentials in URLs, PEM blocks and XML dumps from messages', () => {
    const text = sanitizeText(
      `failed ${CANARY} https://acct.blob.core.windows.net/c?sv=2024&sig=abc%2Fdef&se=2030 https://user:pw@host/x -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- <?xml version="1.0"?><Error><Code>AuthenticationFailed</Code></Error>`,
      [CANARY],
    );
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('abc%2Fdef');
    expect(text).not.toContain('pw@');
    expect(text).not.toContain('MIIE');
    expect(text).not.toContain('<Code>');
    expect(text).toContain('failed');
  });
});

describe('credentials references', () => {
  it('reads a mounted Kubernetes Secret directory, skipping its bookkeeping entries', async () => {
    const dir = join(base, 'mounted');
    await mkdir(dir);
    await mountedSecret(dir, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: CANARY });
    const bag = await resolveCredentials(`dir:${dir}`);
    expect(bag.keys()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
    expect(bag.reveal('AWS_SECRET_ACCESS_KEY')).toBe(CANARY);
  });

  it('reads the known keys from the environment, or a prefixed set', async () => {
    process.env.BSF_TEST_ONE_RESTIC_PASSWORD = 'pw';
    process.env.BSF_TEST_ONE_B2_ACCOUNT_ID = 'id';
    const prefixed = await resolveCredentials('env:BSF_TEST_ONE_');
    expect(prefixed.keys()).toEqual(['B2_ACCOUNT_ID', 'RESTIC_PASSWORD']);
    await expect(resolveCredentials('env:BSF_TEST_NOTHING_')).rejects.toMatchObject({ code: 'NotFound' });
    process.env.RESTIC_PASSWORD = 'from-env';
    const plain = await resolveCredentials('env');
    expect(plain.reveal('RESTIC_PASSWORD')).toBe('from-env');
    expect(plain.keys()).not.toContain('PATH');
    delete process.env.RESTIC_PASSWORD;
  });

  it('names the reference, never a value, when it cannot be resolved', async () => {
    const missing = await resolveCredentials(`dir:${join(base, 'absent')}`).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(CredentialsError);
    expect((missing as CredentialsError).code).toBe('NotFound');
    expect((missing as CredentialsError).message).toContain(join(base, 'absent'));
    await expect(resolveCredentials('vault:kv/x')).rejects.toMatchObject({ code: 'InvalidReference' });
  });

  it('expands the secretName template only with Kubernetes names', () => {
    expect(referenceFromTemplate('dir:/secrets/{namespace}/{name}', { namespace: 'demo', name: 's3-secret' })).toBe('dir:/secrets/demo/s3-secret');
    expect(() => referenceFromTemplate('dir:/secrets/{namespace}/{name}', { namespace: '..', name: 'x' })).toThrow(CredentialsError);
    expect(() => referenceFromTemplate('dir:/secrets/{namespace}/{name}', { namespace: 'demo', name: '../../etc' })).toThrow(CredentialsError);
  });
});

describe('credentials in operations', () => {
  const storage = (mountPath: string) => ({
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: 'local-storage', namespace: 'demo' },
    spec: { storage: { provider: 'gcs', gcs: { bucket: 'b', secretName: 'gcs-secret' } } },
    mountPath,
  });
  const lines: string[] = [];
  const log: Log = {
    debug: (m, a) => lines.push(JSON.stringify([m, a])),
    info: (m, a) => lines.push(JSON.stringify([m, a])),
    warn: (m, a) => lines.push(JSON.stringify([m, a])),
    error: (m, a) => lines.push(JSON.stringify([m, a])),
  };

  it('sets BackendSecretFound=False (BackendSecretNotAvailable) when the secret is missing, as KubeStash does', async () => {
    const { mountPath: _unused, ...manifest } = storage('');
    const request = parseRequest({ storage: manifest });
    const config = { ...loadRuntimeConfig({}), credentialsTemplate: `dir:${base}/secrets/{namespace}/{name}` };
    const result = await check(request, { deadline: Deadline.in(5000), config, log });
    expect(result.status.phase).toBe('NotReady');
    expect(result.status.conditions).toEqual([
      expect.objectContaining({ type: 'BackendSecretFound', status: 'False', reason: 'BackendSecretNotAvailable' }),
    ]);
    expect(result.status.conditions[0]?.message).toContain(`${base}/secrets/demo/gcs-secret`);
  });

  it('says how to configure credentials when a secret is named but no source is configured', async () => {
    const { mountPath: _unused, ...manifest } = storage('');
    const result = await check(parseRequest({ storage: manifest }), { deadline: Deadline.in(5000), config: loadRuntimeConfig({}), log });
    expect(result.status.conditions[0]).toMatchObject({ type: 'BackendSecretFound', status: 'False', reason: 'BackendSecretNotAvailable' });
    expect(result.status.conditions[0]?.hint).toMatch(/CREDENTIALS_SOURCE/);
  });

  it('never lets a canary secret reach the status or the logs', async () => {
    const dir = join(base, 'secrets', 'demo', 'local-secret');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'RESTIC_PASSWORD'), CANARY);
    await writeFile(join(dir, 'AWS_SECRET_ACCESS_KEY'), CANARY);
    await mkdir(join(base, 'volume'), { recursive: true });
    const request = parseRequest({
      storage: { provider: 'local', mountPath: join(base, 'volume'), name: 'canary', secretName: 'local-secret', namespace: 'demo' },
      credentials: `dir:${dir}`,
    });
    const result = await check(request, { deadline: Deadline.in(5000), config: loadRuntimeConfig({}), log });
    expect(result.status.conditions.find((c) => c.type === 'BackendSecretFound')?.status).toBe('True');
    expect(JSON.stringify(result)).not.toContain(CANARY);
    expect(lines.join('\n')).not.toContain(CANARY);
  });
});

describe('what the scrubber takes from messages', () => {
  it('scrubs values that authenticate and keeps those that only identify', () => {
    const bag = new SecretBag(
      [
        ['OS_PASSWORD', 'hunter2-password'],
        ['OS_REGION_NAME', 'RegionNine'],
        ['AZURE_ACCOUNT_NAME', 'myaccount'],
        ['AZURE_ACCOUNT_KEY', 'a2V5LWJ5dGVzLWhlcmU='],
      ],
      'test',
    );
    const text = sanitizeText('login hunter2-password failed in RegionNine for myaccount with a2V5LWJ5dGVzLWhlcmU=', bag.revealAll());
    expect(text).toBe('login **redacted** failed in RegionNine for myaccount with **redacted**');
  });
});
