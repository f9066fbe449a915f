import { inject } from 'vitest';

/** The info a server in test/servers/ published, or an error saying it was not started. */
export function serverInfo(name: string): Record<string, string> {
  const info = inject('servers')[name];
  if (!info) throw new Error(`test server "${name}" was not started (is it excluded by TEST_SERVERS?)`);
  return info;
}
