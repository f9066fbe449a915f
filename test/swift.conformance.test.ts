/** The ObjectStore conformance suite on the real Swift all-in-one, authenticating with v1 (tempauth). */
import { describeObjectStore } from './support/conformance.js';
import { createContainer, swiftStore, uniqueContainer, v1Secret } from './support/swift.js';

const container = uniqueContainer('conformance');

describeObjectStore('swift (real Swift all-in-one, v1 auth)', {
  store: async () => {
    await createContainer(container);
    return swiftStore(container, v1Secret());
  },
  missingBucketStore: async () => swiftStore(uniqueContainer('missing'), v1Secret()),
});
