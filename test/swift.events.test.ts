/**
 * The samples in events/swift/ (one per authentication mode) run through the handlers against the real
 * Swift all-in-one, each with a secret of its mode's keys in the directory its `credentials` names
 * (moved under a temporary root). Keystone modes go through the Keystone contract fake.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationResult } from '../lib/status/result.js';
import { KEYSTONE_IDENTITY, startKeystoneFake, type KeystoneFake } from './fakes/keystone.js';
import { lambdaContext } from './support/lambda.js';
import { writeSecret } from './support/mounted-secret.js';
import { swiftServer, tempauthToken, v1Secret } from './support/swift.js';

const { handler: initializeHandler } = await import('../functions/initialize.js');
const { handler: checkHandler } = await import('../functions/check.js');

const eventsDir = join(import.meta.dirname, '..', 'events', 'swift');
const files = (await readdir(eventsDir)).filter((file) => file.endsWith('.json')).sort();
const RESTIC_PASSWORD = 'events-restic-password';

describe('events/swift samples through the handlers (real Swift; Keystone modes via the contract fake)', () => {
  let keystone: KeystoneFake;
  let secretsRoot: string;

  /** The keys of each mode's secret, as the sample's file name says. */
  async function secretFor(file: string): Promise<Record<string, string>> {
    const { user, project, domain, applicationCredential } = KEYSTONE_IDENTITY;
    const region = { OS_REGION_NAME: KEYSTONE_IDENTITY.regions.real };
    if (file.includes('keystone-v2')) {
      return {
        OS_AUTH_URL: `${keystone.url}/v2.0`,
        OS_USERNAME: user.name,
        OS_PASSWORD: user.password,
        OS_TENANT_NAME: project.name,
        ...region,
      };
    }
    if (file.includes('keystone-v3')) {
      return {
        OS_AUTH_URL: `${keystone.url}/v3`,
        OS_USERNAME: user.name,
        OS_PASSWORD: user.password,
        OS_USER_DOMAIN_NAME: domain.name,
        OS_PROJECT_NAME: project.name,
        OS_PROJECT_DOMAIN_NAME: domain.name,
        ...region,
      };
    }
    if (file.includes('application-credential')) {
      return {
        OS_AUTH_URL: `${keystone.url}/v3`,
        OS_APPLICATION_CREDENTIAL_ID: applicationCredential.id,
        OS_APPLICATION_CREDENTIAL_SECRET: applicationCredential.secret,
        ...region,
      };
    }
    if (file.includes('token')) {
      const { token, storageUrl } = await tempauthToken();
      return { OS_STORAGE_URL: storageUrl, OS_AUTH_TOKEN: token };
    }
    return v1Secret();
  }

  async function run(file: string): Promise<{ event: Record<string, unknown>; result: OperationResult }> {
    const event = JSON.parse(await readFile(join(eventsDir, file), 'utf8')) as Record<string, unknown>;
    const dir = join(secretsRoot, basename(String(event.credentials).replace(/^dir:/, '')));
    const credentials = await writeSecret(dir, { ...(await secretFor(file)), RESTIC_PASSWORD });
    const handler = file.startsWith('initialize') ? initializeHandler : checkHandler;
    const result = (await handler({ ...event, credentials } as never, lambdaContext())) as OperationResult;
    return { event, result };
  }

  beforeAll(async () => {
    const swift = swiftServer();
    keystone = await startKeystoneFake({
      swiftAuthUrl: swift.authUrl,
      swiftUser: swift.user,
      swiftKey: swift.key,
    });
    secretsRoot = await mkdtemp(join(tmpdir(), 'bsf-swift-events-'));
  });
  afterAll(async () => {
    await keystone?.close();
  });

  it('has a sample for every authentication mode', () => {
    for (const mode of ['v1', 'keystone-v2', 'keystone-v3', 'application-credential', 'token']) {
      expect(files.some((file) => file.startsWith('check-') && file.endsWith(`${mode}.json`))).toBe(true);
    }
  });

  it('initialize-v1.json creates the container and the Stash repository', async () => {
    const { result } = await run('initialize-v1.json');
    expect(result.status.phase, JSON.stringify(result.status)).toBe('Ready');
  });

  it.each(files.filter((file) => file.startsWith('check-')))(
    '%s authenticates and reads through the real Swift',
    async (file) => {
      const { result } = await run(file);
      const byType = Object.fromEntries(result.status.conditions.map((c) => [c.type, c]));
      expect(byType.BackendAuthenticated?.status, JSON.stringify(result.status)).toBe('True');
      expect(byType.BackendReadable?.status, JSON.stringify(result.status)).toBe('True');
      // Samples on the prefix initialize-v1.json initialized find their repository: Ready.
      if (result.storage.prefix === 'demo/deployment/stash-demo')
        expect(result.status.phase, JSON.stringify(result.status)).toBe('Ready');
    },
  );
});
