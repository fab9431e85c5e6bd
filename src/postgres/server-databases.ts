/**
 * What a whole-server backup takes from the server before any work: which databases the
 * selection names, and whether the role may read the password hashes `pg_dumpall` writes.
 */
import type pg from 'pg';
import {
  LINE_BREAK_WHY,
  lineBreakNames,
  quotedName,
  SERVER_TEMPLATES,
} from '../core/database-names.js';
import { InputError } from '../core/errors.js';
import { databaseFileName } from '../core/layout.js';
import type { Logger } from '../core/types.js';
import type { ServerSelection } from '../core/settings.js';
import { isGlob, selectNames } from '../core/name-glob.js';

interface DatabaseRow {
  datname: string;
  datallowconn: boolean;
  /** Whether the backup's role may connect (managed services keep their own, e.g. rdsadmin). */
  connectable: boolean;
}

/** The databases to dump, by exact name, in the server's order of names. */
export async function selectDatabases(
  client: pg.Client,
  selection: ServerSelection,
  log: Logger,
): Promise<string[]> {
  const { rows } = await client.query<DatabaseRow>(
    `SELECT datname, datallowconn, has_database_privilege(oid, 'CONNECT') AS connectable
     FROM pg_database WHERE datname <> ALL ($1::text[]) ORDER BY datname`,
    [SERVER_TEMPLATES],
  );
  return chooseDatabases(rows, selection, log);
}

/** Pure: the selection applied to the server's databases, each mistake one line. */
export function chooseDatabases(
  rows: readonly DatabaseRow[],
  selection: ServerSelection,
  log: Logger,
): string[] {
  const names = rows.map((row) => row.datname);
  const { selected, unmatched } = selectNames(names, selection.databases, selection.exclude);
  if (unmatched.length > 0) {
    const own = unmatched.some((entry) => SERVER_TEMPLATES.includes(entry));
    throw new InputError(
      'databases',
      `${unmatched.map(quotedName).join(', ')} matches no database on the server (it has ${names.map(quotedName).join(', ')})${own ? '; template0 and template1 are the server’s own, which every server has: they are never backed up' : ''}`,
    );
  }
  const byName = new Map(rows.map((row) => [row.datname, row]));
  const asked = askedByName(selection.databases);
  const skip = (why: string, closed: (row: DatabaseRow) => boolean) => {
    const names = selected.filter((name) => closed(byName.get(name)!));
    refuseAskedFor(
      names.filter((name) => asked.has(name)),
      why,
    );
    if (names.length > 0) {
      log.warning(`skipping ${names.map(quotedName).join(', ')}: ${why}`);
    }
    return new Set(names);
  };
  const closed = skip('does not accept connections (ALLOW_CONNECTIONS false)', (row) =>
    !row.datallowconn);
  const refused =
    skip('the role has no CONNECT privilege on it (a managed service keeps databases of its own)', (row) =>
      row.datallowconn && !row.connectable);
  const chosen = selected.filter((name) => !closed.has(name) && !refused.has(name));
  refuseLineBreaks(chosen);
  if (chosen.length === 0) {
    throw new InputError(
      'databases',
      'selects no database that accepts connections; check databases and exclude-databases',
    );
  }
  sameFileName(chosen);
  return chosen;
}

/** The names the selection gives exactly (no pattern): each one the user expects in the backup. */
function askedByName(databases: ServerSelection['databases']): Set<string> {
  return new Set(databases === 'all' ? [] : databases.filter((entry) => !isGlob(entry)));
}

/** A database asked for by its exact name is never skipped: a backup without it is not a success. */
function refuseAskedFor(names: readonly string[], why: string): void {
  if (names.length === 0) return;
  throw new InputError(
    'databases',
    `${names.map(quotedName).join(', ')} cannot be backed up: ${why}; grant the role access, or leave it out`,
  );
}

/**
 * pg_dump dumps such a database, but no restore can recreate it: the backup fails before any
 * work, as pg_dumpall does, rather than publish a database that can never come back.
 */
function refuseLineBreaks(names: readonly string[]): void {
  const found = lineBreakNames(names);
  if (found === undefined) return;
  throw new InputError(
    'databases',
    `${found} cannot be backed up: ${LINE_BREAK_WHY}, so no restore could recreate it; rename it, or leave it out with exclude-databases (? matches the line break)`,
  );
}

/** Two names made safe as one file name would overwrite each other's object. */
function sameFileName(names: readonly string[]): void {
  const byFile = new Map<string, string>();
  for (const name of names) {
    const file = databaseFileName(name);
    const other = byFile.get(file);
    if (other !== undefined) {
      throw new InputError(
        'databases',
        `${quotedName(other)} and ${quotedName(name)} would be stored under one file name (${file}); leave one out with exclude-databases`,
      );
    }
    byFile.set(file, name);
  }
}

/** Whether the role can read `pg_authid`, where the password hashes are (not on managed services). */
export async function canReadPasswords(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok",
  );
  return rows[0]?.ok === true;
}

/** The roles `pg_dumpall --globals-only` writes: every one but the built-in `pg_` roles. */
export async function dumpedRoles(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname",
  );
  return rows.map((row) => row.rolname);
}
