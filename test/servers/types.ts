/**
 * A real server (or contract fake) the test run starts once. Each file in test/servers/ that exports
 * `server: TestServer` is started by test/global-setup.ts before any test and stopped after the run;
 * the endpoints it returns reach tests through vitest's `inject('servers')`.
 */
export interface StartedServer {
  /** Plain values tests need: endpoints, ports, credentials of the throwaway server. */
  info: Record<string, string>;
  stop(): Promise<void>;
}

export interface TestServer {
  name: string;
  start(): Promise<StartedServer>;
}
