/**
 * restore-test of a backup of one database: the scratch server and pg_restore are checked while
 * the archive downloads (a failed check stops it; every second before pg_restore counts in a test
 * of recovery time); the database is tested in a scratch database of its own
 * (restore/scratch-test.ts), which is dropped, pass, fail or cancel.
 */
import { refuseUnrestorable } from '../../core/database-names.js';
import { formatCount } from '../../core/format.js';
import type { DatabaseManifest, DatabasePart } from '../../core/manifest.js';
import type { RunContext } from '../../core/types.js';
import { startDownload, stopOnFailure, type LocalArchive } from '../../restore/archive.js';
import { checkScratchServer, scratchName } from '../../postgres/restore.js';
import type { ServerVersion } from '../../postgres/server.js';
import { countsTable } from '../../restore/compare.js';
import type { Phases } from '../../restore/phases.js';
import { choosePgRestore } from '../../restore/pg-restore.js';
import {
  failures,
  kept,
  restoredTotals,
  scratchServer,
  scratchSettingsLine,
  tableOfChecks,
  testDatabase,
  type DatabaseTest,
  type ScratchRun,
} from '../../restore/scratch-test.js';
import { withScratchLease } from '../../restore/scratch-lease.js';
import { refuseServerInputs } from '../../restore/targets.js';
import type { KindRun, RestoreRows, RestoreTestSettingsOf } from '../kind.js';
import { databasePart } from './parts.js';

export async function testDatabaseBackup(
  manifest: DatabaseManifest,
  settings: RestoreTestSettingsOf<'count' | 'sql'>,
  ctx: RunContext,
  phases: Phases,
): Promise<KindRun> {
  // The reusable workflows ask for the roles on every nightly test: a backup without any is no mistake.
  if (settings.restoreGlobals) {
    ctx.log.info(
      `restore-globals: backup ${manifest.id} is of one database and holds no roles; restored without owners`,
    );
  }
  refuseServerInputs(
    { ...settings, restoreGlobals: false },
    settings.checks,
    manifest.source.database,
  );
  refuseUnrestorable(manifest.id, [manifest.source.database]);
  const server = scratchServer(settings);
  const part = databasePart(manifest);
  const download = startDownload(ctx, part, settings.decryption, phases);
  const { version, pgRestore } = await stopOnFailure(download, async () => {
    const version = await checkScratchServer(server, ctx.signal);
    return { version, pgRestore: await choosePgRestore(manifest, settings.client, ctx, version) };
  });
  const run = { settings, ctx, server, pgRestore };
  const test: DatabaseTest = { part, scratch: scratchName(settings.name), phases };
  const options = { checks: settings.checks, keepOwners: false, noTablespaces: false };
  return {
    run: () =>
      stopOnFailure(download, () =>
        withScratchLease(ctx, server, (mark) =>
          testDatabase({ ...run, mark }, test, options, download),
        ),
      ),
    problems: () => failures(test),
    rows: () => testRows(run, test, version),
  };
}

function testRows(
  { settings, pgRestore }: Pick<ScratchRun, 'settings' | 'pgRestore'>,
  test: DatabaseTest,
  server: ServerVersion,
): RestoreRows {
  const { part, comparison, checks, archive } = test;
  const { tables, rows } = restoredTotals(test);
  const compared =
    part.backup.rowCountsMode === 'exact' && part.rowCounts
      ? `${formatCount(rows)} rows match the manifest`
      : `${formatCount(rows)} rows (the manifest has no exact counts to compare)`;
  const passed = checks?.length ? `, ${checks.length} check(s) passed` : '';
  return {
    done: 'restored',
    summary: `${tables} tables, ${compared}${passed}`,
    outputs: { 'restored-tables': tables },
    facts: [
      ['Database settings', scratchSettingsLine(test.databaseSettings, settings.databaseSettings)],
      [
        'Tables / rows',
        comparison
          ? `${formatCount(tables)} / ${formatCount(rows)}`
          : 'not counted: the restore did not finish',
      ],
      [
        'Scratch database',
        `${test.scratch}${kept(settings, test) ? ' (kept)' : ' (dropped)'} on PostgreSQL ${server.version}`,
      ],
      [
        'pg_restore',
        `${pgRestore.program.version}, ${settings.jobs} job(s); archive ${archiveLine(part, archive)}`,
      ],
    ],
    tables: [...(comparison ? [countsTable(comparison)] : []), ...tableOfChecks(checks ?? [])],
    details: { scratch: test.scratch, comparison, checks },
  };
}

function archiveLine(part: DatabasePart, archive: LocalArchive | undefined): string {
  const toc = archive?.toc;
  const dumpedBy = toc?.dumpedBy ?? part.backup.dump?.version ?? 'unknown';
  const from = toc?.dumpedFrom ?? part.serverVersion;
  return `${toc?.formatVersion ? `format ${toc.formatVersion}, ` : ''}pg_dump ${dumpedBy}${from ? ` of PostgreSQL ${from}` : ''}`;
}
