/**
 * Server backups written straight into a store (a manifest and one object per database and the
 * globals, of random bytes), for tests of the modes that list, judge and delete them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { newBackupId } from '../../src/core/ids.js';
import { databaseObjectKey, globalsObjectKey, manifestKey } from '../../src/core/layout.js';
import type { ObjectRecord, ServerManifest } from '../../src/core/manifest.js';
import type { Store } from '../../src/storage/index.js';

export interface ForgedServer {
  id: string;
  manifestKey: string;
  /** Every object's key: the databases', then the globals'. */
  objectKeys: string[];
}

/**
 * A valid server backup of these databases (and the globals) made at `time`, each object of 64
 * random bytes unless `sizes` names the database's size.
 */
export function forgeServerBackup(
  name: string,
  time: Date,
  databases: readonly string[],
  sizes: Readonly<Record<string, number>> = {},
): { forged: ForgedServer; files: Map<string, Buffer> } {
  const id = newBackupId(time);
  const files = new Map<string, Buffer>();
  const record = (key: string, size = 64): ObjectRecord => {
    const bytes = randomBytes(size);
    files.set(key, bytes);
    return { key, size, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  const manifest: ServerManifest = {
    version: 1,
    id,
    name,
    createdAt: time.toISOString(),
    completedAt: time.toISOString(),
    source: { kind: 'server' },
    format: 'pg_dump-custom',
    compression: 'zstd',
    encryption: 'none',
    databases: databases.map((database) => ({
      name: database,
      object: record(databaseObjectKey(name, id, database, 'zstd', 'none'), sizes[database]),
    })),
    globals: {
      object: record(globalsObjectKey(name, id, 'zstd', 'none')),
      roles: ['app'],
      rolePasswords: true,
    },
    tool: { name: 'backup-action', version: 'forged' },
  };
  const objectKeys = [...files.keys()];
  files.set(manifestKey(name, id), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  return { forged: { id, manifestKey: manifestKey(name, id), objectKeys }, files };
}

/** Forges it into `store`; without its manifest when `torn` (a failed or running backup). */
export async function forgeServerIn(
  store: Store,
  name: string,
  time: Date,
  databases: readonly string[],
  { torn = false, sizes = {} }: { torn?: boolean; sizes?: Record<string, number> } = {},
): Promise<ForgedServer> {
  const { forged, files } = forgeServerBackup(name, time, databases, sizes);
  for (const [key, bytes] of files) {
    if (torn && key === forged.manifestKey) continue;
    await store.upload(key, Readable.from([bytes]));
  }
  return forged;
}
