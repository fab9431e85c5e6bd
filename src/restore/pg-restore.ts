/**
 * What restore and restore-test share around pg_restore: the program that matches the backup's
 * pg_dump, the warning (and failure hint) when the server is older than the backup's, and the
 * timed restore itself.
 */
import type { ManifestBase } from '../core/manifest.js';
import type { ClientSettings, DatabaseTarget } from '../core/settings.js';
import type { RunContext } from '../core/types.js';
import { restoreProgram, runPgRestore } from '../postgres/restore.js';
import type { ArchiveShape } from '../postgres/restore-passes.js';
import type { ServerVersion } from '../postgres/server.js';
import { olderServerNote } from '../postgres/versions.js';
import type { Program } from '../process/programs.js';
import type { Phases } from './phases.js';

export interface PgRestore {
  program: Program;
  /** Why a restore may fail on this server (older than the backup's), for the failure message. */
  hint?: string;
}

/**
 * Finds the pg_restore for the backup's pg_dump (every database of a backup was dumped by the
 * same one) and for `server`, warning when it is older than the one the backup was made from.
 */
export async function choosePgRestore(
  backup: Pick<ManifestBase, 'id' | 'dump'> & { source: { serverVersion?: string } },
  client: ClientSettings,
  ctx: RunContext,
  server: ServerVersion,
): Promise<PgRestore> {
  const program = await restoreProgram(backup, client, ctx, server);
  const hint = olderServerNote(backup.source.serverVersion, server);
  if (hint) ctx.log.warning(hint);
  return { program, hint };
}

/** Restores the local archive into `into`, timed as the run's restore phase. */
export function timedPgRestore(
  { program, hint }: PgRestore,
  phases: Phases,
  archive: { file: string; listing: string; schema: Promise<{ shape: ArchiveShape }> },
  into: DatabaseTarget,
  options: { jobs: number; keepOwners: boolean; signal: AbortSignal; noTablespaces?: boolean },
): Promise<void> {
  return phases.time('restore (pg_restore)', async () => {
    const { shape } = await archive.schema;
    const { file, listing } = archive;
    await runPgRestore(program, file, into, { ...options, hint, shape, listing });
  });
}
