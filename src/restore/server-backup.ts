/**
 * A server backup's objects seen one at a time as the single-database backups the restore path
 * already reads: each database's object, counts and version under the backup's layers.
 */
import type { DatabaseRecord, Manifest, ObjectRecord, ServerManifest } from '../core/manifest.js';

/** One object of the server backup as a single backup of `database` (or of the globals). */
function objectView(
  manifest: ServerManifest,
  object: ObjectRecord,
  database?: DatabaseRecord,
): Manifest {
  return {
    version: manifest.version,
    id: manifest.id,
    name: manifest.name,
    createdAt: manifest.createdAt,
    completedAt: manifest.completedAt,
    compression: manifest.compression,
    encryption: manifest.encryption,
    rowCountsMode: manifest.rowCountsMode,
    tool: manifest.tool,
    dump: manifest.dump,
    run: manifest.run,
    source: {
      kind: 'postgres',
      database: database?.name,
      serverVersion: database?.serverVersion ?? manifest.source.serverVersion,
    },
    format: 'pg_dump-custom',
    object,
    rowCounts: database?.rowCounts,
  };
}

export const databaseView = (manifest: ServerManifest, database: DatabaseRecord): Manifest =>
  objectView(manifest, database.object, database);

export const globalsView = (manifest: ServerManifest, globals: ObjectRecord): Manifest =>
  objectView(manifest, globals);
