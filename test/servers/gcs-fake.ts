/**
 * The contract fake of the GCS JSON API (test/fakes/gcs.ts), started once per run in the harness's
 * process. Tests reach its faults and trusted keys through its `/_fake/` controls.
 */
import { startFakeGcs } from '../fakes/gcs.js';
import { httpAnswers, waitUntil } from '../support/process.js';
import type { TestServer } from './types.js';

export const GCS_FAKE_PROJECT = 'bsf-fake-project';
/** A bucket that exists from the start; suites write under unique prefixes or use their own buckets. */
export const GCS_FAKE_BUCKET = 'bsf-existing';

export const server: TestServer = {
  name: 'gcs-fake',
  async start() {
    const fake = await startFakeGcs();
    fake.createBucket(GCS_FAKE_BUCKET, GCS_FAKE_PROJECT);
    await waitUntil(
      () => httpAnswers(`${fake.endpoint}/storage/v1/b/${GCS_FAKE_BUCKET}`),
      5000,
      'gcs contract fake',
    );
    return {
      info: { endpoint: fake.endpoint, projectId: GCS_FAKE_PROJECT, bucket: GCS_FAKE_BUCKET },
      stop: () => fake.stop(),
    };
  },
};
