import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites each start their own PostgreSQL; two cores cannot run many at once.
    maxWorkers: 2,
    pool: 'forks',
    // Fails the run when a secret the tests used shows up in a log they produced (docs/SECURITY.md).
    globalSetup: ['test/support/secret-scan-global.ts'],
  },
});
