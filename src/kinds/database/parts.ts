/** The backup's one database, as the restore path reads each database of any backup. */
import type { DatabaseManifest, DatabasePart } from '../../core/manifest.js';

export const databasePart = (manifest: DatabaseManifest): DatabasePart => ({
  backup: manifest,
  name: manifest.source.database,
  object: manifest.object,
  rowCounts: manifest.rowCounts,
  serverVersion: manifest.source.serverVersion,
});
