import { randomUUID } from 'node:crypto';
import { StorageSharedKeyCredential } from '@azure/storage-blob';
import { resolveAzureTarget } from '../lib/backends/azure/auth.js';
import { AzureStore } from '../lib/backends/azure/store.js';
import { SecretBag } from '../lib/credentials/secret.js';
import { describeObjectStore } from './support/conformance.js';
import { serverInfo } from './support/servers.js';

const azurite = serverInfo('azurite');

function storeOn(container: string): AzureStore {
  const credentials = new SecretBag([['AZURE_ACCOUNT_KEY', azurite.accountKey as string]], 'test');
  const target = resolveAzureTarget(
    { provider: 'azure', storageAccount: azurite.accountName, container },
    credentials,
    azurite.endpoint,
  );
  return new AzureStore({
    target,
    container,
    credential: new StorageSharedKeyCredential(azurite.accountName as string, azurite.accountKey as string),
  });
}

const existing = `conformance-${randomUUID().slice(0, 8)}`;

describeObjectStore('azure (azurite)', {
  store: async () => {
    const store = storeOn(existing);
    if (!(await store.bucketExists())) await store.createBucket();
    return store;
  },
  missingBucketStore: async () => storeOn(`missing-${randomUUID().slice(0, 8)}`),
});
