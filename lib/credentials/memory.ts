/**
 * Secret values a person typed (the console's "Test connection"): held in memory for one call, as a
 * SecretBag, never written, logged or echoed. They reach the operation through a reference only this
 * process can name, `memory:<random 256-bit id>`, which exists while the call runs and is gone after.
 */
import { randomBytes } from 'node:crypto';
import { CredentialsError, registerCredentialSource } from './resolve.js';
import type { SecretBag } from './secret.js';

const bags = new Map<string, SecretBag>();

registerCredentialSource('memory', async (location, reference) => {
  const bag = bags.get(location);
  if (!bag) throw new CredentialsError('NotFound', 'memory', 'the typed credentials are no longer held');
  void reference;
  return bag;
});

/** Runs `body` with a reference to `bag`; the reference stops resolving when `body` settles. */
export async function withInMemoryCredentials<T>(
  bag: SecretBag,
  body: (reference: string) => Promise<T>,
): Promise<T> {
  const id = randomBytes(32).toString('hex');
  bags.set(id, bag);
  try {
    return await body(`memory:${id}`);
  } finally {
    bags.delete(id);
  }
}
