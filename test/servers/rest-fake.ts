/**
 * The contract fake of restic's REST protocol (test/fakes/rest-server.ts), started once per test run,
 * with one listener per server mode over the same files (rest-server run several times on one
 * directory). Readiness: a repository is created and its keys listed through the normal listener.
 *
 * Published info (all strings):
 * - endpoint: rest-server's defaults (uploads verified, deletes allowed, v2 listings)
 * - appendOnlyEndpoint: rest-server --append-only (deletes refused except of locks)
 * - strictAppendOnlyEndpoint: a server refusing every delete, locks included
 * - v1Endpoint: an old server that answers listings only in the v1 format
 * - unverifiedEndpoint: rest-server --no-verify-upload (file names need not be their content's hash)
 * - username / password: the one user's basic-auth credentials
 */
import { RestServerFake } from '../fakes/rest-server.js';
import { waitUntil } from '../support/process.js';
import type { StartedServer, TestServer } from './types.js';

export const server: TestServer = {
  name: 'rest-fake',
  async start(): Promise<StartedServer> {
    const fake = new RestServerFake();
    const [endpoint, appendOnlyEndpoint, strictAppendOnlyEndpoint, v1Endpoint, unverifiedEndpoint] =
      await Promise.all([
        fake.listen(),
        fake.listen({ appendOnly: 'rest-server' }),
        fake.listen({ appendOnly: 'strict' }),
        fake.listen({ v1Only: true }),
        fake.listen({ verifyUploads: false }),
      ]);
    const authorization = `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString('base64')}`;
    await waitUntil(
      async () => {
        const created = await fetch(`${endpoint}/readiness/?create=true`, {
          method: 'POST',
          headers: { authorization },
          signal: AbortSignal.timeout(1000),
        });
        await created.arrayBuffer();
        const listed = await fetch(`${endpoint}/readiness/keys/`, {
          headers: { authorization, accept: 'application/vnd.x.restic.rest.v2' },
          signal: AbortSignal.timeout(1000),
        });
        return created.status === 200 && listed.status === 200 && (await listed.text()) === '[]';
      },
      10_000,
      'restic REST contract fake',
    );
    return {
      info: {
        endpoint,
        appendOnlyEndpoint,
        strictAppendOnlyEndpoint,
        v1Endpoint,
        unverifiedEndpoint,
        username: fake.username,
        password: fake.password,
      },
      stop: () => fake.stop(),
    };
  },
};
