/**
 * The contract fake of the Backblaze B2 native API (test/fakes/b2.ts), started once per test run. No real
 * B2 server exists (shared/spec/emulators.md), so this fake, driven by the real `backblaze-b2` client, is
 * what the B2 adapter's tests run against. Readiness: an authorize call with the master key answers.
 *
 * Published info (all strings):
 * - endpoint: the fake's base URL; pass it as options.endpoint (the adapter authorizes at
 *   `<endpoint>/b2api/v2/b2_authorize_account`, and the fake returns itself as apiUrl and downloadUrl)
 * - accountId / masterKey: the account's master key (B2_ACCOUNT_ID / B2_ACCOUNT_KEY)
 * Keys restricted to a bucket or prefix, buckets, error injection and statistics: B2FakeControl.
 */
import { B2Fake } from '../fakes/b2.js';
import { waitUntil } from '../support/process.js';
import type { StartedServer, TestServer } from './types.js';

export const server: TestServer = {
  name: 'b2-fake',
  async start(): Promise<StartedServer> {
    const fake = new B2Fake();
    const endpoint = await fake.start();
    const basic = Buffer.from(`${fake.accountId}:${fake.masterKey}`).toString('base64');
    await waitUntil(
      async () => {
        const response = await fetch(`${endpoint}/b2api/v2/b2_authorize_account`, {
          headers: { authorization: `Basic ${basic}` },
          signal: AbortSignal.timeout(1000),
        });
        await response.arrayBuffer();
        return response.status === 200;
      },
      10_000,
      'B2 contract fake',
    );
    return {
      info: { endpoint, accountId: fake.accountId, masterKey: fake.masterKey },
      stop: () => fake.stop(),
    };
  },
};
