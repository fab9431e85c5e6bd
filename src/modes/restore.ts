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
import type { Manifest } from '../core/manifest.js';
import { withLocalArchive, type LocalArchive } from '../restore/archive.js';
import { ownersUnusable } from '../restore/owners.js';
import { withDatabase } from '../postgres/database-url.js';
import {
  applyDatabaseStatements,
  archiveDatabaseStatements,
  type Applied,
} from '../postgres/database-settings.js';
import type { DatabaseStatement } from '../postgres/database-statements.js';
import { createSide, prepareReplacement, swapIn, type Replacement } from '../postgres/replace.js';
import {
  analyze,
  countRows,
  dropDatabase,
  inspectTarget,
  type TargetState,
} from '../postgres/restore.js';
import {
  compareCounts,
  countsTable,
  differenceLine,
  exactCounts,
  type Comparison,
} from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import { choosePgRestore, timedPgRestore, type PgRestore } from '../restore/pg-restore.js';
import type { DatabaseTarget, RestoreSettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext } from '../core/types.js';

interface Restored {
  manifest: Manifest;
  target: DatabaseTarget;
  state: TargetState;
  /** With clean: the new database beside the target, swapped in once checked. */
  replacement?: Replacement;
  /** Where the target stands now, for the summary of a run that failed as of one that passed. */
  outcome: Outcome;
  /** Why owners and privileges were not restored, when they were not. */
  ownersSkipped?: string;
  archive?: LocalArchive;
  comparison?: Comparison;
  /** The tables a failed restore into an empty target left there. */
  tablesNow?: number;
  /** The archive's database-level settings and comment; undefined when not restored. */
  databaseSettings?: Applied[];
  /** The archive's comment, set on the target's new database as it is swapped in. */
  comment?: DatabaseStatement;
}

type Outcome =
  | 'untouched'
  /** pg_restore wrote into an empty target (no clean) and did not finish. */
  | 'partial'
  | 'restored'
  | 'replaced'
  /** Swapped in, but the old database could not be dropped: it is named. */
  | 'replaced, old kept';

interface RestoreRun {
  settings: RestoreSettings;
  ctx: RunContext;
  pgRestore: PgRestore;
  phases: Phases;
  restored: Restored;
}

export async function restore(settings: RestoreSettings, ctx: RunContext): Promise<ModeResult> {
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
  if (isServerManifest(manifest)) throw new Error('TODO(issue 20): server backups');
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
      `the target database ${target.database} is not empty (${state.tables} tables); set clean: true to replace it whole with the backup, or restore into an empty database`,
    );
  }
  const replacement = settings.clean
    ? await prepareReplacement(target, ctx.log, ctx.signal)
    : undefined;
  const pgRestore = await choosePgRestore(manifest, settings.client, ctx, state.server);
  const restored: Restored = { manifest, target, state, replacement, outcome: 'untouched' };
  const run: RestoreRun = { settings, ctx, pgRestore, phases, restored };
  try {
    await withLocalArchive(ctx, manifest, settings.decryption, pgRestore, phases, (archive) => {
      restored.archive = archive;
      return restoreInto(run, archive);
    });
    if (replacement) await swap(run, replacement);
    else restored.outcome = 'restored';
  } catch (error) {
    if (replacement && restored.outcome === 'untouched') await dropSide(ctx, replacement);
    if (restored.outcome === 'partial') restored.tablesNow = await tablesNow(target);
    throw new ModeFailure(errorMessage(error), describe(restored, phases));
  }
  const result = describe(restored, phases);
  const differing = restored.comparison?.differing ?? [];
  if (differing.length > 0) throw new ModeFailure(differenceLine(differing), result);
  return result;
}

/** Restores into the side database (clean) or the empty target, and counts what is there. */
async function restoreInto(run: RestoreRun, archive: LocalArchive): Promise<void> {
  const { settings, ctx, pgRestore, phases, restored } = run;
  const { manifest, target, replacement } = restored;
  const into = replacement ? withDatabase(target, replacement.side) : target;
  restored.ownersSkipped = await ownersUnusable(
    pgRestore.program,
    archive.file,
    target,
    ctx.signal,
  );
  if (restored.ownersSkipped) {
    ctx.log.warning(
      `owners and privileges are not restored: ${restored.ownersSkipped}; everything will belong to the restoring role. Create those roles (pg_dumpall --roles-only) and restore again with clean: true to restore them`,
    );
  }
  if (replacement) {
    await phases.time('create the new database', () => createSide(replacement));
  }
  ctx.log.info(
    `sha256 of ${manifest.object.key} verified; restoring into ${replacement ? `${replacement.side}, to replace ${target.database} once checked` : target.display}`,
  );
  if (!replacement) restored.outcome = 'partial';
  await timedPgRestore(pgRestore, phases, archive.file, into, {
    jobs: settings.jobs,
    keepOwners: !restored.ownersSkipped,
    signal: ctx.signal,
  });
  await phases.time('analyze', () => analyze(into, ctx.signal));
  const counts = await phases.time('compare row counts', () => countRows(into, ctx.signal));
  restored.comparison = compare(manifest, counts, archive, replacement !== undefined);
  // After the counts: a setting such as statement_timeout is the database's users', not ours.
  if (settings.databaseSettings) await applySettings(run, archive, into);
  if (!replacement) restored.outcome = 'restored';
}

/** The checked new database takes the target's name; the old one is dropped, or named if it stays. */
async function swap(run: RestoreRun, replacement: Replacement): Promise<void> {
  const { ctx, phases, restored } = run;
  const differing = restored.comparison?.differing ?? [];
  if (differing.length > 0) throw new Error(differenceLine(differing));
  ctx.signal.throwIfAborted();
  ctx.log.info(`swapping ${replacement.side} in for ${replacement.target.database}`);
  await phases.time('swap in', () => swapIn(replacement, restored.comment));
  restored.outcome = 'replaced';
  try {
    await phases.time('drop the old database', () =>
      dropDatabase(replacement.server, replacement.old),
    );
  } catch (error) {
    restored.outcome = 'replaced, old kept';
    ctx.log.warning(
      `the old ${replacement.target.database}, now named ${replacement.old}, could not be dropped: ${errorMessage(error)}; drop it when done (the next restore into ${replacement.target.database} drops it)`,
    );
  }
}

/**
 * The archive's settings, onto the database restored into; its comment too, except on a new
 * database, which carries our mark until the swap gives it the backup's comment.
 */
async function applySettings(
  run: RestoreRun,
  archive: LocalArchive,
  into: DatabaseTarget,
): Promise<void> {
  const { ctx, pgRestore, restored } = run;
  const statements = await archiveDatabaseStatements(pgRestore.program, archive.file);
  restored.comment = restored.replacement
    ? statements.find((statement) => statement.kind === 'comment')
    : undefined;
  const now = statements.filter((statement) => statement !== restored.comment);
  restored.databaseSettings = [
    ...(await applyDatabaseStatements(into, into.database, now)),
    ...(restored.comment ? [{ statement: restored.comment }] : []),
  ];
  for (const { statement, error } of restored.databaseSettings) {
    if (error) ctx.log.warning(`the backup's "${statement.text}" was not applied: ${error}`);
  }
}

async function dropSide(ctx: RunContext, replacement: Replacement): Promise<void> {
  try {
    await dropDatabase(replacement.server, replacement.side);
  } catch (error) {
    ctx.log.warning(
      `could not drop ${replacement.side}, the unfinished new database: ${errorMessage(error)}; the next restore into ${replacement.target.database} drops it`,
    );
  }
}

async function tablesNow(target: DatabaseTarget): Promise<number | undefined> {
  const aborted = new AbortController().signal;
  return inspectTarget(target, aborted).then(
    (now) => now.tables,
    () => undefined,
  );
}

/**
 * The restored tables against the manifest. In a new database every table must be the backup's;
 * in an existing (empty) target, tables the backup does not hold are the target's own.
 */
function compare(
  manifest: Manifest,
  counts: Record<string, number>,
  archive: LocalArchive,
  fresh: boolean,
): Comparison {
  const expected = exactCounts(manifest);
  return compareCounts(expected ?? counts, counts, { toc: archive.toc, strangersFail: fresh });
}

/** Where the target stands after the run, and what to do about it: a failed run says so first. */
function standing(restored: Restored): string {
  const { target, replacement, outcome } = restored;
  switch (outcome) {
    case 'untouched':
      return replacement
        ? `unchanged: nothing was swapped in; the new database ${replacement.side} was dropped. Fix the cause and run again`
        : 'unchanged: nothing was restored into it';
    case 'partial':
      return `partly restored: ${restored.tablesNow ?? 'some'} tables are in it now. Restore again with clean: true, which replaces it whole`;
    case 'restored':
      return 'restored into the empty target';
    case 'replaced':
      return `replaced whole by the backup (the old ${target.database} was dropped)`;
    case 'replaced, old kept':
      return `replaced whole by the backup; the old ${target.database} is kept as ${replacement?.old}: drop it when done`;
  }
}

function settingsLine(applied: Applied[] | undefined): string {
  if (!applied) return 'not restored';
  if (applied.length === 0) return 'none in the backup';
  const failed = applied.filter((item) => item.error !== undefined);
  const done = `${applied.length - failed.length} of ${applied.length} applied from the backup`;
  return failed.length === 0
    ? done
    : `${done}; not applied: ${failed.map((item) => item.statement.text).join('; ')}`;
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
