// Typed access, inside test files, to what test/support/global-setup.ts provides.
import { inject } from 'vitest';
import { s3ClientConfig } from '../../scripts/lib/s3-server.js';

/** s3rver's credentials in the environment of a run of the action or the command line. */
export { S3RVER_ENV as S3_ENV } from '../../scripts/lib/s3-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL, password included, to a server where tests may create databases. */
    databaseUrl: string;
    /** http://127.0.0.1:<port> of the run's s3rver. */
    s3Endpoint: string;
    /** A bucket that exists on it. */
    s3Bucket: string;
  }
}

export function testDatabaseUrl(): string {
  return provided('databaseUrl');
}

export function testS3Endpoint(): string {
  return provided('s3Endpoint');
}

export function testS3Bucket(): string {
  return provided('s3Bucket');
}

/** S3Client settings for the run's s3rver (see scripts/lib/s3-server.js for why these). */
export function testS3ClientConfig() {
  return s3ClientConfig(testS3Endpoint());
}

function provided(key: 'databaseUrl' | 's3Endpoint' | 's3Bucket'): string {
  const value = inject(key);
  if (!value) {
    throw new Error(
      `"${key}" was not provided: vitest.config.ts must list test/support/global-setup.ts`,
    );
  }
  return value;
}
