/**
 * One database restored into its target, as `restore` does it for a backup of one database and
 * for each database of a server backup: into the empty target, or with clean into a new database
 * beside it that is checked and swapped in (src/postgres/replace.ts), so that a failure at any
 * point leaves the target as it was. Owners and privileges are restored whenever the target can
 * take them (restore/owners.ts).
 */
import { printableName, printableText } from '../core/database-names.js';
import { CancelledError, errorMessage, FinalError } from '../core/errors.js';
import { formatCount } from '../core/format.js';
import type { DatabasePart } from '../core/manifest.js';
import { startDownload, withLocalArchive, type LocalArchive } from './archive.js';
import { ownersUnusable, restoreDatabaseOwner } from './owners.js';
import { withDatabase } from '../postgres/database-url.js';
import {
  applyDatabaseStatements,
  wantedStatements,
  type Applied,
} from '../postgres/database-settings.js';
import { databaseStatements, type DatabaseStatement } from '../postgres/database-statements.js';
import { createSide, swapIn, type Replacement } from '../postgres/replace.js';
import { gatherStatistics, type NotAnalyzed, type Statistics } from '../postgres/statistics.js';
import { countRows, dropDatabase, inspectTarget, type TargetState } from '../postgres/restore.js';
import { compareWithManifest, differenceLine, type Comparison } from './compare.js';
import type { Phases } from './phases.js';
import { timedPgRestore, type PgRestore } from './pg-restore.js';
import type { DatabaseRestoreSettings, DatabaseTarget } from '../core/settings.js';
import type { RunContext } from '../core/types.js';

export interface Restored {
  part: DatabasePart;
  target: DatabaseTarget;
  state: TargetState;
  /** The target did not exist: this run created it (and gives it the source's owner). */
  created?: boolean;
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
  /** Where the restored tables' planner statistics come from. */
  statistics?: Statistics;
}

export type Outcome =
  | 'untouched'
  /** pg_restore wrote into an empty target (no clean) and did not finish. */
  | 'partial'
  | 'restored'
  | 'replaced'
  /** Swapped in, but the old database could not be dropped: it is named. */
  | 'replaced, old kept';

export interface RestoreRun {
  settings: DatabaseRestoreSettings;
  ctx: RunContext;
  pgRestore: PgRestore;
  phases: Phases;
  restored: Restored;
}

/** Restores one database; a failure leaves `restored` saying where the target stands, and throws. */
export async function restoreOne(
  run: RestoreRun,
  download = startDownload(run.ctx, run.restored.part, run.settings.decryption, run.phases),
): Promise<void> {
  const { ctx, pgRestore, restored } = run;
  const { replacement, target } = restored;
  try {
    await withLocalArchive(download, pgRestore, restored.part.backup.dump?.version, (archive) => {
      restored.archive = archive;
      return restoreInto(run, archive);
    });
    if (replacement) await swap(run, replacement);
    else restored.outcome = 'restored';
  } catch (error) {
    if (replacement && restored.outcome === 'untouched') await dropSide(ctx, replacement);
    if (restored.outcome === 'partial') restored.tablesNow = await tablesNow(target);
    throw error;
  }
}

/**
 * A failure once a target the run keeps was written into without clean is not tried again: the
 * retry would be refused as not empty, and that refusal would hide this cause.
 */
export function finalOnceWritten(error: unknown, restored: readonly Restored[]): unknown {
  if (error instanceof CancelledError) return error;
  const written = restored.some(({ outcome }) => outcome === 'partial' || outcome === 'restored');
  return written ? new FinalError(error) : error;
}

/** The tables restored from the backup (not the target's own) and their rows. */
export function restoredCounts(restored: Restored): { tables: number; rows: number } {
  const tables = (restored.comparison?.tables ?? []).filter(
    (row) => row.found !== undefined && row.status !== 'not-in-backup',
  );
  return { tables: tables.length, rows: tables.reduce((sum, row) => sum + (row.found ?? 0), 0) };
}

/** The one line a non-empty target without clean is refused with; several are named together. */
export function notEmptyLine(targets: { database: string; tables: number }[]): string {
  const named = targets
    .map(({ database, tables }) => `${printableName(database)} (${tables} tables)`)
    .join(', ');
  const [one] = targets;
  return targets.length === 1 && one
    ? `the target database ${printableName(one.database)} is not empty (${one.tables} tables); set clean: true to replace it whole with the backup, or restore into an empty database`
    : `the target databases ${named} are not empty; set clean: true to replace them whole with the backup, or restore into empty databases; nothing was restored`;
}

/** Restores into the side database (clean) or the empty target, and counts what is there. */
async function restoreInto(run: RestoreRun, archive: LocalArchive): Promise<void> {
  const { settings, ctx, pgRestore, phases, restored } = run;
  const { part, target, replacement } = restored;
  const into = replacement ? withDatabase(target, replacement.side) : target;
  restored.ownersSkipped = await ownersUnusable(archive, target, ctx.signal);
  if (restored.ownersSkipped) {
    ctx.log.warning(
      `owners and privileges are not restored: ${restored.ownersSkipped}; everything will belong to the restoring role. Create those roles (pg_dumpall --roles-only) and restore again with clean: true to restore them`,
    );
  }
  if (replacement) {
    await phases.time('create the new database', () => createSide(replacement));
  }
  ctx.log.info(
    `sha256 of ${part.object.key} verified; restoring into ${replacement ? `${printableName(replacement.side)}, to replace ${printableName(target.database)} once checked` : target.display}`,
  );
  if (!replacement) restored.outcome = 'partial';
  await timedPgRestore(pgRestore, phases, archive, into, {
    jobs: settings.jobs,
    keepOwners: !restored.ownersSkipped,
    signal: ctx.signal,
  });
  archive.remove();
  if (restored.created && !restored.ownersSkipped) {
    await restoreDatabaseOwner(archive, into, into.database, ctx.log);
  }
  const counts = await analyzeAndCount(run, archive, into);
  restored.comparison = compare(part, counts, archive, replacement !== undefined);
  // After the counts: a setting such as statement_timeout is the database's users', not ours.
  if (settings.databaseSettings || !restored.ownersSkipped) await applySettings(run, archive, into);
  if (!replacement) restored.outcome = 'restored';
}

/**
 * The statistics autovacuum will not gather and the row counts at once, on their own connections:
 * neither waits for the other's locks. Both settle before a failure of either is thrown.
 */
async function analyzeAndCount(
  { phases, restored, settings, ctx }: RestoreRun,
  archive: LocalArchive,
  into: DatabaseTarget,
): Promise<Record<string, number>> {
  // The archive's database settings are applied after this: one that touches autovacuum or
  // track_counts (off for the database) leaves every table to this ANALYZE.
  const touched = (statement: DatabaseStatement) =>
    statement.kind === 'setting' && /autovacuum|track_counts/i.test(statement.text);
  const autovacuumAllowed = !(
    settings.databaseSettings && databaseStatements(await archive.databaseScript).some(touched)
  );
  const gather = () =>
    gatherStatistics(into, { jobs: settings.jobs, autovacuumAllowed }, ctx.signal);
  const [analyzed, counted] = await Promise.allSettled([
    phases.time('analyze', gather),
    phases.time('compare row counts', () => countRows(into, ctx.signal)),
  ]);
  if (analyzed.status === 'rejected') throw analyzed.reason;
  if (counted.status === 'rejected') throw counted.reason;
  restored.statistics = analyzed.value;
  const { failed } = analyzed.value;
  if (failed.length > 0) {
    ctx.log.warning(
      `ANALYZE failed on ${failed.length} table(s), restored in full but without planner statistics until analyzed by hand: ${printableText(failed.map(({ table, error }) => `${table} (${error})`).join('; '))}`,
    );
  }
  return counted.value;
}

/** The checked new database takes the target's name; the old one is dropped, or named if it stays. */
async function swap(run: RestoreRun, replacement: Replacement): Promise<void> {
  const { ctx, phases, restored } = run;
  const differing = restored.comparison?.differing ?? [];
  if (differing.length > 0) throw new Error(differenceLine(differing));
  ctx.signal.throwIfAborted();
  ctx.log.info(
    `swapping ${printableName(replacement.side)} in for ${printableName(replacement.target.database)}`,
  );
  await phases.time('swap in', () => swapIn(replacement, restored.comment));
  restored.outcome = 'replaced';
  try {
    await phases.time('drop the old database', () =>
      dropDatabase(replacement.server, replacement.old),
    );
  } catch (error) {
    restored.outcome = 'replaced, old kept';
    ctx.log.warning(
      `the old ${printableName(replacement.target.database)}, now named ${printableName(replacement.old)}, could not be dropped: ${errorMessage(error)}; drop it when done (the next restore into ${printableName(replacement.target.database)} drops it)`,
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
  const { ctx, restored, settings } = run;
  const statements = wantedStatements(databaseStatements(await archive.databaseScript), {
    settings: settings.databaseSettings,
    privileges: !restored.ownersSkipped,
  });
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
      `could not drop ${printableName(replacement.side)}, the unfinished new database: ${errorMessage(error)}; the next restore into ${printableName(replacement.target.database)} drops it`,
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
  part: DatabasePart,
  counts: Record<string, number>,
  archive: LocalArchive,
  fresh: boolean,
): Comparison {
  return compareWithManifest(part, counts, { toc: archive.toc, strangersFail: fresh });
}

/** Where the target stands after the run, and what to do about it: a failed run says so first. */
export function standing(restored: Restored): string {
  const { target, replacement, outcome } = restored;
  switch (outcome) {
    case 'untouched':
      if (restored.created) return 'not created: the database made for it was dropped again';
      return replacement
        ? `unchanged: nothing was swapped in; the new database ${printableName(replacement.side)} was dropped. Fix the cause and run again`
        : 'unchanged: nothing was restored into it';
    case 'partial':
      return `partly restored: ${restored.tablesNow ?? 'some'} tables are in it now. Restore again with clean: true, which replaces it whole`;
    case 'restored':
      return 'restored into the empty target';
    case 'replaced':
      return `replaced whole by the backup (the old ${printableName(target.database)} was dropped)`;
    case 'replaced, old kept':
      return `replaced whole by the backup; the old ${printableName(target.database)} is kept as ${printableName(replacement?.old ?? '')}: drop it when done`;
  }
}

/** Whether the target was replaced whole: with clean, only once the new database was swapped in. */
export function replacedLine({ replacement, outcome, state }: Restored): string {
  if (!replacement) return 'no (the target was empty)';
  const there = `clean: true; ${state.tables} tables were there`;
  return outcome === 'untouched'
    ? `no: the restore failed before the swap (${there})`
    : `yes (${there})`;
}

/**
 * Whether owners and privileges came back: said `restored` only once the restore finished, and
 * the database's own privileges came back too.
 */
export function ownersLine(restored: Restored): string {
  if (restored.ownersSkipped) return `not restored: ${restored.ownersSkipped}`;
  if (restored.outcome === 'untouched' || restored.outcome === 'partial') {
    return 'not restored: the restore did not finish';
  }
  const failed = (restored.databaseSettings ?? []).filter(
    (item) => item.statement.kind === 'privilege' && item.error !== undefined,
  );
  if (failed.length === 0) return 'restored';
  return `restored, except the database's privileges: ${failed.map((item) => `${item.statement.text} (${item.error ?? ''})`).join('; ')}`;
}

/** True when owners and every privilege of the database were restored. */
export const ownersRestored = (restored: Restored) => ownersLine(restored) === 'restored';

/** `wanted`: the restore-database-settings input. */
export function settingsLine(applied: Applied[] | undefined, wanted: boolean): string {
  if (!wanted) return 'not restored (restore-database-settings: false)';
  if (!applied) return 'not restored';
  if (applied.length === 0) return 'none in the backup';
  const failed = applied.filter((item) => item.error !== undefined);
  const done = `${applied.length - failed.length} of ${applied.length} applied from the backup`;
  return failed.length === 0
    ? done
    : `${done}; not applied: ${failed.map((item) => item.statement.text).join('; ')}`;
}

/** Where the restored tables' planner statistics come from. */
export function statisticsLine(statistics: Statistics | undefined): string {
  if (!statistics) return 'not gathered: the restore did not finish';
  const { analyzed, leftToAutovacuum, failed } = statistics;
  const here =
    analyzed === 0
      ? 'no table needed ANALYZE here'
      : `ANALYZE ran on ${formatCount(analyzed)} table(s) autovacuum would not analyze`;
  const left =
    leftToAutovacuum === 0
      ? here
      : `${here}; autovacuum analyzes the ${analyzed === 0 ? '' : 'other '}${formatCount(leftToAutovacuum)} on its next visit to the database, as after any pg_restore (run vacuumdb --analyze-only to have them sooner)`;
  return failed.length === 0 ? left : `${left}; ${notAnalyzedLine(failed)}`;
}

function notAnalyzedLine(failed: readonly NotAnalyzed[]): string {
  // The names are quoted as SQL quotes them, which leaves a control character in them raw.
  const tables = printableText(failed.map((one) => one.table).join(', '));
  return `not analyzed, as ANALYZE failed on them: ${tables}; once the cause is mended, run ANALYZE ${tables} in the database (or vacuumdb --analyze-only --table for each)`;
}
