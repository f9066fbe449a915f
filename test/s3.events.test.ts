/** The sample events in events/s3/ stay valid requests, and their endpoints read as intended. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveS3Endpoint } from '../lib/backends/s3/endpoint.js';
import { parseRequest } from '../lib/config/request.js';

const dir = join(import.meta.dirname, '..', 'events', 's3');
const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();

describe('events/s3 samples', () => {
  it('cover AWS, MinIO-style and Spaces-style configs in KubeStash and Stash forms', () => {
    for (const style of ['aws', 'minio', 'spaces']) {
      expect(files.some((file) => file.startsWith(`${style}-`) && file.includes('kubestash'))).toBe(true);
      expect(
        files.some(
          (file) => file.startsWith(`${style}-`) && file.includes('stash') && !file.includes('kubestash'),
        ),
      ).toBe(true);
    }
  });

  it.each(files)('%s parses as an s3 request whose endpoint resolves', async (file) => {
    const request = parseRequest(JSON.parse(await readFile(join(dir, file), 'utf8')));
    const { backend } = request.storage;
    expect(backend.provider).toBe('s3');
    if (backend.provider !== 's3') return;
    const endpoint = resolveS3Endpoint(backend.endpoint, request.options.endpoint);
    expect(endpoint.aws).toBe(file.startsWith('aws-'));
    expect(request.storage.flavor).toBe(file.includes('kubestash') ? 'kubestash' : 'stash');
  });
});
