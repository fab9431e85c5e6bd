/**
 * The `restore` mode, for manual restores through workflow_dispatch: a chosen backup into a real
 * target database. The inputs refuse it unless `confirm` names the target; it refuses a non-empty
 * target unless `clean` allows dropping and recreating its objects. The archive's every byte is
 * checked, and its table of contents read, before the target is touched.
 *
 * Unlike restore-test, it restores owners and privileges (a faithful copy) whenever the target has
 * every role the archive names and the restoring role may act as the owners; otherwise it restores
 * the data without them rather than fail half-way, and says which roles were missing.
 */
import { findBackup } from '../catalog.js';
import { errorMessage } from '../errors.js';
import { restoreFiles } from '../files/restore-files.js';
import { formatCount, formatSeconds } from '../format.js';
import type { Manifest } from '../manifest.js';
import { archiveRoles, withLocalArchive, type LocalArchive } from '../postgres/archive.js';
import type { Program } from '../postgres/programs.js';
import {
  analyze,
  countRows,
  inspectTarget,
  restoreProgram,
  runPgRestore,
  unusableRoles,
  type TargetState,
} from '../postgres/restore.js';
import { compareCounts, countsTable, differenceLine, type Comparison } from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import { olderServerNote } from '../restore/versions.js';
import type { DatabaseTarget, RestoreSettings } from '../settings.js';
import { ModeFailure, type ModeResult, type RunContext } from './types.js';

interface Restored {
  manifest: Manifest;
  target: DatabaseTarget;
  state: TargetState;
  /** Why owners and privileges were not restored, when they were not. */
  ownersSkipped?: string;
  archive?: LocalArchive;
  comparison?: Comparison;
  ignoredErrors: number;
}

interface RestoreRun {
  settings: RestoreSettings;
  ctx: RunContext;
  pgRestore: Program;
  phases: Phases;
  /** Why a restore may fail on this server (older than the backup's), for the failure message. */
  hint?: string;
  restored: Restored;
}

export async function restore(settings: RestoreSettings, ctx: RunContext): Promise<ModeResult> {
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
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
  const phases = new Phases(ctx.now);
  const state = await inspectTarget(target, ctx.signal);
  if (state.tables > 0 && !settings.clean) {
    throw new Error(
      `the target database ${target.database} is not empty (${state.tables} tables); set clean: true to drop and recreate its objects, or restore into an empty database`,
    );
  }
  const pgRestore = await restoreProgram(manifest, settings.client, ctx);
  const hint = olderServerNote(manifest.source.serverVersion, state.server);
  if (hint) ctx.log.warning(hint);
  if (state.tables > 0 && state.otherSessions > 0) {
    ctx.log.warning(
      `${state.otherSessions} other session(s) are connected to ${target.database}; dropping its objects waits for their locks`,
    );
  }
  const restored: Restored = { manifest, target, state, ignoredErrors: 0 };
  const run: RestoreRun = { settings, ctx, pgRestore, phases, hint, restored };
  try {
    await withLocalArchive(ctx, manifest, settings.decryption, pgRestore, phases, (archive) => {
      restored.archive = archive;
      return restoreInto(run, archive);
    });
    await phases.time('analyze', () => analyze(target, ctx.signal));
    const counts = await phases.time('compare row counts', () => countRows(target, ctx.signal));
    restored.comparison = compare(manifest, counts, restored.archive);
  } catch (error) {
    throw new ModeFailure(errorMessage(error), describe(restored, phases));
  }
  const result = describe(restored, phases);
  const differing = restored.comparison.differing;
  if (differing.length > 0) throw new ModeFailure(differenceLine(differing), result);
  return result;
}

async function restoreInto(run: RestoreRun, archive: LocalArchive): Promise<void> {
  const { settings, ctx, pgRestore, phases, restored } = run;
  const { manifest, target, state } = restored;
  const roles = await unusableRoles(
    target,
    await archiveRoles(pgRestore, archive.file),
    ctx.signal,
  );
  restored.ownersSkipped = ownersSkippedBecause(roles);
  if (restored.ownersSkipped) {
    ctx.log.warning(
      `owners and privileges are not restored: ${restored.ownersSkipped}; everything will belong to the restoring role. Create those roles (pg_dumpall --roles-only) and restore again with clean: true to restore them`,
    );
  }
  ctx.log.info(`sha256 of ${manifest.object.key} verified; restoring into ${target.display}`);
  const { ignoredErrors } = await phases.time('restore (pg_restore)', () =>
    runPgRestore(pgRestore, archive.file, target, {
      jobs: settings.jobs,
      clean: state.tables > 0,
      keepOwners: !restored.ownersSkipped,
      signal: ctx.signal,
      hint: run.hint,
    }),
  );
  restored.ignoredErrors = ignoredErrors;
  if (ignoredErrors > 0) {
    ctx.log.warning(
      `pg_restore --clean reported ${ignoredErrors} benign error(s) dropping partitions' inherited constraints`,
    );
  }
}

function ownersSkippedBecause(roles: {
  missing: string[];
  notMember: string[];
}): string | undefined {
  const list = (names: string[]) =>
    names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
  const reasons = [
    ...(roles.missing.length > 0 ? [`the target has no role ${list(roles.missing)}`] : []),
    ...(roles.notMember.length > 0
      ? [`the restoring role is not a member of ${list(roles.notMember)}`]
      : []),
  ];
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** The target's tables against the manifest; tables the backup does not hold are the target's own. */
function compare(
  manifest: Manifest,
  counts: Record<string, number>,
  archive: LocalArchive | undefined,
): Comparison {
  const expected = manifest.rowCountsMode === 'exact' ? manifest.rowCounts : undefined;
  return compareCounts(expected ?? counts, counts, { toc: archive?.toc, strangersFail: false });
}

function describe(restored: Restored, phases: Phases): ModeResult {
  const { manifest, target, state, comparison } = restored;
  const tables = (comparison?.tables ?? []).filter(
    (row) => row.found !== undefined && row.status !== 'not-in-backup',
  );
  const rows = tables.reduce((sum, row) => sum + (row.found ?? 0), 0);
  const seconds = phases.totalSeconds();
  const exact = manifest.rowCountsMode === 'exact' && manifest.rowCounts !== undefined;
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
      [
        'Cleaned first',
        state.tables > 0 ? `yes (${state.tables} tables were there)` : 'no (the target was empty)',
      ],
      [
        'Owners and privileges',
        restored.ownersSkipped ? `not restored: ${restored.ownersSkipped}` : 'restored',
      ],
      [
        'Tables / rows',
        `${formatCount(tables.length)} / ${formatCount(rows)}${exact && comparison?.differing.length === 0 ? ' (match the manifest)' : ''}`,
      ],
      ['Recovery time', formatSeconds(seconds)],
    ],
    tables: [phases.table(), ...(comparison ? [countsTable(comparison)] : [])],
    details: {
      manifest,
      target: target.display,
      comparison,
      ownersRestored: !restored.ownersSkipped,
      restoreSeconds: seconds,
      phases: phases.record(),
    },
  };
}
