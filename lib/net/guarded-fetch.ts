/**
 * The endpoint guard for `fetch` (the webhook sender): an undici dispatcher whose connector refuses
 * literal addresses the policy refuses and resolves names through `guardedLookup`, so DNS rebinding
 * between a check and the connection cannot slip past it. Kept apart from endpoint-guard.ts so only
 * code that uses fetch loads undici.
 */
import { Agent, buildConnector } from 'undici';
import { guardedLookup, hostRefusal } from './endpoint-guard.js';

let dispatcher: Agent | undefined;

/** One keep-alive dispatcher for the warm function; pass it as `fetch(url, { dispatcher })`. */
export function guardedDispatcher(): Agent {
  if (dispatcher) return dispatcher;
  const connect = buildConnector({ lookup: guardedLookup });
  dispatcher = new Agent({
    connect: (options, callback) => {
      const refusal = hostRefusal(options.hostname);
      if (refusal) {
        callback(refusal, null);
        return;
      }
      connect(options, callback);
    },
  });
  return dispatcher;
}
