/**
 * initialize and check end to end on azurite, through the Lambda handlers (direct and HTTP events), in
 * KubeStash and Stash forms, with credentials read from `dir:` references as a mounted Secret would be.
 */
import { randomUUID } from 'node:crypto';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';
import { condition, invokeBoth } from './support/handlers.js';
import { secretsRoot } from './support/mounted-secret.js';
import { serverInfo } from './support/servers.js';

const azurite = serverInfo('azurite');
const account = azurite.accountName as string;
const accountKey = azurite.accountKey as string;
const endpoint = azurite.endpoint as string;
const sharedKey = new StorageSharedKeyCredential(account, accountKey);
const service = new BlobServiceClient(endpoint, sharedKey);

// The deployment's template turns a manifest's secret name into a dir: reference; read at cold start.
const { source, secret } = await secretsRoot('azure');
process.env.CREDENTIALS_SOURCE = source;
const initialize = invokeBoth((await import('../functions/initialize.js')).handler);
const check = invokeBoth((await import('../functions/check.js')).handler);

function uniqueContainer(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

function backupStorage(
  container: string,
  secretName: string,
  prefix = 'demo/cluster-a',
): Record<string, unknown> {
  return {
    apiVersion: 'storage.kubestash.com/v1alpha1',
    kind: 'BackupStorage',
    metadata: { name: `azure-${container}`, namespace: 'demo' },
    spec: {
      storage: {
        provider: 'azure',
        azure: { storageAccount: account, container, prefix, maxConnections: 8, secretName },
      },
      usagePolicy: { allowedNamespaces: { from: 'All' } },
      deletionPolicy: 'WipeOut',
    },
  };
}

function repository(container: string, storageSecretName: string): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: `azure-${container}`, namespace: 'demo' },
    spec: { backend: { azure: { container, prefix: '/demo/deployment/stash-demo' }, storageSecretName } },
  };
}

async function blobNames(container: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of service.getContainerClient(container).listBlobsFlat()) names.push(blob.name);
  return names;
}

describe('azure handlers on azurite', () => {
  beforeAll(async () => {
    await secret('demo', 'azure-secret', { AZURE_ACCOUNT_KEY: accountKey });
    await secret('demo', 'stash-azure-secret', {
      AZURE_ACCOUNT_NAME: account,
      AZURE_ACCOUNT_KEY: `${accountKey}\n`,
      RESTIC_PASSWORD: 'not-used-here',
    });
  });

  it('initializes a KubeStash BackupStorage (direct event), creating the container, then checks it (HTTP event)', async () => {
    const container = uniqueContainer('ks');
    const storage = backupStorage(container, 'azure-secret');
    const initialized = await initialize.direct({ storage, options: { endpoint, createBucket: true } });
    expect(condition(initialized, 'BackendInitialized').status, JSON.stringify(initialized.status)).toBe(
      'True',
    );
    expect(initialized.status.phase).toBe('Ready');
    expect(initialized.status.conditionalWrites).toBe(true);
    expect(initialized.storage).toMatchObject({
      provider: 'azure',
      flavor: 'kubestash',
      container,
      prefix: 'demo/cluster-a',
    });
    expect(await blobNames(container)).toEqual(['demo/cluster-a/metadata.yaml']);

    const checked = await check.http({ storage, options: { endpoint } });
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    for (const type of [
      'BackendSecretFound',
      'BackendReachable',
      'BackendAuthenticated',
      'BackendReadable',
      'BackendWritable',
    ]) {
      expect(condition(checked, type).status).toBe('True');
    }
    expect(condition(checked, 'BackendWritable').message).toContain('checksum');
    // The probe leaves nothing behind, and a second initialize accepts its own marker without rewriting it.
    const before = (
      await service
        .getContainerClient(container)
        .getBlobClient('demo/cluster-a/metadata.yaml')
        .getProperties()
    ).etag;
    const again = await initialize.http({ storage, options: { endpoint } });
    expect(condition(again, 'BackendInitialized').status).toBe('True');
    expect(
      (
        await service
          .getContainerClient(container)
          .getBlobClient('demo/cluster-a/metadata.yaml')
          .getProperties()
      ).etag,
    ).toBe(before);
    expect(await blobNames(container)).toEqual(['demo/cluster-a/metadata.yaml']);
  });

  it('lets exactly one of 20 concurrent initializers write metadata.yaml; the others accept it', async () => {
    const container = uniqueContainer('race');
    await service.getContainerClient(container).create();
    const storage = backupStorage(container, 'azure-secret', 'race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 ? initialize.http : initialize.direct)({ storage, options: { endpoint } }),
      ),
    );
    const messages = results.map((result) => condition(result, 'BackendInitialized'));
    expect(
      messages.every((c) => c.status === 'True'),
      JSON.stringify(messages),
    ).toBe(true);
    expect(messages.filter((c) => c.message === 'Successfully initialized backend.')).toHaveLength(1);
    expect(await blobNames(container)).toEqual(['race/metadata.yaml']);
  });

  it('initializes and checks a Stash Repository whose secret names the account (HTTP, then direct event)', async () => {
    const container = uniqueContainer('stash');
    await service.getContainerClient(container).create();
    const storage = repository(container, 'stash-azure-secret');
    const initialized = await initialize.http({ storage, options: { endpoint } });
    expect(initialized.status.phase, JSON.stringify(initialized.status)).toBe('Ready');
    expect(initialized.storage).toMatchObject({
      flavor: 'stash',
      kind: 'Repository',
      container,
      prefix: 'demo/deployment/stash-demo',
    });
    const checked = await check.direct({ storage, options: { endpoint } });
    expect(checked.status.phase, JSON.stringify(checked.status)).toBe('Ready');
    // Stash's marker is its restic repository; the write probes leave nothing behind.
    const names = await blobNames(container);
    expect(names).toContain('demo/deployment/stash-demo/config');
    expect(names.every((name) => name.startsWith('demo/deployment/stash-demo/'))).toBe(true);
    expect(names.filter((name) => name.includes('.backupstorage-probe-'))).toEqual([]);
  });

  it('reports a wrong account key as Unauthenticated', async () => {
    const container = uniqueContainer('wrongkey');
    await service.getContainerClient(container).create();
    const wrongKey = Buffer.from(randomUUID().repeat(2)).toString('base64');
    const credentials = await secret('demo', 'wrong-key', { AZURE_ACCOUNT_KEY: wrongKey });
    const checked = await check.direct({
      storage: backupStorage(container, 'wrong-key'),
      credentials,
      options: { endpoint },
    });
    expect(checked.status.phase).toBe('NotReady');
    expect(condition(checked, 'BackendReachable').status).toBe('True');
    const authenticated = condition(checked, 'BackendAuthenticated');
    expect(authenticated.status).toBe('False');
    expect(authenticated.reason).toBe('Unauthenticated');
    expect(authenticated.hint).toContain('AZURE_ACCOUNT_KEY');
    expect(JSON.stringify(checked)).not.toContain(wrongKey);
  });

  it('reports a missing container as NotFound, and initialize without createBucket leaves it missing', async () => {
    const container = uniqueContainer('absent');
    const storage = backupStorage(container, 'azure-secret');
    const checked = await check.http({ storage, options: { endpoint } });
    expect(checked.status.phase).toBe('NotReady');
    expect(condition(checked, 'BackendAuthenticated').status).toBe('True');
    expect(condition(checked, 'BackendReadable')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(condition(checked, 'BackendReadable').message).toContain('container does not exist');
    const initialized = await initialize.direct({ storage, options: { endpoint } });
    expect(condition(initialized, 'BackendInitialized')).toMatchObject({
      status: 'False',
      reason: 'NotFound',
    });
    expect(await service.getContainerClient(container).exists()).toBe(false);
  });

  it('reports a read-only SAS as readable but not writable, with a clear reason', async () => {
    const container = uniqueContainer('readonly');
    await service.getContainerClient(container).create();
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn: new Date(Date.now() + 3600_000),
        permissions: AccountSASPermissions.parse('rl'),
        resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
        services: AccountSASServices.parse('b').toString(),
      },
      sharedKey,
    ).toString();
    const signature = new URLSearchParams(sas).get('sig') as string;
    const credentials = await secret('demo', 'read-only-sas', { AZURE_ACCOUNT_SAS: `?${sas}` });
    const checked = await check.http({
      storage: backupStorage(container, 'read-only-sas'),
      credentials,
      options: { endpoint },
    });
    expect(checked.status.phase).toBe('NotReady');
    expect(condition(checked, 'BackendAuthenticated').status).toBe('True');
    expect(condition(checked, 'BackendReadable').status).toBe('True');
    const writable = condition(checked, 'BackendWritable');
    expect(writable).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(writable.message).toBe(
      'write probe failed: the credentials may not write blobs (AuthorizationPermissionMismatch)',
    );
    expect(writable.hint).toContain('permissions rwdlc');
    const json = JSON.stringify(checked);
    expect(json).not.toContain(signature);
    expect(json).not.toContain(encodeURIComponent(signature));
    expect(json).not.toContain('sig=');
    expect(json).not.toContain('<?xml');

    // The same SAS with options.readOnly: a healthy read-only storage.
    const readOnly = await check.direct({
      storage: backupStorage(container, 'read-only-sas'),
      credentials,
      options: { endpoint, readOnly: true },
    });
    expect(condition(readOnly, 'BackendReadable').status).toBe('True');
    expect(condition(readOnly, 'BackendWritable').status).toBe('Unknown');
  });

  it('reports a SAS with a forged signature as Unauthenticated without echoing it', async () => {
    const container = uniqueContainer('forged');
    await service.getContainerClient(container).create();
    const forged = `sv=2021-08-06&ss=b&srt=sco&sp=rwdlc&se=2099-01-01T00:00:00Z&sig=${encodeURIComponent(Buffer.from('forged-signature-value-0123456789').toString('base64'))}`;
    const credentials = await secret('demo', 'forged-sas', { AZURE_ACCOUNT_SAS: forged });
    const checked = await check.direct({
      storage: backupStorage(container, 'forged-sas'),
      credentials,
      options: { endpoint },
    });
    expect(condition(checked, 'BackendAuthenticated')).toMatchObject({
      status: 'False',
      reason: 'Unauthenticated',
    });
    expect(condition(checked, 'BackendAuthenticated').hint).toContain('AZURE_ACCOUNT_SAS');
    const json = JSON.stringify(checked);
    expect(json).not.toContain('forged-signature');
    expect(json).not.toContain(Buffer.from('forged-signature-value-0123456789').toString('base64'));
    expect(json).not.toContain('sig=');
  });

  it('reports an account whose host does not resolve as Unreachable, hinting at the account name', async () => {
    const storage = backupStorage('backups', 'azure-secret');
    for (const options of [
      { endpoint: 'https://nonexistent-account-xyz.invalid' },
      { endpoint: 'core.invalid' },
    ]) {
      const checked = await check.http({ storage, options });
      expect(checked.status.phase).toBe('NotReady');
      const reachable = condition(checked, 'BackendReachable');
      expect(reachable).toMatchObject({ status: 'False', reason: 'Unreachable' });
      expect(reachable.message).toMatch(
        /the storage host (nonexistent-account-xyz\.invalid|devstoreaccount1\.blob\.core\.invalid) does not resolve/,
      );
      expect(reachable.hint).toContain('storage account name may be wrong');
      expect(condition(checked, 'BackendAuthenticated').status).toBe('Unknown');
      expect(JSON.stringify(checked)).not.toContain(accountKey);
    }
  });
});
