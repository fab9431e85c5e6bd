/**
 * One database of a backup tested in a scratch database: the empty scratch database is made while
 * the archive downloads (it costs a tenth of a second or more, in a run whose length is its
 * point); nothing is restored into it before the archive's every byte is checked and its table of
 * contents read; every table's row count is compared with the manifest before the backup's database
 * settings are applied, the checks run after them, and the scratch database is dropped, pass, fail
 * or cancel. restore-test runs it once for a backup of one database, and once per database for a
 * server backup.
 */
import { printableName } from '../core/database-names.js';
import { errorMessage } from '../core/errors.js';
import type { DatabasePart } from '../core/manifest.js';
import { withDatabase } from '../postgres/database-url.js';
import { startDownload, withLocalArchive, type LocalArchive } from './archive.js';
import {
  applyDatabaseStatements,
  missingDatabaseStatements,
  wantedStatements,
} from '../postgres/database-settings.js';
import { databaseStatements } from '../postgres/database-statements.js';
import { createDatabase, dropDatabase } from '../postgres/restore.js';
import { mark, unmark } from '../postgres/scratch-marks.js';
import { exactRowCounts, withConnection } from '../postgres/server.js';
import { runChecks, type CheckResult } from './checks.js';
import { compareWithManifest, differenceLine, exactCounts, type Comparison } from './compare.js';
import { ownersUnusable, restoreDatabaseOwner } from './owners.js';
import type { Phases } from './phases.js';
import { timedPgRestore, type PgRestore } from './pg-restore.js';
import type { Check, DatabaseTarget, RestoreTestSettings } from '../core/settings.js';
import type { RunContext, Table } from '../core/types.js';

export interface ScratchRun {
  settings: RestoreTestSettings;
  ctx: RunContext;
  /** The scratch server. */
  server: DatabaseTarget;
  pgRestore: PgRestore;
  /** What marks this run's scratch databases and roles (restore/scratch-lease.ts). */
  mark: string;
}

/** The scratch server of a database backup (a files backup needs none). */
export function scratchServer(settings: RestoreTestSettings): DatabaseTarget {
  if (!settings.database) {
    throw new Error(
      'database-url (a scratch server) is required to restore-test a database backup',
    );
  }
  return settings.database;
}

export interface TestOptions {
  checks: readonly Check[];
  /** Restore owners and privileges (the roles were restored first), when the server has them all. */
  keepOwners: boolean;
  noTablespaces: boolean;
}

/** What the test of one database learned, kept so that a failed run's summary still shows it. */
export interface DatabaseTest {
  part: DatabasePart;
  scratch: string;
  phases: Phases;
  archive?: LocalArchive;
  /** Whether anything was restored into the scratch database (keep-database keeps only such). */
  restoreStarted?: boolean;
  comparison?: Comparison;
  /** Undefined until the checks ran: a test stopped before them reports none, not zero. */
  checks?: CheckResult[];
  /**
   * The archive's database-level settings, comment and privileges, and those the scratch database
   * lacks; `privileges`: the missing privilege statements, which fail the test.
   */
  databaseSettings?: { total: number; missing: string[]; privileges: string[] };
  /** With keepOwners: why owners were not restored after all; undefined when they were. */
  ownersSkipped?: string;
}

export async function testDatabase(
  run: ScratchRun,
  test: DatabaseTest,
  options: TestOptions,
  download = startDownload(run.ctx, test.part, run.settings.decryption, test.phases),
): Promise<void> {
  const { server, pgRestore } = run;
  // Not cancellable: a cancelled CREATE may still have made the database, which must be dropped.
  const scratchMade = createDatabase(server, test.scratch, run.mark);
  scratchMade.catch(() => undefined); // reported by testInScratch, or moot once the download failed
  // Dropped as soon as the test ends, not after the archive's readers.
  let dropped: Promise<void> | undefined;
  try {
    await withLocalArchive(download, pgRestore, test.part.backup.dump?.version, (archive) => {
      test.archive = archive;
      return testInScratch(run, test, archive, options, scratchMade).finally(() => {
        dropped = cleanUp(run, test, scratchMade);
      });
    });
  } finally {
    await (dropped ?? cleanUp(run, test, scratchMade));
  }
}

async function testInScratch(
  run: ScratchRun,
  test: DatabaseTest,
  archive: LocalArchive,
  options: TestOptions,
  scratchMade: Promise<void>,
): Promise<void> {
  const { settings, ctx, server, pgRestore } = run;
  const { part, scratch, phases } = test;
  ctx.log.info(`sha256 of ${part.object.key} verified; restoring into scratch database ${scratch}`);
  const target = withDatabase(server, scratch);
  await scratchMade;
  const keepOwners = options.keepOwners && !(await ownersSkipped(run, test, archive, target));
  test.restoreStarted = true;
  await timedPgRestore(pgRestore, phases, archive, target, {
    jobs: settings.jobs,
    keepOwners,
    noTablespaces: options.noTablespaces,
    signal: ctx.signal,
  });
  archive.remove();
  if (keepOwners) await restoreDatabaseOwner(archive, server, scratch, ctx.log);
  // Before the settings: one such as statement_timeout or role is the database's users', not ours.
  await countRows(run, test, target);
  if (settings.databaseSettings || keepOwners) await compareSettings(run, test, target, keepOwners);
  // After them: the checks are the user's queries, and see the database as its users do.
  test.checks = await phases.time('checks', () => checksIn(target, options.checks, ctx.signal));
}

/** Whether the scratch server lacks what owners need, said once as a warning. */
async function ownersSkipped(
  { ctx }: ScratchRun,
  test: DatabaseTest,
  archive: LocalArchive,
  target: DatabaseTarget,
): Promise<boolean> {
  test.ownersSkipped = await ownersUnusable(archive, target, ctx.signal);
  if (test.ownersSkipped) {
    ctx.log.warning(
      `${test.part.name === undefined ? 'the database' : printableName(test.part.name)} is restored without owners and privileges: ${test.ownersSkipped}`,
    );
  }
  return test.ownersSkipped !== undefined;
}

/** The archive's database settings and privileges, applied to the scratch database and read back. */
async function compareSettings(
  run: ScratchRun,
  test: DatabaseTest,
  target: DatabaseTarget,
  privileges: boolean,
): Promise<void> {
  const { ctx, settings } = run;
  const statements = wantedStatements(
    databaseStatements((await test.archive?.databaseScript) ?? ''),
    { settings: settings.databaseSettings, privileges },
  );
  const applied = await applyDatabaseStatements(target, target.database, statements);
  const missing = await missingDatabaseStatements(target, target.database, statements);
  test.databaseSettings = {
    total: statements.length,
    missing: missing.map((statement) => statement.text),
    privileges: missing.flatMap((s) => (s.kind === 'privilege' ? [s.text] : [])),
  };
  // The backup's comment took the mark's place; it goes back in front of it, from the server's own
  // database: the scratch one may now be read-only by its settings (default_transaction_read_only).
  if (statements.some((statement) => statement.kind === 'comment')) {
    await withConnection(run.server, (client) =>
      mark(client, 'DATABASE', [target.database], run.mark),
    );
  }
  for (const statement of missing) {
    const error = applied.find((item) => item.statement === statement)?.error;
    ctx.log.warning(`the backup's "${statement.text}" did not restore${error ? `: ${error}` : ''}`);
  }
}

async function countRows(
  { ctx }: ScratchRun,
  test: DatabaseTest,
  target: DatabaseTarget,
): Promise<void> {
  const { part, archive, phases } = test;
  const found = await phases.time('compare row counts', () =>
    withConnection(target, (client) => exactRowCounts(client), ctx.signal),
  );
  if (!exactCounts(part)) {
    ctx.log.warning(
      `the manifest has no exact row counts (row-counts: ${part.backup.rowCountsMode ?? 'off'}); only the restore and the checks were tested`,
    );
  }
  test.comparison = compareWithManifest(part, found, { toc: archive?.toc, strangersFail: true });
}

async function checksIn(
  target: DatabaseTarget,
  checks: readonly Check[],
  signal: AbortSignal,
): Promise<CheckResult[]> {
  if (checks.length === 0) return [];
  return withConnection(target, (client) => runChecks(client, checks), signal);
}

/** keep-database keeps the scratch database only once something was restored into it. */
export function kept(settings: RestoreTestSettings, test: DatabaseTest): boolean {
  return settings.keepDatabase && test.restoreStarted === true;
}

/** Drops the scratch database once its CREATE has settled; keep-database keeps one restored into. */
async function cleanUp(
  { settings, ctx, server }: ScratchRun,
  test: DatabaseTest,
  scratchMade: Promise<void>,
): Promise<void> {
  await scratchMade.catch(() => undefined);
  if (kept(settings, test)) {
    await withConnection(server, (client) => unmark(client, 'DATABASE', [test.scratch])).catch(
      (error: unknown) =>
        ctx.log.warning(`could not unmark ${test.scratch}: ${errorMessage(error)}`),
    );
    ctx.log.info(`keep-database: the scratch database ${test.scratch} was kept; drop it when done`);
    return;
  }
  try {
    await dropDatabase(server, test.scratch);
  } catch (error) {
    ctx.log.warning(`could not drop the scratch database ${test.scratch}: ${errorMessage(error)}`);
  }
}

/** What fails the test: tables that differ and checks that failed, one phrase each. */
export function failures(test: DatabaseTest, prefix = ''): string[] {
  const problems: string[] = [];
  const differing = test.comparison?.differing ?? [];
  if (differing.length > 0) problems.push(`${prefix}${differenceLine(differing)}`);
  const privileges = test.databaseSettings?.privileges ?? [];
  if (privileges.length > 0) {
    problems.push(`${prefix}the database's privileges did not restore: ${privileges.join('; ')}`);
  }
  const failed = (test.checks ?? []).filter((check) => !check.passed);
  if (failed.length > 0) {
    problems.push(
      `${prefix}${failed.length} check(s) failed: ${failed.map((check) => `${check.text} (${check.value})`).join(', ')}`,
    );
  }
  return problems;
}

/** The tables restored (those the manifest or the archive accounts for) and their rows. */
export function restoredTotals(test: DatabaseTest): { tables: number; rows: number } {
  const restored = (test.comparison?.tables ?? []).filter((row) => row.found !== undefined);
  return {
    tables: restored.length,
    rows: restored.reduce((sum, row) => sum + (row.found ?? 0), 0),
  };
}

/**
 * How the archive's database-level settings and comment came through into the scratch database;
 * `wanted`: the restore-database-settings input.
 */
export function scratchSettingsLine(
  found: DatabaseTest['databaseSettings'],
  wanted: boolean,
): string {
  if (!wanted) return 'not restored (restore-database-settings: false)';
  if (!found) return 'not compared';
  if (found.total === 0) return 'none in the backup';
  const { total, missing } = found;
  return missing.length === 0
    ? `${total} of ${total} restored (settings, comment and privileges)`
    : `${total - missing.length} of ${total} restored; missing: ${missing.join('; ')}`;
}

/** The table of the checks' results: none without checks. */
export function tableOfChecks(checks: CheckResult[]): Table[] {
  if (checks.length === 0) return [];
  return [
    {
      title: 'Checks',
      header: ['check', 'value', 'result'],
      rows: checks.map((c) => [c.text, c.value, c.passed ? '✅ pass' : '❌ fail']),
    },
  ];
}
