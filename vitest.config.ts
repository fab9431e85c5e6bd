import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // A test that asserts nothing fails: it cannot pass without checking.
    expect: { requireAssertions: true },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end files share one PostgreSQL cluster and one S3 server; two cores run two files at once.
    maxWorkers: 2,
  },
});
