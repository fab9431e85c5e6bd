// One PostgreSQL server and one S3 server for the whole test run, shared by every test file.
// The keys provided here are typed by the ProvidedContext augmentation in ./env.ts.
import type { TestProject } from 'vitest/node';
import { startCluster, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { startS3Server } from '../../scripts/lib/s3-server.js';

const TEST_BUCKET = 'test-bucket';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const s3 = await startS3Server({ buckets: [TEST_BUCKET] });
  // TEST_DATABASE_URL: a server the caller runs (a CI service container, a local install).
  let databaseUrl = process.env.TEST_DATABASE_URL;
  let cluster: PgCluster | undefined;
  if (!databaseUrl) {
    try {
      cluster = await startCluster();
    } catch (error) {
      // Vitest registers the teardown only once setup has returned it.
      await s3.stop();
      throw error;
    }
    databaseUrl = cluster.url;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('s3Endpoint', s3.endpoint);
  project.provide('s3Bucket', TEST_BUCKET);

  return async () => {
    await Promise.all([s3.stop(), cluster?.stop()]);
  };
}
