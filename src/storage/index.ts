/** Opens the store a storage location names. */
import { DirectoryStore } from './directory.js';
import type { S3Settings, StorageLocation } from '../core/settings.js';
import type { Store } from '../core/store.js';

export type { FileSink, Store, StoredObject, IncompleteUpload, RefusedKey } from '../core/store.js';
export { ArchivedObject, DeleteRefused, ObjectTooLarge } from '../core/store.js';

export async function openStore(
  location: StorageLocation,
  s3: S3Settings,
  warn: (message: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Store> {
  if (location.kind === 'directory') return new DirectoryStore(location.path, warn);
  // Loaded only for S3: the AWS SDK is most of the bundle, and parsing it costs every run that
  // does not need it start-up time and tens of megabytes of memory.
  const [{ S3Client }, { S3Store, assumedRole, s3ClientConfig }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('./s3.js'),
  ]);
  const role = await assumedRole(s3, env, warn);
  const client = new S3Client({
    ...s3ClientConfig(s3, env, warn),
    ...(role ? { credentials: role } : {}),
  });
  return new S3Store(client, {
    bucket: location.bucket,
    prefix: location.prefix,
    settings: s3,
    warn,
  });
}
