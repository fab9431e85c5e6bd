/**
 * `restore` of a server backup: the chosen databases (default all), each into a database of the
 * same name on the server of `database-url` (or the one `target-database` maps it to). Every
 * target is checked before anything is restored: a non-empty one without `clean` refuses the whole
 * run, and `confirm` must name every target. A target that does not exist is created. With
 * `restore-globals` the backup's roles come first (roles the server has are left as they are) and
 * its missing tablespaces are created where the source had them. Each database is then restored as
 * a backup of one database is (restore/restore-database.ts), one after another.
 */
import { errorMessage } from '../core/errors.js';
import { formatCount, formatSeconds } from '../core/format.js';
import type { ServerManifest } from '../core/manifest.js';
import type { DatabaseTarget, RestoreSettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';
import { withDatabase } from '../postgres/database-url.js';
import { prepareReplacement } from '../postgres/replace.js';
import { createDatabase, dropDatabase, inspectTarget } from '../postgres/restore.js';
import { serverVersion, withConnection } from '../postgres/server.js';
import { countsTable, differenceLine } from '../restore/compare.js';
import {
  applyGlobals,
  applyInDatabase,
  readGlobals,
  type GlobalsApplied,
} from '../restore/globals.js';
import { Phases } from '../restore/phases.js';
import { choosePgRestore } from '../restore/pg-restore.js';
import { databaseView } from '../restore/server-backup.js';
import { restoreTargets, type DatabasePair } from '../restore/targets.js';
import {
  notEmptyLine,
  restoreOne,
  standing,
  type Restored,
  type RestoreRun,
} from '../restore/restore-database.js';

interface ServerRestore {
  manifest: ServerManifest;
  settings: RestoreSettings;
  /** database-url: the server restored into, through its database. */
  server: DatabaseTarget;
  ctx: RunContext;
  phases: Phases;
  /** Each database, in the backup's order, with its own clock. */
  databases: { source: string; restored: Restored; phases: Phases }[];
  globals?: GlobalsApplied;
}

export async function restoreServer(
  settings: RestoreSettings,
  ctx: RunContext,
  manifest: ServerManifest,
): Promise<ModeResult> {
  const server = settings.database;
  if (!server) {
    throw new Error(
      'this is a server backup: give database-url (the server to restore into) instead of target-path',
    );
  }
  const pairs = restoreTargets(manifest, settings);
  if (settings.restoreGlobals && !manifest.globals) {
    throw new Error(
      `restore-globals: backup ${manifest.id} holds no globals (made with globals: false); restore it without restore-globals`,
    );
  }
  const phases = new Phases(ctx.now);
  const databases = await checkTargets(server, settings, ctx, manifest, pairs);
  const run: ServerRestore = { manifest, settings, server, ctx, phases, databases };
  const [first] = databases;
  if (!first) throw new Error(`backup ${manifest.id} holds no database`);
  const pgRestore = await choosePgRestore(
    first.restored.manifest,
    settings.client,
    ctx,
    first.restored.state.server,
  );
  try {
    if (settings.restoreGlobals) await restoreRoles(run, pairs);
    for (const one of databases) {
      ctx.signal.throwIfAborted();
      one.phases = new Phases(ctx.now);
      const single: RestoreRun = {
        settings,
        ctx,
        pgRestore,
        phases: one.phases,
        restored: one.restored,
      };
      await phases.time(phaseName(one.source), () => restoreDatabase(run, single));
    }
  } catch (error) {
    throw new ModeFailure(errorMessage(error), describe(run));
  }
  const result = describe(run);
  const problems = databases.flatMap(({ source, restored }) => {
    const differing = restored.comparison?.differing ?? [];
    return differing.length > 0 ? [`${source}: ${differenceLine(differing)}`] : [];
  });
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), result);
  return result;
}

/**
 * Every target as it stands, before anything is restored: each must exist and be empty, or not
 * exist (it is created), or be replaced whole with clean; the ones refused are named together.
 */
async function checkTargets(
  server: DatabaseTarget,
  settings: RestoreSettings,
  ctx: RunContext,
  manifest: ServerManifest,
  pairs: DatabasePair[],
): Promise<ServerRestore['databases']> {
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
  const out: ServerRestore['databases'] = [];
  for (const { record, into, exists, state } of states) {
    const replacement =
      exists && settings.clean ? await prepareReplacement(into, ctx.log, ctx.signal) : undefined;
    const restored: Restored = {
      manifest: databaseView(manifest, record),
      target: into,
      state,
      replacement,
      created: !exists,
      outcome: 'untouched',
    };
    out.push({ source: record.name, restored, phases: new Phases(ctx.now) });
  }
  return out;
}

async function restoreRoles(run: ServerRestore, pairs: DatabasePair[]): Promise<void> {
  const { ctx, settings, manifest, phases, server } = run;
  const script = await phases.time('read the globals', () =>
    readGlobals(ctx, manifest, settings.decryption),
  );
  const sameName = new Set(
    pairs.filter((pair) => pair.target === pair.record.name).map((pair) => pair.target),
  );
  run.globals = await phases.time('apply the globals', () =>
    applyGlobals(server, script, { sameName, tablespaceMode: 'create' }, ctx.log),
  );
  const { created, plan } = run.globals;
  ctx.log.info(
    `restore-globals: ${created.length} role(s) created${plan.existing.length > 0 ? `; left as they were: ${plan.existing.join(', ')}` : ''}`,
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
            `could not drop ${name}, created by this run: ${errorMessage(dropError)}`,
          ),
      );
    }
    throw error;
  }
  if (run.globals)
    await applyInDatabase(server, restored.target.database, run.globals, run.ctx.log);
}

function describe(run: ServerRestore): ModeResult {
  const { manifest, phases, databases, settings } = run;
  const counted = databases.map(({ restored }) => restoredTables(restored));
  const tables = counted.reduce((sum, one) => sum + one.tables, 0);
  const rows = counted.reduce((sum, one) => sum + one.rows, 0);
  const seconds = phases.totalSeconds();
  const done = databases.filter(({ restored }) => restored.outcome.startsWith('re')).length;
  return {
    headline: `Restored ${done} of ${databases.length} database(s) of ${manifest.name}/${manifest.id}: ${formatCount(tables)} tables, ${formatCount(rows)} rows in ${formatSeconds(seconds)}`,
    outputs: {
      'backup-id': manifest.id,
      'restored-tables': tables,
      'restore-seconds': Number(seconds.toFixed(3)),
    },
    facts: [
      ['Set', manifest.name],
      [
        'Backup',
        `${manifest.id} (made ${manifest.createdAt}, a server backup of ${manifest.databases.length} database(s))`,
      ],
      ['Server', settings.database?.display ?? ''],
      ['Roles', rolesLine(run)],
      ['Recovery time', formatSeconds(seconds)],
    ],
    tables: [
      databasesTable(run),
      phases.table(),
      ...databases.flatMap(({ source, restored }) =>
        restored.comparison && restored.comparison.differing.length > 0
          ? [{ ...countsTable(restored.comparison), title: `${source}: row counts` }]
          : [],
      ),
    ],
    details: {
      manifest,
      databases: databases.map(({ source, restored }) => ({
        name: source,
        target: restored.target.database,
        targetNow: restored.outcome,
        comparison: restored.comparison,
        ownersRestored: restored.archive !== undefined && !restored.ownersSkipped,
        restoreSeconds: phases.record()[phaseName(source)],
      })),
      roles: run.globals && {
        created: run.globals.created,
        existing: run.globals.plan.existing,
        skipped: run.globals.plan.skipped,
        failed: run.globals.failed,
      },
      restoreSeconds: seconds,
      phases: phases.record(),
    },
  };
}

function restoredTables(restored: Restored): { tables: number; rows: number } {
  const tables = (restored.comparison?.tables ?? []).filter(
    (row) => row.found !== undefined && row.status !== 'not-in-backup',
  );
  return { tables: tables.length, rows: tables.reduce((sum, row) => sum + (row.found ?? 0), 0) };
}

function rolesLine({ settings, globals }: ServerRestore): string {
  if (!settings.restoreGlobals) return 'not restored (restore-globals: false)';
  if (!globals) return 'not restored: the run stopped before';
  const { created, plan, failed } = globals;
  return [
    `${created.length} created${created.length > 0 ? ` (${created.join(', ')})` : ''}`,
    ...(plan.existing.length > 0 ? [`left as they were: ${plan.existing.join(', ')}`] : []),
    ...(plan.tablespaces.length > 0
      ? [`tablespaces created: ${plan.tablespaces.map((step) => step.tablespace).join(', ')}`]
      : []),
    ...(plan.skipped.length > 0 ? [`skipped: ${plan.skipped.join('; ')}`] : []),
    ...(failed.length > 0 ? [`not applied: ${failed.join('; ')}`] : []),
  ].join('; ');
}

/** One row per database: where it went, what it holds now, owners, seconds. */
const phaseName = (database: string) => `database ${database}`;

function databasesTable({ databases, phases }: ServerRestore): Table {
  return {
    title: 'Databases',
    header: ['database', 'target', 'tables', 'rows', 'owners', 'target now', 'seconds'],
    rows: databases.map(({ source, restored }) => {
      const { tables, rows } = restoredTables(restored);
      const seconds = phases.record()[phaseName(source)];
      const has = restored.comparison !== undefined;
      return [
        source,
        `${restored.target.database}${restored.created ? ' (created)' : ''}`,
        has ? formatCount(tables) : '—',
        has ? formatCount(rows) : '—',
        !restored.archive
          ? '—'
          : restored.ownersSkipped
            ? `not restored: ${restored.ownersSkipped}`
            : 'restored',
        standing(restored),
        seconds === undefined ? '—' : formatSeconds(seconds),
      ];
    }),
  };
}
