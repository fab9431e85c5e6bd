/** A server backup's databases, each as the restore path reads one database of any backup. */
import type { DatabasePart, DatabaseRecord, ServerManifest } from '../../core/manifest.js';

export const serverDatabasePart = (
  manifest: ServerManifest,
  record: DatabaseRecord,
): DatabasePart => ({
  backup: manifest,
  ...record,
  serverVersion: record.serverVersion ?? manifest.source.serverVersion,
});

/** The phase of one database in a run's table of phases, and its seconds in the report. */
export const phaseName = (database: string): string => `database ${database}`;
