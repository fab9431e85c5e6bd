/**
 * The run's s3rver bucket for tests that count store requests: forged backups put straight into
 * it, S3Stores over it, and clients that record the name of every command they send.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store, type S3StoreOptions } from '../../src/storage/s3.js';
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

/** A client of the run's s3rver (or of `endpoint`, tried once); `commands` names each it sent. */
export function recordingS3Client(endpoint?: string): { client: S3Client; commands: string[] } {
  const client = new S3Client({
    ...testS3ClientConfig(),
    ...(endpoint === undefined ? {} : { endpoint, maxAttempts: 1 }),
  });
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, commands };
}

/** An S3Store on the run's bucket under `prefix`, through `client` (a plain one by default). */
export function s3StoreAt(
  prefix: string,
  options: Partial<S3StoreOptions> = {},
  client = new S3Client(testS3ClientConfig()),
): S3Store {
  return new S3Store(client, {
    bucket: testS3Bucket(),
    prefix,
    settings: {},
    warn: () => undefined,
    ...options,
  });
}

/** An S3Store on the run's bucket under `prefix`; `calls` names each command it sent, in order. */
export function countingS3Store(prefix: string): { store: S3Store; calls: string[] } {
  const { client, commands } = recordingS3Client();
  return { store: s3StoreAt(prefix, {}, client), calls: commands };
}
