/**
 * restore of a backup of one database into the database of `database-url`, guarded by `confirm`.
 * A non-empty target is refused unless `clean` allows replacing it whole: then the backup is
 * restored into a new database beside it, checked, and swapped in (src/postgres/replace.ts), so
 * that a failure at any point leaves the target as it was. The archive's every byte is checked,
 * and its table of contents read, before any database is touched.
 *
 * Unlike restore-test, it restores owners and privileges (a faithful copy) whenever the target has
 * every role the archive names and the restoring role may act as the owners; otherwise it restores
 * the data without them rather than fail half-way, and says which roles were missing.
 */
import { ownTemplateRefusal, refuseUnrestorable } from '../../core/database-names.js';
import { InputError } from '../../core/errors.js';
import { formatCount } from '../../core/format.js';
import type { DatabaseManifest, DatabasePart } from '../../core/manifest.js';
import type { DatabaseRestoreSettings } from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import { confirmMismatch } from '../../inputs/restore.js';
import { prepareReplacement } from '../../postgres/replace.js';
import { inspectTarget } from '../../postgres/restore.js';
import { countsTable, differenceLine } from '../../restore/compare.js';
import type { Phases } from '../../restore/phases.js';
import { startDownload, stopOnFailure } from '../../restore/archive.js';
import { choosePgRestore, type PgRestore } from '../../restore/pg-restore.js';
import {
  finalOnceWritten,
  notEmptyLine,
  ownersLine,
  ownersRestored,
  replacedLine,
  restoredCounts,
  restoreOne,
  settingsLine,
  standing,
  statisticsLine,
  type Restored,
} from '../../restore/restore-database.js';
import { refuseServerInputs } from '../../restore/targets.js';
import type { KindRun, RestoreRows } from '../kind.js';
import { databasePart } from './parts.js';

export async function restoreDatabaseBackup(
  manifest: DatabaseManifest,
  into: DatabaseRestoreSettings,
  ctx: RunContext,
  phases: Phases,
): Promise<KindRun> {
  refuseServerInputs(into, [], manifest.source.database);
  refuseUnrestorable(manifest.id, [manifest.source.database]);
  const target = into.database;
  const own = ownTemplateRefusal(target.database);
  if (own !== undefined) throw new InputError('database-url', own);
  if (into.confirm !== target.database) throw confirmMismatch(into.confirm, target.database);
  const part = databasePart(manifest);
  const download = startDownload(ctx, part, into.decryption, phases);
  const { restored, pgRestore } = await stopOnFailure(download, () =>
    checkTarget(manifest, part, into, ctx),
  );
  return {
    run: () =>
      stopOnFailure(download, () =>
        restoreOne({ settings: into, ctx, pgRestore, phases, restored }, download),
      ).catch((error: unknown) => {
        throw finalOnceWritten(error, [restored]);
      }),
    problems: () => {
      const differing = restored.comparison?.differing ?? [];
      return differing.length > 0 ? [differenceLine(differing)] : [];
    },
    rows: () => restoreRows(restored, into.databaseSettings),
  };
}

/** The target as it stands (refused when not empty without clean), and the pg_restore for it. */
async function checkTarget(
  manifest: DatabaseManifest,
  part: DatabasePart,
  into: DatabaseRestoreSettings,
  ctx: RunContext,
): Promise<{ restored: Restored; pgRestore: PgRestore }> {
  const target = into.database;
  const state = await inspectTarget(target, ctx.signal);
  if (state.tables > 0 && !into.clean) {
    throw new Error(notEmptyLine([{ database: target.database, tables: state.tables }]));
  }
  const replacement = into.clean
    ? await prepareReplacement(target, ctx.log, ctx.signal)
    : undefined;
  const pgRestore = await choosePgRestore(manifest, into.client, ctx, state.server);
  return { restored: { part, target, state, replacement, outcome: 'untouched' }, pgRestore };
}

/** `settingsWanted`: the restore-database-settings input. */
function restoreRows(restored: Restored, settingsWanted: boolean): RestoreRows {
  const { part, target, state, comparison } = restored;
  const { tables, rows } = restoredCounts(restored);
  const exact = part.backup.rowCountsMode === 'exact' && part.rowCounts !== undefined;
  const inPlace = restored.outcome !== 'untouched' && restored.outcome !== 'partial';
  const counted = comparison
    ? `${formatCount(tables)} / ${formatCount(rows)}${exact && comparison.differing.length === 0 ? ' (match the manifest)' : ''}${inPlace ? '' : ` (in ${restored.replacement?.side ?? 'the target'}, not kept)`}`
    : 'not counted: the restore did not finish';
  return {
    done: `restored into ${target.database}`,
    summary: `${tables} tables, ${formatCount(rows)} rows`,
    outputs: { 'restored-tables': tables },
    facts: [
      ['Target', `${target.display} (PostgreSQL ${state.server.version})`],
      ['Target now', standing(restored)],
      ['Replaced whole', replacedLine(restored)],
      ['Owners and privileges', ownersLine(restored)],
      ['Database settings', settingsLine(restored.databaseSettings, settingsWanted)],
      ['Planner statistics', statisticsLine(restored.statistics)],
      ['Tables / rows', counted],
    ],
    tables: comparison ? [countsTable(comparison)] : [],
    details: {
      target: target.display,
      targetNow: restored.outcome,
      comparison,
      ownersRestored: ownersRestored(restored),
      statistics: restored.statistics,
    },
  };
}
