import { serverInfo } from './support/servers.js';
import { describeObjectStore } from './support/conformance.js';
import { freshBucket, openS3, type S3Target } from './support/s3-stores.js';

const s3rver = serverInfo('s3rver') as unknown as S3Target;

describeObjectStore('s3 on s3rver', {
  store: () => openS3(s3rver),
  missingBucketStore: () => openS3(s3rver, { bucket: freshBucket('missing') }),
  // Emulator limits, not the adapter's (both cases run on Swift's s3api, test/s3.s3api.conformance.test.ts):
  notApplicable: {
    pageLimitFolded:
      's3rver counts only objects against max-keys, never the common prefixes (S3 counts both)',
    abortInFlight:
      's3rver streams a body straight into the object file and checks neither Content-Length nor the Content-MD5 the adapter sends, so an aborted upload leaves the bytes that arrived (S3 refuses a short or mismatched body)',
  },
});
