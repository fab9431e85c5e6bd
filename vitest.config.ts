import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // A test that asserts nothing fails: it cannot pass without checking.
    expect: { requireAssertions: true },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end files share one PostgreSQL cluster and one S3 server; two cores run two files at once.
    maxWorkers: 2,
    projects: [
      // Pure logic and the repository's own files: no database, no S3 server, no bundle.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
