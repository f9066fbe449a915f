/**
 * A second azurite, on any free port, for the suites that fill a container with thousands of blobs
 * (inventory and cleanup). azurite keeps every blob in one in-memory table; under such a load it can
 * stall other callers for seconds on a busy machine, so the bulk suites get their own.
 */
import { startAzurite } from './azurite.js';
import type { TestServer } from './types.js';

export const server: TestServer = { name: 'azurite-bulk', start: () => startAzurite(true) };
