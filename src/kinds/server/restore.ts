/**
 * restore of a server backup: the chosen databases (default all), each into a database of the
 * same name on the server of `database-url` (or the one `target-database` maps it to). Every
 * target is checked before anything is restored: a non-empty one without `clean` refuses the whole
 * run, and `confirm` must name every target. A target that does not exist is created. With
 * `restore-globals` the backup's roles come first (roles the server has are left as they are) and
 * its missing tablespaces are created where the source had them. Each database is then restored as
 * a backup of one database is (restore/restore-database.ts), `jobs` databases at a time.
 */
import { eachAtOnce, spreadJobs } from '../../core/at-once.js';
import { printableName } from '../../core/database-names.js';
import { errorMessage } from '../../core/errors.js';
import { formatCount, formatSeconds } from '../../core/format.js';
import type { GlobalsRecord, ServerManifest } from '../../core/manifest.js';
import type { DatabaseRestoreSettings, DatabaseTarget } from '../../core/settings.js';
import type { RunContext, Table } from '../../core/types.js';
import { withDatabase } from '../../postgres/database-url.js';
import { prepareReplacement } from '../../postgres/replace.js';
import { createDatabase, dropDatabase, inspectTarget } from '../../postgres/restore.js';
import { serverVersion, withConnection, type ServerVersion } from '../../postgres/server.js';
import { countsTable, differenceLine } from '../../restore/compare.js';
import {
  applyGlobals,
  applyInDatabase,
  readGlobals,
  type GlobalsApplied,
} from '../../restore/globals.js';
import { names } from '../../restore/globals-plan.js';
import { Phases } from '../../restore/phases.js';
import { choosePgRestore, type PgRestore } from '../../restore/pg-restore.js';
import {
  finalOnceWritten,
  notEmptyLine,
  ownersLine,
  ownersRestored,
  restoredCounts,
  restoreOne,
  standing,
  type Restored,
  type RestoreRun,
} from '../../restore/restore-database.js';
import { restoreTargets, type DatabasePair } from '../../restore/targets.js';
import type { KindRun, RestoreRows } from '../kind.js';
import { phaseName, serverDatabasePart } from './parts.js';
import { rolesLine } from './roles.js';

interface ServerRestore {
  manifest: ServerManifest;
  settings: DatabaseRestoreSettings;
  /** database-url: the server restored into, through its database. */
  server: DatabaseTarget;
  ctx: RunContext;
  phases: Phases;
  pgRestore: PgRestore;
  /** Each database, in the backup's order, with its own clock. */
  databases: { source: string; restored: Restored; phases: Phases }[];
  /** With restore-globals: the backup's globals, applied first. */
  roles?: GlobalsRecord;
  globals?: GlobalsApplied;
}

export async function restoreServerBackup(
  manifest: ServerManifest,
  into: DatabaseRestoreSettings,
  ctx: RunContext,
  phases: Phases,
): Promise<KindRun> {
  const pairs = restoreTargets(manifest, into);
  if (into.restoreGlobals && !manifest.globals) {
    throw new Error(
      `restore-globals: backup ${manifest.id} holds no globals (made with globals: false); restore it without restore-globals`,
    );
  }
  const server = into.database;
  const { databases, version } = await checkTargets(server, into, ctx, manifest, pairs);
  const pgRestore = await choosePgRestore(manifest, into.client, ctx, version);
  const run: ServerRestore = {
    manifest,
    settings: into,
    server,
    ctx,
    phases,
    pgRestore,
    databases,
    roles: into.restoreGlobals ? manifest.globals : undefined,
  };
  return {
    run: () =>
      restoreAll(run, pairs).catch((error: unknown) => {
        throw finalOnceWritten(
          error,
          databases.map((one) => one.restored),
        );
      }),
    problems: () =>
      databases.flatMap(({ source, restored }) => {
        const differing = restored.comparison?.differing ?? [];
        return differing.length > 0 ? [`${source}: ${differenceLine(differing)}`] : [];
      }),
    rows: () => restoreRows(run),
  };
}

/**
 * The roles, then the databases `jobs` at a time; a database that fails to restore stops the
 * others and the run (each leaves its target as restoreDatabase says).
 */
async function restoreAll(run: ServerRestore, pairs: DatabasePair[]): Promise<void> {
  const { ctx, settings, phases, pgRestore } = run;
  if (run.roles) await restoreRoles(run, run.roles, pairs);
  const { lanes, share } = spreadJobs(settings.jobs, run.databases.length);
  const name = (one: { source: string }) => printableName(one.source);
  await eachAtOnce(run.databases, lanes, ctx.signal, name, async (one, signal) => {
    one.phases = new Phases(ctx.now);
    const single: RestoreRun = {
      settings: { ...settings, jobs: share },
      ctx: { ...ctx, signal },
      pgRestore,
      phases: one.phases,
      restored: one.restored,
    };
    await phases.time(phaseName(one.source), () => restoreDatabase(run, single));
  });
}

/**
 * Every target as it stands, before anything is restored: each must exist and be empty, or not
 * exist (it is created), or be replaced whole with clean; the ones refused are named together.
 */
async function checkTargets(
  server: DatabaseTarget,
  settings: DatabaseRestoreSettings,
  ctx: RunContext,
  manifest: ServerManifest,
  pairs: DatabasePair[],
): Promise<{ databases: ServerRestore['databases']; version: ServerVersion }> {
  const existing = await withConnection(
    server,
    async (client) => {
      const { rows } = await client.query<{ name: string }>(
        'SELECT datname AS name FROM pg_database',
      );
      return { names: new Set(rows.map((row) => row.name)), version: await serverVersion(client) };
    },
    ctx.signal,
  );
  const states = [];
  for (const { record, target } of pairs) {
    const into = withDatabase(server, target);
    const exists = existing.names.has(target);
    const state = exists
      ? await inspectTarget(into, ctx.signal)
      : { server: existing.version, tables: 0 };
    states.push({ record, into, exists, state });
  }
  const refused = states.filter(({ state }) => state.tables > 0 && !settings.clean);
  if (refused.length > 0) {
    throw new Error(
      notEmptyLine(
        refused.map(({ into, state }) => ({ database: into.database, tables: state.tables })),
      ),
    );
  }
  const databases: ServerRestore['databases'] = [];
  for (const { record, into, exists, state } of states) {
    const replacement =
      exists && settings.clean ? await prepareReplacement(into, ctx.log, ctx.signal) : undefined;
    const restored: Restored = {
      part: serverDatabasePart(manifest, record),
      target: into,
      state,
      replacement,
      created: !exists,
      outcome: 'untouched',
    };
    databases.push({ source: record.name, restored, phases: new Phases(ctx.now) });
  }
  return { databases, version: existing.version };
}

async function restoreRoles(
  run: ServerRestore,
  roles: GlobalsRecord,
  pairs: DatabasePair[],
): Promise<void> {
  const { ctx, settings, manifest, phases, server } = run;
  const script = await phases.time('read the globals', () =>
    readGlobals(ctx, roles, manifest, settings.decryption),
  );
  const sameName = new Set(
    pairs.filter((pair) => pair.target === pair.record.name).map((pair) => pair.target),
  );
  run.globals = await phases.time('apply the globals', () =>
    applyGlobals(
      server,
      script,
      { sameName, tablespaceMode: 'create', allowPrivileged: settings.allowPrivilegedRoles },
      ctx.log,
    ),
  );
  const { created, plan } = run.globals;
  ctx.log.info(
    `restore-globals: ${created.length} role(s) created${plan.existing.length > 0 ? `; left as they were: ${names(plan.existing)}` : ''}`,
  );
}

/**
 * Creates a missing target, restores into it, then the roles' settings in it. A target this run
 * created is dropped again when its restore fails: the server keeps no half-restored database
 * that was not there before.
 */
async function restoreDatabase(run: ServerRestore, single: RestoreRun): Promise<void> {
  const { restored } = single;
  const { server, ctx } = run;
  const name = restored.target.database;
  try {
    if (restored.created) {
      await single.phases.time('create the database', () => createDatabase(server, name));
    }
    await restoreOne(single);
  } catch (error) {
    if (restored.created) {
      await dropDatabase(server, name).then(
        () => (restored.outcome = 'untouched'),
        (dropError: unknown) =>
          ctx.log.warning(
            `could not drop ${printableName(name)}, created by this run: ${errorMessage(dropError)}`,
          ),
      );
    }
    throw error;
  }
  if (run.globals) await applyInDatabase(server, name, run.globals, ctx.log);
}

function restoreRows(run: ServerRestore): RestoreRows {
  const { phases, databases, settings } = run;
  const counted = databases.map(({ restored }) => restoredCounts(restored));
  const tables = counted.reduce((sum, one) => sum + one.tables, 0);
  const rows = counted.reduce((sum, one) => sum + one.rows, 0);
  const done = databases.filter(({ restored }) => restored.outcome.startsWith('re')).length;
  return {
    done: `restored onto ${settings.database.display}`,
    summary: `${done} of ${databases.length} database(s), ${formatCount(tables)} tables, ${formatCount(rows)} rows`,
    outputs: { 'restored-tables': tables },
    facts: [
      ['Server', settings.database.display],
      ['Roles', rolesLine(settings.restoreGlobals, run.globals)],
    ],
    tables: [
      databasesTable(run),
      ...databases.flatMap(({ source, restored }) =>
        restored.comparison && restored.comparison.differing.length > 0
          ? [{ ...countsTable(restored.comparison), title: `${source}: row counts` }]
          : [],
      ),
    ],
    details: {
      databases: databases.map(({ source, restored }) => ({
        name: source,
        target: restored.target.database,
        targetNow: restored.outcome,
        comparison: restored.comparison,
        ownersRestored: restored.archive !== undefined && ownersRestored(restored),
        statistics: restored.statistics,
        restoreSeconds: phases.record()[phaseName(source)],
      })),
      roles: run.globals && {
        created: run.globals.created,
        existing: run.globals.plan.existing,
        allowed: run.globals.plan.allowed,
        skipped: run.globals.plan.skipped,
        grantorsNotKept: run.globals.grantorsNotKept,
        failed: run.globals.failed,
      },
    },
  };
}

/** One row per database: where it went, what it holds now, owners, seconds. */
function databasesTable({ databases, phases }: ServerRestore): Table {
  return {
    title: 'Databases',
    header: ['database', 'target', 'tables', 'rows', 'owners', 'target now', 'seconds'],
    rows: databases.map(({ source, restored }) => {
      const { tables, rows } = restoredCounts(restored);
      const seconds = phases.record()[phaseName(source)];
      const has = restored.comparison !== undefined;
      return [
        source,
        `${restored.target.database}${restored.created ? ' (created)' : ''}`,
        has ? formatCount(tables) : '—',
        has ? formatCount(rows) : '—',
        restored.archive ? ownersLine(restored) : '—',
        standing(restored),
        seconds === undefined ? '—' : formatSeconds(seconds),
      ];
    }),
  };
}
