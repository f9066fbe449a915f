import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore } from '../lib/backends/local/store.js';
import { describeObjectStore } from './support/conformance.js';

const base = await mkdtemp(join(tmpdir(), 'bsf-local-conformance-'));

describeObjectStore('local', {
  store: async () => {
    await mkdir(join(base, 'existing'), { recursive: true });
    return new LocalStore(join(base, 'existing'));
  },
  missingBucketStore: async () => new LocalStore(join(base, `missing-${Date.now()}`, 'root')),
});
