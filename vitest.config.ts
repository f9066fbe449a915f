import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Caps, not targets: CI shares its machine, and a loaded one may need several times the usual time.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two cores: more workers only fight over them and over the shared servers.
    maxWorkers: 2,
    // Every test server listens on loopback, which deployments refuse by default (lib/net/endpoint-guard.ts).
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_DEV: 'false',
      SLS_TELEMETRY_DISABLED: '1',
      ALLOW_PRIVATE_ENDPOINTS: 'loopback',
      // The workstation stage: HTTP callers are anonymous and granted everything, as on `serverless offline`;
      // the attack suites (test/attack.*.test.ts) set a deployed stage for themselves.
      BSF_STAGE: 'local',
      // Tests may use cheap scrypt parameters (options.kdf); a test on a deployed stage deletes this.
      BSF_ALLOW_WEAK_KDF: '1',
    },
  },
});
