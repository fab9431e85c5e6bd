/**
 * The `restore` mode, for manual restores through workflow_dispatch: a chosen backup into a real
 * target database. The inputs refuse it unless `confirm` names the target; it refuses a non-empty
 * target unless `clean` allows replacing it whole: then the backup is restored into a new database
 * beside it, checked, and swapped in (src/postgres/replace.ts), so that a failure at any point
 * leaves the target as it was. The archive's every byte is checked, and its table of contents
 * read, before any database is touched.
 *
 * Unlike restore-test, it restores owners and privileges (a faithful copy) whenever the target has
 * every role the archive names and the restoring role may act as the owners; otherwise it restores
 * the data without them rather than fail half-way, and says which roles were missing.
 */
import { isServerManifest } from '../core/manifest.js';
import { findBackup } from '../storage/catalog.js';
import { errorMessage } from '../core/errors.js';
import { restoreFiles } from './restore-files.js';
import { formatCount, formatSeconds } from '../core/format.js';
import { confirmMismatch } from '../inputs/restore.js';
import { prepareReplacement } from '../postgres/replace.js';
import { inspectTarget } from '../postgres/restore.js';
import { countsTable, differenceLine } from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import { choosePgRestore } from '../restore/pg-restore.js';
import { refuseServerInputs } from '../restore/targets.js';
import type { RestoreSettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext } from '../core/types.js';
import {
  notEmptyLine,
  restoreOne,
  settingsLine,
  standing,
  type Restored,
  type RestoreRun,
} from '../restore/restore-database.js';
import { restoreServer } from './restore-server.js';

export async function restore(settings: RestoreSettings, ctx: RunContext): Promise<ModeResult> {
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
  if (isServerManifest(manifest)) return restoreServer(settings, ctx, manifest);
  refuseServerInputs(settings, [], manifest.source.database);
  const target = settings.database;
  if (manifest.format === 'tar') {
    if (target || !settings.targetPath) {
      throw new Error(
        'this is a files backup: give target-path (a folder) instead of database-url',
      );
    }
    return restoreFiles(ctx, manifest, settings.decryption, settings.targetPath, settings.clean);
  }
  if (!target) {
    throw new Error(
      'target-path takes a files backup; this backup is a database dump: give database-url',
    );
  }
  if (settings.confirm !== target.database)
    throw confirmMismatch(settings.confirm, target.database);
  const phases = new Phases(ctx.now);
  const state = await inspectTarget(target, ctx.signal);
  if (state.tables > 0 && !settings.clean) {
    throw new Error(notEmptyLine([{ database: target.database, tables: state.tables }]));
  }
  const replacement = settings.clean
    ? await prepareReplacement(target, ctx.log, ctx.signal)
    : undefined;
  const pgRestore = await choosePgRestore(manifest, settings.client, ctx, state.server);
  const restored: Restored = { manifest, target, state, replacement, outcome: 'untouched' };
  const run: RestoreRun = { settings, ctx, pgRestore, phases, restored };
  try {
    await restoreOne(run);
  } catch (error) {
    throw new ModeFailure(errorMessage(error), describe(restored, phases));
  }
  const result = describe(restored, phases);
  const differing = restored.comparison?.differing ?? [];
  if (differing.length > 0) throw new ModeFailure(differenceLine(differing), result);
  return result;
}

function describe(restored: Restored, phases: Phases): ModeResult {
  const { manifest, target, state, comparison } = restored;
  const tables = (comparison?.tables ?? []).filter(
    (row) => row.found !== undefined && row.status !== 'not-in-backup',
  );
  const rows = tables.reduce((sum, row) => sum + (row.found ?? 0), 0);
  const seconds = phases.totalSeconds();
  const exact = manifest.rowCountsMode === 'exact' && manifest.rowCounts !== undefined;
  const inPlace = restored.outcome !== 'untouched' && restored.outcome !== 'partial';
  const counted = comparison
    ? `${formatCount(tables.length)} / ${formatCount(rows)}${exact && comparison.differing.length === 0 ? ' (match the manifest)' : ''}${inPlace ? '' : ` (in ${restored.replacement?.side ?? 'the target'}, not kept)`}`
    : 'not counted: the restore did not finish';
  return {
    headline: `Restored ${manifest.name}/${manifest.id} into ${target.database}: ${tables.length} tables, ${formatCount(rows)} rows in ${formatSeconds(seconds)}`,
    outputs: {
      'backup-id': manifest.id,
      'restored-tables': tables.length,
      'restore-seconds': Number(seconds.toFixed(3)),
    },
    facts: [
      ['Set', manifest.name],
      ['Backup', `${manifest.id} (made ${manifest.createdAt})`],
      ['Target', `${target.display} (PostgreSQL ${state.server.version})`],
      ['Target now', standing(restored)],
      [
        'Replaced whole',
        restored.replacement
          ? `yes (clean: true; ${state.tables} tables were there)`
          : 'no (the target was empty)',
      ],
      [
        'Owners and privileges',
        restored.ownersSkipped ? `not restored: ${restored.ownersSkipped}` : 'restored',
      ],
      ['Database settings', settingsLine(restored.databaseSettings)],
      ['Tables / rows', counted],
      ['Recovery time', formatSeconds(seconds)],
    ],
    tables: [phases.table(), ...(comparison ? [countsTable(comparison)] : [])],
    details: {
      manifest,
      target: target.display,
      targetNow: restored.outcome,
      comparison,
      ownersRestored: !restored.ownersSkipped,
      restoreSeconds: seconds,
      phases: phases.record(),
    },
  };
}
