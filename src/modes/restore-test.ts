/**
 * The `restore-test` mode: proves a backup restores. The scratch server and pg_restore are checked
 * before anything is downloaded; the empty scratch database is made while the archive downloads
 * (it costs a tenth of a second or more, in a run whose length is its point); nothing is restored
 * into it before the archive's every byte is checked and its table of contents read; every table's
 * row count is compared with the manifest, the user's checks run, the recovery time is measured,
 * and the scratch database is dropped, pass, fail or cancel.
 */
import { isServerManifest } from '../core/manifest.js';
import { findBackup } from '../storage/catalog.js';
import { errorMessage } from '../core/errors.js';
import { testFilesBackup } from './restore-files.js';
import { formatBytes, formatCount, formatSeconds } from '../core/format.js';
import { withDatabase } from '../postgres/database-url.js';
import type { Manifest } from '../core/manifest.js';
import { withLocalArchive, type LocalArchive } from '../restore/archive.js';
import {
  applyDatabaseStatements,
  archiveDatabaseStatements,
  missingDatabaseStatements,
} from '../postgres/database-settings.js';
import {
  checkScratchServer,
  createDatabase,
  dropDatabase,
  scratchName,
} from '../postgres/restore.js';
import type { Program } from '../process/programs.js';
import { connect, exactRowCounts, type ServerVersion } from '../postgres/server.js';
import { runChecks, type CheckResult } from '../restore/checks.js';
import {
  compareCounts,
  countsTable,
  differenceLine,
  exactCounts,
  type Comparison,
} from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import { choosePgRestore, timedPgRestore, type PgRestore } from '../restore/pg-restore.js';
import type { DatabaseTarget, RestoreTestSettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';

/** What the run learned, kept so that a failed run's summary still shows it. */
interface Findings {
  manifest: Manifest;
  scratch: string;
  pgRestore: Program;
  server: ServerVersion;
  archive?: LocalArchive;
  /** Whether anything was restored into the scratch database (keep-database keeps only such). */
  restoreStarted?: boolean;
  comparison?: Comparison;
  checks: CheckResult[];
  /** The archive's database-level settings and comment, and those the scratch database lacks. */
  databaseSettings?: { total: number; missing: string[] };
}

interface TestRun {
  settings: RestoreTestSettings;
  ctx: RunContext;
  /** The scratch server. */
  server: DatabaseTarget;
  phases: Phases;
  pgRestore: PgRestore;
  findings: Findings;
}

export async function restoreTest(
  settings: RestoreTestSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
  if (isServerManifest(manifest)) throw new Error('TODO(issue 20): server backups');
  if (manifest.format === 'tar') return testFilesBackup(ctx, manifest, settings.decryption);
  const server = settings.database;
  if (!server) {
    throw new Error(
      'database-url (a scratch server) is required to restore-test a database backup',
    );
  }
  const version = await checkScratchServer(server, ctx.signal);
  const pgRestore = await choosePgRestore(manifest, settings.client, ctx, version);
  const findings: Findings = {
    manifest,
    scratch: scratchName(settings.name),
    pgRestore: pgRestore.program,
    server: version,
    checks: [],
  };
  const run: TestRun = { settings, ctx, server, phases, pgRestore, findings };
  // Not cancellable: a cancelled CREATE may still have made the database, which must be dropped.
  const scratchMade = createDatabase(server, findings.scratch);
  scratchMade.catch(() => undefined); // reported by testInScratch, or moot once the download failed
  try {
    await withLocalArchive(ctx, manifest, settings.decryption, pgRestore, phases, (archive) => {
      findings.archive = archive;
      return testInScratch(run, archive, scratchMade);
    });
  } catch (error) {
    if (error instanceof ModeFailure) throw error;
    throw new ModeFailure(errorMessage(error), describe(run));
  } finally {
    await cleanUp(run, scratchMade);
  }
  const result = describe(run);
  const problems = failures(findings);
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), result);
  return result;
}

async function testInScratch(
  run: TestRun,
  archive: LocalArchive,
  scratchMade: Promise<void>,
): Promise<void> {
  const { settings, ctx, server, phases, findings } = run;
  const { manifest, scratch } = findings;
  ctx.log.info(
    `sha256 of ${manifest.object.key} verified; restoring into scratch database ${scratch}`,
  );
  const target = withDatabase(server, scratch);
  await scratchMade;
  findings.restoreStarted = true;
  await timedPgRestore(run.pgRestore, phases, archive.file, target, {
    jobs: settings.jobs,
    keepOwners: false,
    signal: ctx.signal,
  });
  if (settings.databaseSettings) await compareSettings(run, archive, target);
  await inspect(run, target);
}

/** The archive's database settings, applied to the scratch database and read back. */
async function compareSettings(
  { ctx, findings }: TestRun,
  archive: LocalArchive,
  target: DatabaseTarget,
): Promise<void> {
  const statements = await archiveDatabaseStatements(findings.pgRestore, archive.file);
  const applied = await applyDatabaseStatements(target, target.database, statements);
  const missing = await missingDatabaseStatements(target, target.database, statements);
  findings.databaseSettings = {
    total: statements.length,
    missing: missing.map((statement) => statement.text),
  };
  for (const statement of missing) {
    const error = applied.find((item) => item.statement === statement)?.error;
    ctx.log.warning(`the backup's "${statement.text}" did not restore${error ? `: ${error}` : ''}`);
  }
}

async function inspect(run: TestRun, target: DatabaseTarget): Promise<void> {
  const { settings, ctx, phases, findings } = run;
  const { manifest, archive } = findings;
  const client = await connect(target, ctx.signal);
  try {
    const found = await phases.time('compare row counts', () => exactRowCounts(client));
    const expected = exactCounts(manifest);
    if (!expected) {
      ctx.log.warning(
        `the manifest has no exact row counts (row-counts: ${manifest.rowCountsMode ?? 'off'}); only the restore and the checks were tested`,
      );
    }
    findings.comparison = compareCounts(expected ?? found, found, {
      toc: archive?.toc,
      strangersFail: true,
    });
    findings.checks = await phases.time('checks', () => runChecks(client, settings.checks));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** keep-database keeps the scratch database only once something was restored into it. */
function kept(settings: RestoreTestSettings, restoreStarted: boolean | undefined): boolean {
  return settings.keepDatabase && restoreStarted === true;
}

/** Drops the scratch database once its CREATE has settled; keep-database keeps one restored into. */
async function cleanUp(
  { settings, ctx, server, findings: { scratch, restoreStarted } }: TestRun,
  scratchMade: Promise<void>,
): Promise<void> {
  await scratchMade.catch(() => undefined);
  if (kept(settings, restoreStarted)) {
    ctx.log.info(`keep-database: the scratch database ${scratch} was kept; drop it when done`);
    return;
  }
  try {
    await dropDatabase(server, scratch);
  } catch (error) {
    ctx.log.warning(`could not drop the scratch database ${scratch}: ${errorMessage(error)}`);
  }
}

function failures(findings: Findings): string[] {
  const problems: string[] = [];
  const differing = findings.comparison?.differing ?? [];
  if (differing.length > 0) problems.push(differenceLine(differing));
  const failed = findings.checks.filter((check) => !check.passed);
  if (failed.length > 0) {
    problems.push(
      `${failed.length} check(s) failed: ${failed.map((check) => `${check.text} (${check.value})`).join(', ')}`,
    );
  }
  return problems;
}

function describe({ findings, phases, settings }: TestRun): ModeResult {
  const { manifest, comparison, checks, archive } = findings;
  const restored = (comparison?.tables ?? []).filter((row) => row.found !== undefined);
  const rows = restored.reduce((sum, row) => sum + (row.found ?? 0), 0);
  const seconds = phases.totalSeconds();
  const compared =
    manifest.rowCountsMode === 'exact' && manifest.rowCounts
      ? `${formatCount(rows)} rows match the manifest`
      : `${formatCount(rows)} rows (the manifest has no exact counts to compare)`;
  const passed = checks.length > 0 ? `, ${checks.length} check(s) passed` : '';
  return {
    headline: `Backup ${manifest.name}/${manifest.id} restored in ${formatSeconds(seconds)}: ${restored.length} tables, ${compared}${passed}`,
    outputs: {
      'restored-tables': restored.length,
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
      ['Database settings', settingsLine(findings.databaseSettings)],
      [
        'Tables / rows',
        comparison
          ? `${formatCount(restored.length)} / ${formatCount(rows)}`
          : 'not counted: the restore did not finish',
      ],
      [
        'Scratch database',
        `${findings.scratch}${kept(settings, findings.restoreStarted) ? ' (kept)' : ' (dropped)'} on PostgreSQL ${findings.server.version}`,
      ],
      [
        'pg_restore',
        `${findings.pgRestore.version}, ${settings.jobs} job(s); archive ${archiveLine(manifest, archive)}`,
      ],
    ],
    tables: [
      phases.table(),
      ...(comparison ? [countsTable(comparison)] : []),
      ...checkTables(checks),
    ],
    details: {
      manifest,
      scratch: findings.scratch,
      comparison,
      checks,
      restoreSeconds: seconds,
      phases: phases.record(),
    },
  };
}

function settingsLine(found: Findings['databaseSettings']): string {
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

function checkTables(checks: CheckResult[]): Table[] {
  if (checks.length === 0) return [];
  return [
    {
      title: 'Checks',
      header: ['check', 'value', 'result'],
      rows: checks.map((c) => [c.text, c.value, c.passed ? '✅ pass' : '❌ fail']),
    },
  ];
}
