/**
 * The `restore-test` mode: proves a backup restores. The archive is downloaded and its every byte
 * checked before any database is created; it is restored into a fresh scratch database, every
 * table's row count is compared with the manifest, the user's checks run, the recovery time is
 * measured, and the scratch database is dropped, pass or fail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findBackup } from '../catalog.js';
import { testFilesBackup } from '../files/restore-files.js';
import { errorMessage } from '../errors.js';
import { formatCount, formatSeconds } from '../format.js';
import { withDatabase } from '../inputs/database.js';
import type { Manifest } from '../manifest.js';
import {
  checkReachable,
  createDatabase,
  downloadArchive,
  dropDatabase,
  restoreProgram,
  runPgRestore,
  scratchName,
} from '../postgres/restore.js';
import { connect, exactRowCounts } from '../postgres/server.js';
import { runChecks, type CheckResult } from '../restore/checks.js';
import { compareCounts, describeDifference, type TableComparison } from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import type { DatabaseTarget, RestoreTestSettings } from '../settings.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from './types.js';

/** Beyond this many tables the summary lists only those that differ. */
const TABLES_SHOWN = 60;

interface Findings {
  manifest: Manifest;
  scratch: string;
  comparison?: { tables: TableComparison[]; differing: TableComparison[] };
  checks: CheckResult[];
}

export async function restoreTest(
  settings: RestoreTestSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const manifest = await findBackup(ctx.store, settings.name, settings.backupId);
  if (manifest.format === 'tar') return testFilesBackup(ctx, manifest, settings.decryption);
  const server = settings.database;
  if (!server)
    throw new Error(
      'database-url (a scratch server) is required to restore-test a database backup',
    );
  await checkReachable(server, ctx.signal);
  const program = await restoreProgram(manifest, settings.pgBinDir);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'restore-test-'));
  const scratch = scratchName(settings.name);
  const findings: Findings = { manifest, scratch, checks: [] };
  try {
    const archive = await phases.time('download, verify, decrypt, decompress', () =>
      downloadArchive(ctx.store, manifest, settings.decryption, dir, ctx.signal),
    );
    ctx.log.info(
      `sha256 of ${manifest.object.key} verified; restoring into scratch database ${scratch}`,
    );
    const target = withDatabase(server, scratch);
    try {
      // Not cancellable: a cancelled CREATE may still have made the database, which must be dropped.
      await createDatabase(server, scratch);
      await phases.time('restore (pg_restore)', () =>
        runPgRestore(program, archive, target, {
          jobs: settings.jobs,
          clean: false,
          signal: ctx.signal,
        }),
      );
      await inspect(settings, ctx, target, findings, phases);
    } finally {
      await cleanUp(settings, ctx, server, scratch);
    }
  } catch (error) {
    if (error instanceof ModeFailure) throw error;
    throw new ModeFailure(errorMessage(error), describe(findings, phases, settings));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const result = describe(findings, phases, settings);
  const problems = failures(findings);
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), result);
  return result;
}

async function inspect(
  settings: RestoreTestSettings,
  ctx: RunContext,
  target: ReturnType<typeof withDatabase>,
  findings: Findings,
  phases: Phases,
): Promise<void> {
  const client = await connect(target, ctx.signal);
  try {
    const found = await phases.time('compare row counts', () => exactRowCounts(client));
    if (findings.manifest.rowCountsMode === 'exact' && findings.manifest.rowCounts) {
      findings.comparison = compareCounts(findings.manifest.rowCounts, found);
    } else {
      findings.comparison = { tables: compareCounts(found, found).tables, differing: [] };
      ctx.log.warning(
        `the manifest has no exact row counts (row-counts: ${findings.manifest.rowCountsMode ?? 'off'}); only the restore and checks were tested`,
      );
    }
    findings.checks = await phases.time('checks', () => runChecks(client, settings.checks));
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function cleanUp(
  settings: RestoreTestSettings,
  ctx: RunContext,
  server: DatabaseTarget,
  scratch: string,
): Promise<void> {
  if (settings.keepDatabase) {
    ctx.log.info(`keep-database: the scratch database ${scratch} was kept`);
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
  if (differing.length > 0) {
    problems.push(
      `${differing.length} table(s) differ from the manifest: ${differing.slice(0, 5).map(describeDifference).join(', ')}${differing.length > 5 ? ', …' : ''}`,
    );
  }
  const failed = findings.checks.filter((check) => !check.passed);
  if (failed.length > 0) {
    problems.push(
      `${failed.length} check(s) failed: ${failed.map((check) => `${check.text} (${check.value})`).join(', ')}`,
    );
  }
  return problems;
}

function describe(findings: Findings, phases: Phases, settings: RestoreTestSettings): ModeResult {
  const { manifest, comparison, checks } = findings;
  const tables = comparison?.tables ?? [];
  const rows = tables.reduce((sum, row) => sum + (row.found ?? 0), 0);
  const seconds = phases.totalSeconds();
  const result: ModeResult = {
    headline: `Backup ${manifest.name}/${manifest.id} restored in ${formatSeconds(seconds)}: ${tables.length} tables, ${formatCount(rows)} rows match the manifest${checks.length ? `, ${checks.length} check(s) passed` : ''}`,
    outputs: {
      'restored-tables': tables.length,
      'restore-seconds': Number(seconds.toFixed(3)),
      'backup-id': manifest.id,
    },
    facts: [
      ['Set', manifest.name],
      [
        'Backup',
        `${manifest.id} (made ${manifest.createdAt}, ${manifest.encryption === 'age' ? 'age-encrypted' : 'not encrypted'})`,
      ],
      ['Recovery time', formatSeconds(seconds)],
      ['Tables / rows', `${formatCount(tables.length)} / ${formatCount(rows)}`],
      [
        'Scratch database',
        `${findings.scratch}${settings.keepDatabase ? ' (kept)' : ' (dropped)'}`,
      ],
      ['pg_restore jobs', String(settings.jobs)],
    ],
    tables: [phases.table(), ...countTables(comparison), ...checkTables(checks)],
    details: { manifest, scratch: findings.scratch, comparison, checks, restoreSeconds: seconds },
  };
  return result;
}

function countTables(comparison: Findings['comparison']): Table[] {
  if (!comparison) return [];
  const shown = comparison.tables.length > TABLES_SHOWN ? comparison.differing : comparison.tables;
  const title =
    shown === comparison.tables
      ? 'Row counts: restored vs manifest'
      : `Row counts: the ${shown.length} of ${comparison.tables.length} tables that differ`;
  const rows = shown.map((row) => [
    row.table,
    row.expected === undefined ? '—' : formatCount(row.expected),
    row.found === undefined ? 'missing' : formatCount(row.found),
    row.expected === row.found ? '✅' : '❌',
  ]);
  return [{ title, header: ['table', 'manifest', 'restored', ''], rows }];
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
