/**
 * A restore target that overlaps the directory store: with `clean`, the old contents are deleted,
 * and a store inside the target (or the target itself, or a folder holding it) would go with them;
 * without it, the restored tree would be written among the backups. Compared as real paths, so a
 * symbolic link or a `..` that leads into the store is found whichever way it is spelled.
 */
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import type { StorageLocation } from '../../core/settings.js';
import { realPathOf } from '../../files/real-path.js';

export async function refuseStoreOverlap(
  targetPath: string,
  storage: StorageLocation,
): Promise<void> {
  if (storage.kind !== 'directory') return;
  const [target, store] = await Promise.all([realPathOf(targetPath), realPathOf(storage.path)]);
  const overlap =
    target === store
      ? 'is the backup store'
      : within(target, store)
        ? `is inside the backup store ${storage.path}`
        : within(store, target)
          ? `holds the backup store ${storage.path}`
          : undefined;
  if (overlap) {
    throw new InputError(
      'target-path',
      `${targetPath} ${overlap}; restoring there could delete or overwrite the backups, so give a folder outside it`,
    );
  }
}

function within(inner: string, outer: string): boolean {
  return inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}
