/** Shared set-up of the B2 tests: the contract fake's info, its control client, stores on it. */
import { randomBytes } from 'node:crypto';
import { B2Store } from '../../lib/backends/b2/store.js';
import { withConnectionLimit } from '../../lib/backends/connection-limit.js';
import type { ObjectStore } from '../../lib/backends/object-store.js';
import { B2FakeControl } from '../fakes/b2.js';
import { serverInfo } from './servers.js';

export function b2Fake(): { endpoint: string; accountId: string; masterKey: string; control: B2FakeControl } {
  const info = serverInfo('b2-fake');
  return {
    endpoint: info.endpoint as string,
    accountId: info.accountId as string,
    masterKey: info.masterKey as string,
    control: new B2FakeControl(info.endpoint as string),
  };
}

/** A bucket name no other test file uses (B2 names are global, and so are the fake's). */
export function uniqueBucketName(label: string): string {
  return `${label}-${randomBytes(5).toString('hex')}`.slice(0, 50);
}

export function b2Store(options: {
  bucket: string;
  prefix?: string;
  keyId: string;
  key: string;
  maxConnections?: number;
}): ObjectStore {
  const { maxConnections, ...store } = options;
  const b2 = new B2Store({ ...store, endpoint: b2Fake().endpoint });
  // Limited as the registry opens it (lib/backends/registry.ts).
  return withConnectionLimit(b2, maxConnections ?? b2.capabilities.connections);
}
