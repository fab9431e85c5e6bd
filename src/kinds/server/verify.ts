/**
 * verify-latest of a server backup: each database against the same database in the previous
 * one; with `deep`, every object read and every damaged one named. The outputs are the whole
 * backup's; a table shows each database.
 */
import type { Readable } from 'node:stream';
import { quotedName as quoted } from '../../core/database-names.js';
import { formatBytes, formatCount } from '../../core/format.js';
import type { ServerManifest } from '../../core/manifest.js';
import type { VerifyLimits, VerifySettings } from '../../core/settings.js';
import type { Logger, RunContext, Table } from '../../core/types.js';
import { restoreProgram } from '../../postgres/restore.js';
import { listDumpArchive } from '../../verify/archive-check.js';
import { checkGlobals } from '../../verify/globals-check.js';
import { readParts } from '../../verify/parts-check.js';
import { databaseChanges } from '../../verify/rules.js';
import type { DeepCheck, Fact, KindRows } from '../kind.js';

/**
 * Each database that shrank more than max-shrink against the previous backup, as a problem; and
 * a database the previous backup held and the newest does not, unless allow-missing-databases
 * says one may go (dropped on purpose): then a warning.
 */
export function databaseRules(
  manifest: ServerManifest,
  previous: ServerManifest | undefined,
  { maxShrink, allowMissingDatabases }: VerifyLimits,
  log: Logger,
): string[] {
  if (!previous) return [];
  const sizes = (m: ServerManifest) =>
    m.databases.map((d) => ({ name: d.name, size: d.object.size }));
  const { shrank, gone } = databaseChanges(sizes(manifest), sizes(previous), maxShrink);
  if (gone.length === 0) return shrank;
  const line = `the previous backup ${previous.id} holds database(s) the newest does not: ${gone.map(quoted).join(', ')}`;
  if (allowMissingDatabases) {
    log.warning(`${line} (allow-missing-databases: true)`);
    return shrank;
  }
  return [
    ...shrank,
    `${line}; if they were dropped or left out on purpose, set allow-missing-databases: true`,
  ];
}

/** Every database's archive listed by pg_restore, and the globals read as pg_dumpall's SQL. */
export async function checkServerBackup(
  manifest: ServerManifest,
  settings: VerifySettings,
  ctx: RunContext,
): Promise<DeepCheck> {
  // Chosen before any download, so a client that cannot read the archives fails first.
  const pgRestore = await restoreProgram(manifest, settings.client, ctx);
  const reader = { store: ctx.store, decryption: settings.decryption, signal: ctx.signal };
  const dumps = await readParts(
    manifest.databases.map(({ name, object }) => ({
      label: `database ${quoted(name)}`,
      object,
      read: (archive: Readable) => listDumpArchive(archive, pgRestore),
    })),
    manifest,
    reader,
  );
  const globals = manifest.globals;
  const sql = globals
    ? await readParts(
        [{ label: 'the globals', object: globals.object, read: checkGlobals }],
        manifest,
        reader,
      )
    : undefined;
  const checked = new Map<string, string>();
  const databases = manifest.databases.flatMap(({ name, object }) => {
    const archive = dumps.found.get(object.key);
    const line = `sha256, archive: ${formatCount(archive?.entries ?? 0)} entries, ${archive?.tablesWithData ?? 0} with table data`;
    checked.set(object.key, archive ? line : 'DAMAGED');
    return archive ? [[name, archive] as const] : [];
  });
  const roles = globals && sql?.found.get(globals.object.key);
  if (globals) {
    checked.set(
      globals.object.key,
      roles ? `sha256, SQL: ${formatCount(roles.roles)} CREATE ROLE` : 'DAMAGED',
    );
  }
  return {
    damaged: [...dumps.damaged.values(), ...(sql?.damaged.values() ?? [])],
    checked,
    facts: [
      ['sha256', `every object's matches its stored bytes (${formatCount(checked.size)})`],
      [
        'Archives',
        `readable: ${formatCount(databases.length)} database(s)${roles ? ', the globals as pg_dumpall SQL' : ''}`,
      ],
    ],
    contents: { databases: Object.fromEntries(databases), globals: roles },
  };
}

export function serverVerifyRows(
  manifest: ServerManifest,
  deep: boolean,
  found: DeepCheck | undefined,
): KindRows {
  return {
    facts: serverFacts(manifest),
    tables: [databaseTable(manifest, deep, found)],
  };
}

function serverFacts(manifest: ServerManifest): Fact[] {
  const names = manifest.databases.map((d) => d.name);
  const shown = names.slice(0, 10).map(quoted).join(', ') + (names.length > 10 ? ', …' : '');
  const globals = manifest.globals;
  const roles = globals
    ? `${formatCount(globals.roles.length)} role(s)${globals.rolePasswords ? '' : ', without their passwords'}`
    : 'not in this backup';
  return [
    ['Databases', `${formatCount(names.length)}: ${shown}`],
    ['Globals', roles],
  ];
}

/** One row per database (and the globals): its size, what its manifest counted, what was checked. */
function databaseTable(
  manifest: ServerManifest,
  deep: boolean,
  found: DeepCheck | undefined,
): Table {
  const estimate = manifest.rowCountsMode === 'estimate' ? '~' : '';
  const checked = (key: string): string =>
    deep ? (found?.checked.get(key) ?? 'not read') : 'listed at its size';
  const rows = manifest.databases.map(({ name, object, rowCounts }) => {
    const counts = rowCounts && Object.values(rowCounts);
    return [
      name,
      formatBytes(object.size),
      counts ? formatCount(counts.length) : '',
      counts ? `${estimate}${formatCount(counts.reduce((sum, n) => sum + n, 0))}` : '',
      checked(object.key),
    ];
  });
  const globals = manifest.globals;
  if (globals) {
    rows.push(['(globals)', formatBytes(globals.object.size), '', '', checked(globals.object.key)]);
  }
  return {
    title: `Databases of ${manifest.id}`,
    header: ['database', 'size', 'tables', 'rows', 'checked'],
    rows,
  };
}
