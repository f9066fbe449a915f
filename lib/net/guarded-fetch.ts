/**
 * The endpoint guard for `fetch` (the webhook sender): an undici dispatcher whose connector refuses
 * literal addresses the policy refuses and resolves names through `guardedLookup`, so DNS rebinding
 * between a check and the connection cannot slip past it. Kept apart from endpoint-guard.ts, and undici
 * (0.77 MB) is imported on the first call, so functions load it only when they actually send a webhook.
 */
import type { Agent } from 'undici';
import { guardedLookup, hostRefusal } from './endpoint-guard.js';

let dispatcher: Promise<Agent> | undefined;

type Undici = typeof import('undici');

async function createDispatcher(): Promise<Agent> {
  // undici is CommonJS: Node's loader names its exports, but an esbuild ESM chunk (the deployed bundle)
  // exports only `default`; module.exports is `default` in both, so read the exports from there.
  const loaded = (await import('undici')) as Undici & { default?: Undici };
  const { Agent: UndiciAgent, buildConnector } = loaded.default ?? loaded;
  const connect = buildConnector({ lookup: guardedLookup });
  return new UndiciAgent({
    connect: (options, callback) => {
      const refusal = hostRefusal(options.hostname);
      if (refusal) {
        callback(refusal, null);
        return;
      }
      connect(options, callback);
    },
  });
}

/** One keep-alive dispatcher for the warm function; pass it as `fetch(url, { dispatcher })`. */
export function guardedDispatcher(): Promise<Agent> {
  dispatcher ??= createDispatcher().catch((error: unknown) => {
    dispatcher = undefined;
    throw error;
  });
  return dispatcher;
}
