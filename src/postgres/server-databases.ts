/**
 * What a whole-server backup takes from the server before any work: which databases the
 * selection names, and whether the role may read the password hashes `pg_dumpall` writes.
 */
import type pg from 'pg';
import { InputError } from '../core/errors.js';
import { databaseFileName } from '../core/layout.js';
import type { Logger } from '../core/types.js';
import type { ServerSelection } from '../core/settings.js';
import { selectNames } from '../core/name-glob.js';

interface DatabaseRow {
  datname: string;
  datallowconn: boolean;
}

/** The databases to dump, by exact name, in the server's order of names. */
export async function selectDatabases(
  client: pg.Client,
  selection: ServerSelection,
  log: Logger,
): Promise<string[]> {
  const { rows } = await client.query<DatabaseRow>(
    'SELECT datname, datallowconn FROM pg_database WHERE NOT datistemplate ORDER BY datname',
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
    throw new InputError(
      'databases',
      `${unmatched.map((entry) => JSON.stringify(entry)).join(', ')} matches no database on the server (it has ${names.map((name) => JSON.stringify(name)).join(', ')})`,
    );
  }
  const closed = new Set(rows.filter((row) => !row.datallowconn).map((row) => row.datname));
  const skipped = selected.filter((name) => closed.has(name));
  if (skipped.length > 0) {
    log.warning(
      `skipping ${skipped.map((name) => JSON.stringify(name)).join(', ')}: does not accept connections (ALLOW_CONNECTIONS false)`,
    );
  }
  const chosen = selected.filter((name) => !closed.has(name));
  if (chosen.length === 0) {
    throw new InputError(
      'databases',
      'selects no database that accepts connections; check databases and exclude-databases',
    );
  }
  sameFileName(chosen);
  return chosen;
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
        `${JSON.stringify(other)} and ${JSON.stringify(name)} would be stored under one file name (${file}); leave one out with exclude-databases`,
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
