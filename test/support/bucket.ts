/**
 * The run's s3rver bucket for tests that count store requests: forged backups put straight into
 * it, and an S3Store over it that records the name of every command it sends.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store } from '../../src/storage/s3.js';
import { testS3Bucket, testS3ClientConfig } from './env.js';
import { forgeBackup } from './forge.js';

/** Forges one backup of `name` per time under `prefix` in the run's bucket, four at a time. */
export async function forgeInBucket(prefix: string, name: string, times: Date[]): Promise<void> {
  const client = new S3Client(testS3ClientConfig());
  try {
    for (let i = 0; i < times.length; i += 4) {
      await Promise.all(
        times.slice(i, i + 4).map(async (time) => {
          for (const [key, body] of forgeBackup(name, time).files)
            await client.send(
              new PutObjectCommand({ Bucket: testS3Bucket(), Key: `${prefix}/${key}`, Body: body }),
            );
        }),
      );
    }
  } finally {
    client.destroy();
  }
}

/** An S3Store on the run's bucket under `prefix`; `calls` names each command it sent, in order. */
export function countingS3Store(prefix: string): { store: S3Store; calls: string[] } {
  const client = new S3Client(testS3ClientConfig());
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  const store = new S3Store(client, {
    bucket: testS3Bucket(),
    prefix,
    settings: {},
    warn: () => undefined,
  });
  return { store, calls };
}
