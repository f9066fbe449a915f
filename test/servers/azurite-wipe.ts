/**
 * A third azurite, on any free port, for the cleanup suite alone: it fills and wipes thousands of blobs
 * while the inventory suite fills its own (azurite-bulk.ts). One azurite serving both stalled both on a
 * loaded machine.
 */
import { startAzurite } from './azurite.js';
import type { TestServer } from './types.js';

export const server: TestServer = { name: 'azurite-wipe', start: () => startAzurite(true) };
