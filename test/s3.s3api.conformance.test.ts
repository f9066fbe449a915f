import { beforeAll } from 'vitest';
import { serverInfo } from './support/servers.js';
import { describeObjectStore } from './support/conformance.js';
import { ensureBucket, freshBucket, openS3, s3apiTarget } from './support/s3-stores.js';

const s3api = s3apiTarget(serverInfo('swift'), freshBucket('s3api'));

beforeAll(() => ensureBucket(s3api));

describeObjectStore('s3 on OpenStack Swift s3api', {
  store: () => openS3(s3api),
  missingBucketStore: () => openS3(s3api, { bucket: freshBucket('missing') }),
});
