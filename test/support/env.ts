// Typed access, inside test files, to what test/support/global-setup.ts provides.
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { inject } from 'vitest';

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

/**
 * S3Client settings for the run's s3rver: its fixed credentials, path-style addressing, and
 * checksums only when required (s3rver stores a streamed aws-chunked body as is).
 */
export function testS3ClientConfig() {
  return {
    endpoint: testS3Endpoint(),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  } satisfies S3ClientConfig;
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
