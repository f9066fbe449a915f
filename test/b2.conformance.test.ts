import { describeObjectStore } from './support/conformance.js';
import { b2Fake, b2Store, uniqueBucketName } from './support/b2.js';

const fake = b2Fake();
const master = { keyId: fake.accountId, key: fake.masterKey };
const bucket = uniqueBucketName('conformance');
await fake.control.createBucket(bucket);

describeObjectStore('b2 with the master key (contract fake of the B2 native API)', {
  store: async () => b2Store({ bucket, ...master }),
  missingBucketStore: async () => b2Store({ bucket: uniqueBucketName('missing'), ...master }),
});

const scopedBucket = uniqueBucketName('conformance-scoped');
await fake.control.createBucket(scopedBucket);
const scoped = await fake.control.createKey({ bucketName: scopedBucket });

describeObjectStore('b2 with a bucket-restricted application key (contract fake of the B2 native API)', {
  store: async () =>
    b2Store({ bucket: scopedBucket, keyId: scoped.applicationKeyId, key: scoped.applicationKey }),
  // A bucket-restricted key cannot create buckets; the bucket-creating part runs with the master key.
  missingBucketStore: async () => b2Store({ bucket: uniqueBucketName('missing-scoped'), ...master }),
});
