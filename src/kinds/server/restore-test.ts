/**
 * restore-test of a server backup: every database into a scratch database of its own on the
 * scratch server (named from the set, never the production names), each tested as a backup of one
 * database is; the checks run against the database they name. With `restore-globals` the roles
 * are restored first, so owners and grants restore as in production, and the roles made are
 * dropped after the scratch databases: the scratch server is left as it was found. Tablespaces
 * are not restored (pg_restore --no-tablespaces): a scratch server has none of the source's folders.
 */
import { eachAtOnce, jobsLine, spreadJobs } from '../../core/at-once.js';
import { printableName } from '../../core/database-names.js';
import { errorMessage } from '../../core/errors.js';
import { formatCount, formatSeconds } from '../../core/format.js';
import type { GlobalsRecord, ServerManifest } from '../../core/manifest.js';
import type { ServerCheck } from '../../core/settings.js';
import type { RunContext, Table } from '../../core/types.js';
import { checkScratchServer, scratchName } from '../../postgres/restore.js';
import { unmark } from '../../postgres/scratch-marks.js';
import { withConnection } from '../../postgres/server.js';
import { withScratchLease } from '../../restore/scratch-lease.js';
import type { ServerVersion } from '../../postgres/server.js';
import { countsTable } from '../../restore/compare.js';
import {
  applyGlobals,
  dropRoles,
  readGlobals,
  type GlobalsApplied,
} from '../../restore/globals.js';
import { names } from '../../restore/globals-plan.js';
import { Phases } from '../../restore/phases.js';
import { choosePgRestore } from '../../restore/pg-restore.js';
import {
  failures,
  kept,
  restoredTotals,
  scratchServer,
  tableOfChecks,
  testDatabase,
  type DatabaseTest,
  type ScratchRun,
} from '../../restore/scratch-test.js';
import { checksByDatabase, chosenDatabases } from '../../restore/targets.js';
import type { KindRun, RestoreRows, RestoreTestSettingsOf } from '../kind.js';
import { phaseName, serverDatabasePart } from './parts.js';
import { rolesLine } from './roles.js';

interface ServerTest {
  run: Omit<ScratchRun, 'mark'>;
  manifest: ServerManifest;
  version: ServerVersion;
  /** The whole run's clock: the globals, then every database. */
  phases: Phases;
  tests: (DatabaseTest & { database: string })[];
  /** With restore-globals: the backup's globals, applied first. */
  roles?: GlobalsRecord;
  globals?: GlobalsApplied;
  /** Roles restore-globals made that are still on the scratch server afterwards. */
  rolesLeft: string[];
}

export async function testServerBackup(
  manifest: ServerManifest,
  settings: RestoreTestSettingsOf<'count' | 'sql'>,
  ctx: RunContext,
  phases: Phases,
): Promise<KindRun> {
  const server = scratchServer(settings);
  const chosen = chosenDatabases(manifest, settings.databases);
  const checks = checksByDatabase(manifest, settings.checks, chosen);
  // The reusable workflows ask for the roles on every nightly test: say so, and test the rest.
  if (settings.restoreGlobals && !manifest.globals) {
    ctx.log.warning(
      `restore-globals: backup ${manifest.id} holds no globals (made with globals: false); its databases are restored without owners`,
    );
  }
  const version = await checkScratchServer(server, ctx.signal);
  const pgRestore = await choosePgRestore(manifest, settings.client, ctx, version);
  // Scratch names `restore_test_<set>_<hex>_<n>`: the set cut so that any n fits in 63 bytes.
  const base = scratchName(settings.name.slice(0, 34));
  const test: ServerTest = {
    run: { settings, ctx, server, pgRestore },
    manifest,
    version,
    phases,
    tests: chosen.map((record) => ({
      database: record.name,
      part: serverDatabasePart(manifest, record),
      scratch: `${base}_${manifest.databases.indexOf(record) + 1}`,
      phases: new Phases(ctx.now),
    })),
    roles: settings.restoreGlobals ? manifest.globals : undefined,
    rolesLeft: [],
  };
  return {
    run: () =>
      withScratchLease(ctx, server, async (mark) => {
        try {
          await testAll(test, checks, mark);
        } finally {
          // The roles go last, pass, fail or cancel, and before the summary, which says whether they went.
          await dropRolesMade(test);
        }
      }),
    problems: () => [
      ...test.tests.flatMap((one) => failures(one, `${shown(one)}: `)),
      ...(test.rolesLeft.length > 0
        ? [`the role(s) ${names(test.rolesLeft)} restore-globals made could not be dropped`]
        : []),
    ],
    rows: () => testRows(test),
  };
}

/**
 * The globals, then the databases `jobs` at a time; a database that fails to restore stops the
 * others (each drops its scratch database) and the run.
 */
async function testAll(
  test: ServerTest,
  checks: Map<string, ServerCheck[]>,
  mark: string,
): Promise<void> {
  const { manifest, phases, roles } = test;
  const run = { ...test.run, mark };
  const { settings, ctx, server } = run;
  if (roles) {
    const script = await phases.time('read the globals', () =>
      readGlobals(ctx, roles, manifest, settings.decryption),
    );
    test.globals = await phases.time('apply the globals', () =>
      applyGlobals(
        server,
        script,
        {
          sameName: new Set(),
          tablespaceMode: 'skip',
          allowPrivileged: settings.allowPrivilegedRoles,
          mark,
        },
        ctx.log,
      ),
    );
  }
  const { lanes, share } = spreadJobs(settings.jobs, test.tests.length);
  await eachAtOnce(test.tests, lanes, ctx.signal, shown, async (one, signal) => {
    // Its own clock from its own start: its seconds in the table of databases.
    one.phases = new Phases(ctx.now);
    ctx.log.info(`${shown(one)}: testing in scratch database ${one.scratch}`);
    const lane = { ...run, settings: { ...settings, jobs: share }, ctx: { ...ctx, signal } };
    await phases.time(phaseName(one.database), () =>
      testDatabase(lane, one, {
        checks: checks.get(one.database) ?? [],
        keepOwners: roles !== undefined,
        noTablespaces: true,
      }),
    );
    ctx.log.info(`${shown(one)}: ${doneLine(one)}`);
  });
}

/** A database's name as its lines in the log and the report show it. */
const shown = (one: { database: string }): string => printableName(one.database);

/** What one database's test found, as its line in the log. */
function doneLine(one: DatabaseTest): string {
  const { tables, rows } = restoredTotals(one);
  const problems = failures(one);
  return `${formatCount(tables)} tables, ${formatCount(rows)} rows${problems.length > 0 ? `; ${problems.join('; ')}` : ', matched'}`;
}

/** After every scratch database is gone: keep-database keeps the roles its databases use. */
async function dropRolesMade(test: ServerTest): Promise<void> {
  const { run, globals, tests } = test;
  const created = globals?.created ?? [];
  if (created.length === 0) return;
  if (tests.some((one) => kept(run.settings, one))) {
    run.ctx.log.info(
      `keep-database: the roles restore-globals made are kept with the scratch databases: ${names(created)}`,
    );
    test.rolesLeft = [];
    await withConnection(run.server, (client) => unmark(client, 'ROLE', created));
    return;
  }
  try {
    test.rolesLeft = await dropRoles(run.server, created, run.ctx.log);
  } catch (error) {
    test.rolesLeft = created;
    run.ctx.log.warning(`could not drop the roles restore-globals made: ${errorMessage(error)}`);
  }
}

function testRows(test: ServerTest): RestoreRows {
  const { run, phases, tests, version } = test;
  const { settings } = run;
  const totals = tests.map(restoredTotals);
  const tables = totals.reduce((sum, one) => sum + one.tables, 0);
  const rows = totals.reduce((sum, one) => sum + one.rows, 0);
  const done = tests.filter((one) => one.comparison !== undefined).length;
  const keptAny = tests.some((one) => kept(settings, one));
  return {
    done: 'restored',
    summary: `${done} of ${tests.length} databases${chosenLine(test)}, ${formatCount(tables)} tables, ${formatCount(rows)} rows`,
    outputs: { 'restored-tables': tables },
    facts: [
      ['Roles', rolesLine(test.roles !== undefined, test.globals, test.rolesLeft)],
      ['Tablespaces', 'not restored (restore-test restores with --no-tablespaces)'],
      [
        'Scratch databases',
        `${tests.map((one) => one.scratch).join(', ')}${keptAny ? ' (kept: keep-database)' : ' (dropped)'} on PostgreSQL ${version.version}`,
      ],
      [
        'pg_restore',
        `${run.pgRestore.program.version}, ${jobsLine(spreadJobs(settings.jobs, tests.length))}`,
      ],
    ],
    tables: [
      databasesTable(test),
      ...tests.flatMap((one) =>
        one.comparison && one.comparison.differing.length > 0
          ? [{ ...countsTable(one.comparison), title: `${shown(one)}: row counts` }]
          : [],
      ),
      ...tableOfChecks(tests.flatMap((one) => one.checks ?? [])),
    ],
    details: {
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
        allowed: test.globals.plan.allowed,
        skipped: test.globals.plan.skipped,
        grantorsNotKept: test.globals.grantorsNotKept,
        failed: test.globals.failed,
        left: test.rolesLeft,
      },
    },
  };
}

/** One row per database: name, tables, rows, matched, seconds. */
/** Where `databases` left some of the backup's out: how many it holds. */
function chosenLine({ tests, manifest }: ServerTest): string {
  const held = manifest.databases.length;
  return tests.length < held ? ` (chosen by databases, of the ${held} the backup holds)` : '';
}

function databasesTable({ tests, phases }: ServerTest): Table {
  return {
    title: 'Databases',
    header: ['database', 'tables', 'rows', 'matched', 'seconds'],
    rows: tests.map((one) => {
      const { tables, rows } = restoredTotals(one);
      const { comparison } = one;
      const failedChecks = (one.checks ?? []).filter((check) => !check.passed).length;
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
