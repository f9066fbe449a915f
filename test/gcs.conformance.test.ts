import { randomUUID } from 'node:crypto';
import { clientSettings } from '../lib/backends/gcs/auth.js';
import { GcsStore } from '../lib/backends/gcs/store.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { describeObjectStore } from './support/conformance.js';
import { serverInfo } from './support/servers.js';

const fake = serverInfo('gcs-fake');
const credentials = new SecretBag([['GOOGLE_PROJECT_ID', fake.projectId as string]], 'test');
const open = (bucket: string): GcsStore => new GcsStore(bucket, clientSettings(credentials, fake.endpoint));

describeObjectStore('gcs (contract fake of the GCS JSON API)', {
  store: async () => open(fake.bucket as string),
  missingBucketStore: async () => open(`bsf-missing-${randomUUID().slice(0, 8)}`),
});
