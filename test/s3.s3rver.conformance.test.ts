import { serverInfo } from './support/servers.js';
import { describeObjectStore } from './support/conformance.js';
import { freshBucket, openS3, type S3Target } from './support/s3-stores.js';

const s3rver = serverInfo('s3rver') as unknown as S3Target;

describeObjectStore('s3 on s3rver', {
  store: () => openS3(s3rver),
  missingBucketStore: () => openS3(s3rver, { bucket: freshBucket('missing') }),
});
