/**
 * restore-test of a server backup: every database into a scratch database of its own on the
 * scratch server (named from the set, never the production names), each tested as a backup of one
 * database is; the checks run against the database they name. With `restore-globals` the roles
 * are restored first, so owners and grants restore as in production, and the roles made are
 * dropped after the scratch databases: the scratch server is left as it was found. Tablespaces
 * are not restored (pg_restore --no-tablespaces): a scratch server has none of the source's folders.
 */
import { errorMessage } from '../core/errors.js';
import { formatBytes, formatCount, formatSeconds } from '../core/format.js';
import { manifestSize, type ServerManifest } from '../core/manifest.js';
import type { RestoreTestSettings, ServerCheck } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';
import { checkScratchServer, scratchName } from '../postgres/restore.js';
import type { ServerVersion } from '../postgres/server.js';
import { countsTable } from '../restore/compare.js';
import { applyGlobals, dropRoles, readGlobals, type GlobalsApplied } from '../restore/globals.js';
import { Phases } from '../restore/phases.js';
import { choosePgRestore } from '../restore/pg-restore.js';
import { databaseView } from '../restore/server-backup.js';
import { checksByDatabase } from '../restore/targets.js';
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

interface ServerTest {
  run: ScratchRun;
  manifest: ServerManifest;
  version: ServerVersion;
  /** The whole run's clock: the globals, then every database. */
  phases: Phases;
  tests: (DatabaseTest & { database: string })[];
  globals?: GlobalsApplied;
  /** Roles restore-globals made that are still on the scratch server afterwards. */
  rolesLeft: string[];
}

/** Scratch names `restore_test_<set>_<hex>_<n>`: the set cut so that any n fits in 63 bytes. */
function scratchNames(set: string, count: number): string[] {
  const base = scratchName(set.slice(0, 34));
  return Array.from({ length: count }, (_, index) => `${base}_${index + 1}`);
}

export async function restoreTestServer(
  given: RestoreTestSettings,
  ctx: RunContext,
  manifest: ServerManifest,
): Promise<ModeResult> {
  const server = scratchServer(given);
  const checks = checksByDatabase(manifest, given.checks);
  // The reusable workflows ask for the roles on every nightly test: say so, and test the rest.
  const settings = { ...given, restoreGlobals: given.restoreGlobals && !!manifest.globals };
  if (given.restoreGlobals && !manifest.globals) {
    ctx.log.warning(
      `restore-globals: backup ${manifest.id} holds no globals (made with globals: false); its databases are restored without owners`,
    );
  }
  const version = await checkScratchServer(server, ctx.signal);
  // One pg_restore for all: every database was dumped by the same pg_dump.
  const views = manifest.databases.map((record) => databaseView(manifest, record));
  const [view] = views;
  if (!view) throw new Error(`backup ${manifest.id} holds no database`);
  const pgRestore = await choosePgRestore(view, settings.client, ctx, version);
  const phases = new Phases(ctx.now);
  const names = scratchNames(settings.name, manifest.databases.length);
  const tests = manifest.databases.map((record, index) => ({
    database: record.name,
    manifest: views[index] ?? view,
    scratch: names[index] ?? '',
    phases: new Phases(ctx.now),
    checks: [],
  }));
  const test: ServerTest = {
    run: { settings, ctx, server, pgRestore },
    manifest,
    version,
    phases,
    tests,
    rolesLeft: [],
  };
  // The roles go last, pass, fail or cancel, and before the summary, which says whether they went.
  const failure = await testAll(test, checks).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  await dropRolesMade(test);
  if (failure) throw new ModeFailure(errorMessage(failure.error), describe(test));
  const result = describe(test);
  const problems = test.tests.flatMap((one) => failures(one, `${one.database}: `));
  if (test.rolesLeft.length > 0) {
    problems.push(
      `the role(s) ${test.rolesLeft.join(', ')} restore-globals made could not be dropped`,
    );
  }
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), result);
  return result;
}

/** The globals, then each database in turn; a database that fails to restore stops the run. */
async function testAll(test: ServerTest, checks: Map<string, ServerCheck[]>): Promise<void> {
  const { run, manifest, phases } = test;
  const { settings, ctx, server } = run;
  if (settings.restoreGlobals) {
    const script = await phases.time('read the globals', () =>
      readGlobals(ctx, manifest, settings.decryption),
    );
    test.globals = await phases.time('apply the globals', () =>
      applyGlobals(server, script, { sameName: new Set(), tablespaceMode: 'skip' }, ctx.log),
    );
  }
  for (const one of test.tests) {
    ctx.signal.throwIfAborted();
    // Its own clock from its own start: its seconds in the table of databases.
    one.phases = new Phases(ctx.now);
    await phases.time(phaseName(one.database), () =>
      testDatabase(run, one, {
        checks: checks.get(one.database) ?? [],
        keepOwners: settings.restoreGlobals,
        noTablespaces: true,
      }),
    );
  }
}

const phaseName = (database: string) => `database ${database}`;

/** After every scratch database is gone: keep-database keeps the roles its databases use. */
async function dropRolesMade(test: ServerTest): Promise<void> {
  const { run, globals, tests } = test;
  const created = globals?.created ?? [];
  if (created.length === 0) return;
  if (tests.some((one) => kept(run.settings, one))) {
    run.ctx.log.info(
      `keep-database: the roles restore-globals made are kept with the scratch databases: ${created.join(', ')}`,
    );
    test.rolesLeft = [];
    return;
  }
  try {
    test.rolesLeft = await dropRoles(run.server, created, run.ctx.log);
  } catch (error) {
    test.rolesLeft = created;
    run.ctx.log.warning(`could not drop the roles restore-globals made: ${errorMessage(error)}`);
  }
}

function describe(test: ServerTest): ModeResult {
  const { run, manifest, phases, tests, version } = test;
  const { settings } = run;
  const totals = tests.map(restoredTotals);
  const tables = totals.reduce((sum, one) => sum + one.tables, 0);
  const rows = totals.reduce((sum, one) => sum + one.rows, 0);
  const seconds = phases.totalSeconds();
  const done = tests.filter((one) => one.comparison !== undefined).length;
  const keptAny = tests.some((one) => kept(settings, one));
  return {
    headline: `Backup ${manifest.name}/${manifest.id} restored in ${formatSeconds(seconds)}: ${done} of ${tests.length} databases, ${formatCount(tables)} tables, ${formatCount(rows)} rows`,
    outputs: {
      'restored-tables': tables,
      'restore-seconds': Number(seconds.toFixed(3)),
      'backup-id': manifest.id,
    },
    facts: [
      ['Set', manifest.name],
      [
        'Backup',
        `${manifest.id} (made ${manifest.createdAt}, a server backup of ${tests.length} database(s), ${formatBytes(manifestSize(manifest))}, ${manifest.encryption === 'age' ? 'age-encrypted' : 'not encrypted'})`,
      ],
      ['Recovery time', `${formatSeconds(seconds)} in all`],
      ['Roles', rolesLine(test)],
      ['Tablespaces', 'not restored (restore-test restores with --no-tablespaces)'],
      [
        'Scratch databases',
        `${tests.map((one) => one.scratch).join(', ')}${keptAny ? ' (kept: keep-database)' : ' (dropped)'} on PostgreSQL ${version.version}`,
      ],
      ['pg_restore', `${run.pgRestore.program.version}, ${settings.jobs} job(s)`],
    ],
    tables: [
      databasesTable(test),
      phases.table(),
      ...tests.flatMap((one) =>
        one.comparison && one.comparison.differing.length > 0
          ? [{ ...countsTable(one.comparison), title: `${one.database}: row counts` }]
          : [],
      ),
      ...checkTables(tests.flatMap((one) => one.checks)),
    ],
    details: {
      manifest,
      databases: tests.map((one) => ({
        name: one.database,
        scratch: one.scratch,
        comparison: one.comparison,
        checks: one.checks,
        ownersSkipped: one.ownersSkipped,
        restoreSeconds: phases.record()[phaseName(one.database)],
      })),
      roles: test.globals && {
        created: test.globals.created,
        existing: test.globals.plan.existing,
        skipped: test.globals.plan.skipped,
        failed: test.globals.failed,
        left: test.rolesLeft,
      },
      restoreSeconds: seconds,
      phases: phases.record(),
    },
  };
}

function rolesLine({ run, globals, rolesLeft }: ServerTest): string {
  if (!run.settings.restoreGlobals) {
    return 'not restored (restore-globals: false): objects restored without owners and privileges';
  }
  if (!globals) return 'not restored: the run stopped before';
  const { created, plan, failed } = globals;
  const parts = [
    `${created.length} created${created.length > 0 ? ` (${created.join(', ')})` : ''}`,
    ...(plan.existing.length > 0 ? [`left as they were: ${plan.existing.join(', ')}`] : []),
    ...(plan.skipped.length > 0 ? [`skipped: ${plan.skipped.join('; ')}`] : []),
    ...(failed.length > 0 ? [`not applied: ${failed.join('; ')}`] : []),
    rolesLeft.length > 0
      ? `not dropped: ${rolesLeft.join(', ')}`
      : 'the roles made were dropped afterwards',
  ];
  return parts.join('; ');
}

/** One row per database: name, tables, rows, matched, seconds. */
function databasesTable({ tests, phases }: ServerTest): Table {
  return {
    title: 'Databases',
    header: ['database', 'tables', 'rows', 'matched', 'seconds'],
    rows: tests.map((one) => {
      const { tables, rows } = restoredTotals(one);
      const { comparison } = one;
      const failedChecks = one.checks.filter((check) => !check.passed).length;
      const seconds = phases.record()[phaseName(one.database)];
      const matched = !comparison
        ? one.restoreStarted
          ? '❌ not finished'
          : '— not restored'
        : comparison.differing.length > 0
          ? `❌ ${comparison.differing.length} differ`
          : failedChecks > 0
            ? `❌ ${failedChecks} check(s) failed`
            : '✅';
      return [
        one.database,
        comparison ? formatCount(tables) : '—',
        comparison ? formatCount(rows) : '—',
        matched,
        seconds === undefined ? '—' : formatSeconds(seconds),
      ];
    }),
  };
}
