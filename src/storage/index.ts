/** Opens the store a storage location names. */
import { S3Client } from '@aws-sdk/client-s3';
import { DirectoryStore } from './directory.js';
import { S3Store, s3ClientConfig } from './s3.js';
import type { S3Settings, StorageLocation } from '../settings.js';
import type { Store } from './store.js';

export type { Store, StoredObject, IncompleteUpload } from './store.js';

export function openStore(
  location: StorageLocation,
  s3: S3Settings,
  warn: (message: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Store {
  if (location.kind === 'directory') return new DirectoryStore(location.path);
  const client = new S3Client(s3ClientConfig(s3, env));
  return new S3Store(client, {
    bucket: location.bucket,
    prefix: location.prefix,
    settings: s3,
    warn,
  });
}
