/**
 * The `restore-test` mode: proves a backup restores. The scratch server and pg_restore are checked
 * before anything is downloaded; each database is tested in a scratch database of its own
 * (restore/scratch-test.ts), which is dropped, pass, fail or cancel; the recovery time is measured.
 */
import { isServerManifest } from '../core/manifest.js';
import { findBackup } from '../storage/catalog.js';
import { errorMessage } from '../core/errors.js';
import { testFilesBackup } from './restore-files.js';
import { formatBytes, formatCount, formatSeconds } from '../core/format.js';
import type { Manifest } from '../core/manifest.js';
import type { LocalArchive } from '../restore/archive.js';
import { checkScratchServer, scratchName } from '../postgres/restore.js';
import type { ServerVersion } from '../postgres/server.js';
import { countsTable } from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import { choosePgRestore } from '../restore/pg-restore.js';
import { refuseServerInputs } from '../restore/targets.js';
import type { RestoreTestSettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext } from '../core/types.js';
import {
  checkTables,
  failures,
  kept,
  restoredTotals,
  scratchServer,
  testDatabase,
  type DatabaseTest,
  type ScratchRun,
} from '../restore/scratch-test.js';
import { restoreTestServer } from './restore-test-server.js';

export async function restoreTest(
  settings: RestoreTestSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
  if (isServerManifest(manifest)) return restoreTestServer(settings, ctx, manifest);
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
  if (manifest.format === 'tar') return testFilesBackup(ctx, manifest, settings.decryption);
  const server = scratchServer(settings);
  const version = await checkScratchServer(server, ctx.signal);
  const pgRestore = await choosePgRestore(manifest, settings.client, ctx, version);
  const run: ScratchRun = { settings, ctx, server, pgRestore };
  const test: DatabaseTest = { manifest, scratch: scratchName(settings.name), phases, checks: [] };
  try {
    await testDatabase(run, test, {
      checks: settings.checks,
      keepOwners: false,
      noTablespaces: false,
    });
  } catch (error) {
    if (error instanceof ModeFailure) throw error;
    throw new ModeFailure(errorMessage(error), describe(run, test, version));
  }
  const result = describe(run, test, version);
  const problems = failures(test);
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), result);
  return result;
}

function describe(
  { settings, pgRestore }: ScratchRun,
  test: DatabaseTest,
  server: ServerVersion,
): ModeResult {
  const { manifest, comparison, checks, archive, phases } = test;
  const { tables, rows } = restoredTotals(test);
  const seconds = phases.totalSeconds();
  const compared =
    manifest.rowCountsMode === 'exact' && manifest.rowCounts
      ? `${formatCount(rows)} rows match the manifest`
      : `${formatCount(rows)} rows (the manifest has no exact counts to compare)`;
  const passed = checks.length > 0 ? `, ${checks.length} check(s) passed` : '';
  return {
    headline: `Backup ${manifest.name}/${manifest.id} restored in ${formatSeconds(seconds)}: ${tables} tables, ${compared}${passed}`,
    outputs: {
      'restored-tables': tables,
      'restore-seconds': Number(seconds.toFixed(3)),
      'backup-id': manifest.id,
    },
    facts: [
      ['Set', manifest.name],
      [
        'Backup',
        `${manifest.id} (made ${manifest.createdAt}, ${formatBytes(manifest.object.size)}, ${manifest.encryption === 'age' ? 'age-encrypted' : 'not encrypted'})`,
      ],
      ['Recovery time', formatSeconds(seconds)],
      ['Database settings', settingsLine(test.databaseSettings)],
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
        `${pgRestore.program.version}, ${settings.jobs} job(s); archive ${archiveLine(manifest, archive)}`,
      ],
    ],
    tables: [
      phases.table(),
      ...(comparison ? [countsTable(comparison)] : []),
      ...checkTables(checks),
    ],
    details: {
      manifest,
      scratch: test.scratch,
      comparison,
      checks,
      restoreSeconds: seconds,
      phases: phases.record(),
    },
  };
}

function settingsLine(found: DatabaseTest['databaseSettings']): string {
  if (!found) return 'not compared';
  if (found.total === 0) return 'none in the backup';
  const { total, missing } = found;
  return missing.length === 0
    ? `${total} of ${total} restored (settings and comment)`
    : `${total - missing.length} of ${total} restored; missing: ${missing.join('; ')}`;
}

function archiveLine(manifest: Manifest, archive: LocalArchive | undefined): string {
  const toc = archive?.toc;
  const dumpedBy = toc?.dumpedBy ?? manifest.dump?.version ?? 'unknown';
  const from = toc?.dumpedFrom ?? manifest.source.serverVersion;
  return `${toc?.formatVersion ? `format ${toc.formatVersion}, ` : ''}pg_dump ${dumpedBy}${from ? ` of PostgreSQL ${from}` : ''}`;
}
