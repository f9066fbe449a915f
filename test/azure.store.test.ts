/**
 * Azure adapter behaviour beyond the conformance suite, on azurite: the socket bound of maxConnections,
 * the checksum Put Blob returns, container-scoped SAS tokens, deadlines, and credential-less mode.
 */
import type { ObjectStore } from '../lib/backends/object-store.js';
import { withConnectionLimit } from '../lib/backends/connection-limit.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAzureTarget } from '../lib/backends/azure/auth.js';
import { AzureStore, createStore } from '../lib/backends/azure/store.js';
import { openStore } from '../lib/backends/registry.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { freePort } from './support/process.js';
import { serverInfo } from './support/servers.js';
import { storageFailure } from './support/failure.js';
import { startFaultProxy } from './support/fault-proxy.js';

const azurite = serverInfo('azurite');
const account = azurite.accountName as string;
const accountKey = azurite.accountKey as string;
const sharedKey = new StorageSharedKeyCredential(account, accountKey);
const service = new BlobServiceClient(azurite.endpoint as string, sharedKey);
const keyBag = new SecretBag([['AZURE_ACCOUNT_KEY', accountKey]], 'test');

/** A TCP relay in front of azurite that counts how many connections are open at once. */
async function countingRelay(): Promise<{
  endpoint: string;
  maxOpen: () => number;
  close: () => Promise<void>;
}> {
  let open = 0;
  let maxOpen = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    const upstream = connect(Number(azurite.port), azurite.host as string);
    client.pipe(upstream).pipe(client);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', () => {
      sockets.delete(client);
      open -= 1;
      done();
    });
    upstream.once('close', done);
    client.on('error', done);
    upstream.on('error', done);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}/${account}`,
    maxOpen: () => maxOpen,
    close: () =>
      new Promise((resolve) => {
        // The SDK keeps idle keep-alive connections; cut them so the relay can stop.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function keyStore(
  container: string,
  endpoint = azurite.endpoint as string,
  maxConnections?: number,
  tryTimeoutMs?: number,
): ObjectStore {
  const target = resolveAzureTarget(
    { provider: 'azure', storageAccount: account, container },
    keyBag,
    endpoint,
  );
  const store = new AzureStore({ target, container, credential: sharedKey, tryTimeoutMs });
  // Limited as the registry opens it (lib/backends/registry.ts).
  return withConnectionLimit(store, maxConnections ?? store.capabilities.connections);
}

describe('azure adapter on azurite', () => {
  const container = `store-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    await service.getContainerClient(container).create();
  });
  afterAll(async () => {
    await service.getContainerClient(container).delete();
  });

  it('keeps at most maxConnections connections open, however many calls are made at once', async () => {
    for (const [limit, calls] of [
      [3, 24],
      [12, 24],
    ] as const) {
      const relay = await countingRelay();
      try {
        const store = keyStore(container, relay.endpoint, limit);
        const body = randomBytes(256 * 1024);
        await Promise.all(
          Array.from({ length: calls }, (_, index) => store.put(`bounded-${limit}/${index}`, body)),
        );
        expect(relay.maxOpen()).toBeLessThanOrEqual(limit);
        // The relay does see parallel connections when the bound allows them (the measurement works).
        if (limit === 12) expect(relay.maxOpen()).toBeGreaterThan(3);
        await store.deleteMany(Array.from({ length: calls }, (_, index) => `bounded-${limit}/${index}`));
      } finally {
        await relay.close();
      }
    }
  });

  it('gives up on a try the server never answers and sends it again, within the deadline', async () => {
    const proxy = await startFaultProxy(azurite.endpoint as string);
    try {
      proxy.setFaults((index) => (index === 0 ? { kind: 'blackhole' } : undefined));
      // Long enough that a healthy azurite answers the second try even while other suites load it.
      const tryTimeoutMs = 5_000;
      const store = keyStore(container, proxy.via(azurite.endpoint as string), undefined, tryTimeoutMs);
      const started = Date.now();
      await store.put('stuck/once', Buffer.from('sent again'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(tryTimeoutMs);
      expect(proxy.stats().connections).toBeGreaterThanOrEqual(2);
      expect(Buffer.from(await store.get('stuck/once')).toString()).toBe('sent again');
      await store.delete('stuck/once');
    } finally {
      await proxy.close();
    }
  });

  it('returns the Content-MD5 the service computed over what it received', async () => {
    const store = keyStore(container);
    const body = randomBytes(4096);
    const result = await store.put('checksum/object', body, { contentType: 'application/octet-stream' });
    expect(result.contentMd5).toBe(createHash('md5').update(body).digest('base64'));
    expect(result.etag).toMatch(/^[^"]+$/);
    const info = await store.stat('checksum/object');
    expect(info).toMatchObject({
      key: 'checksum/object',
      size: 4096,
      contentMd5: result.contentMd5,
      etag: result.etag,
    });
  });

  it('works with a container-scoped read/list SAS, which may not read container properties', async () => {
    const store = keyStore(container);
    await store.put('sas/visible', Buffer.from('hello'));
    const sasFor = (name: string): string =>
      generateBlobSASQueryParameters(
        {
          containerName: name,
          permissions: ContainerSASPermissions.parse('rl'),
          expiresOn: new Date(Date.now() + 3600_000),
        },
        sharedKey,
      ).toString();
    const sasStore = await createStore(
      { provider: 'azure', storageAccount: account, container },
      {
        credentials: new SecretBag([['AZURE_ACCOUNT_SAS', sasFor(container)]], 'test'),
        endpoint: azurite.endpoint,
      },
    );
    expect(await sasStore.bucketExists()).toBe(true);
    expect((await sasStore.list('sas/')).objects.map((o) => o.key)).toEqual(['sas/visible']);
    expect(Buffer.from(await sasStore.get('sas/visible')).toString()).toBe('hello');
    const denied = await storageFailure(sasStore.put('sas/denied', Buffer.from('x')));
    expect(denied).toMatchObject({ code: 'PermissionDenied', operation: 'put', key: 'sas/denied' });

    const missing = `absent-${randomUUID().slice(0, 8)}`;
    const missingStore = await createStore(
      { provider: 'azure', storageAccount: account, container: missing },
      {
        credentials: new SecretBag([['AZURE_ACCOUNT_SAS', sasFor(missing)]], 'test'),
        endpoint: azurite.endpoint,
      },
    );
    expect(await missingStore.bucketExists()).toBe(false);
  });

  it('honours the caller’s deadline, also for a call still waiting for a connection slot', async () => {
    const store = keyStore(container, azurite.endpoint, 1);
    const aborted = await storageFailure(store.stat('anything', { signal: AbortSignal.abort() }));
    expect(aborted.code).toBe('Timeout');
    let putFinished = false;
    const slow = store.put('deadline/big', randomBytes(8 * 1024 * 1024)).then(() => {
      putFinished = true;
    });
    const queued = await storageFailure(store.stat('deadline/big', { signal: AbortSignal.timeout(1) }));
    expect(queued).toMatchObject({ code: 'Timeout', operation: 'stat' });
    // It gave up in the queue, not after the put released the only slot.
    expect(putFinished).toBe(false);
    await slow;
  });

  it('opens through the registry and reports a wrong key as Unauthenticated on every call', async () => {
    const store = await openStore(
      { provider: 'azure', storageAccount: account, container },
      {
        credentials: new SecretBag(
          [['AZURE_ACCOUNT_KEY', Buffer.from(randomBytes(64)).toString('base64')]],
          'test',
        ),
        endpoint: azurite.endpoint,
      },
    );
    for (const call of [
      () => store.bucketExists(),
      () => store.list(''),
      () => store.get('x'),
      () => store.put('x', Buffer.from('x')),
    ]) {
      expect((await storageFailure(call())).code).toBe('Unauthenticated');
    }
  });

  it('without key or SAS, asks an Azure identity for a token, and says so when none is available', async () => {
    const saved = { ...process.env };
    // Only the production credentials (environment, workload identity, managed identity), none configured here.
    process.env.AZURE_TOKEN_CREDENTIALS = 'prod';
    for (const name of [
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_CLIENT_SECRET',
      'AZURE_FEDERATED_TOKEN_FILE',
      'IDENTITY_ENDPOINT',
      'MSI_ENDPOINT',
    ]) {
      delete process.env[name];
    }
    try {
      const port = await freePort();
      const store = await createStore(
        { provider: 'azure', storageAccount: 'identityacct', container },
        {
          credentials: SecretBag.empty('credential-less'),
          endpoint: `https://127.0.0.1:${port}/identityacct`,
        },
      );
      const error = await storageFailure(store.list('', { signal: AbortSignal.timeout(20_000) }));
      expect(error.code).toBe('Unauthenticated');
      expect(error.hint).toContain('workload or managed identity');
    } finally {
      process.env = saved;
    }
  });
});
