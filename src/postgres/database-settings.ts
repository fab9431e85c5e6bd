/**
 * The source database's settings and comment, read off the archive and applied to the database
 * restored into: pg_restore restores them only with --create, which both restore modes cannot use
 * (the database they restore into is not the source's, nor named like it).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type pg from 'pg';
import type { DatabaseStatement } from './database-statements.js';
import type { DatabaseTarget } from '../core/settings.js';
import { failureLine, start, type Program } from '../process/programs.js';
import { withConnection } from './server.js';

/** The DATABASE entry (its owner) and the database's settings, comment and privileges. */
const DATABASE_ENTRY = /^\d+; \d+ \d+ (DATABASE|DATABASE PROPERTIES|COMMENT|ACL) - /;

/**
 * The script pg_restore --create prints for the archive's database-level entries, found in its
 * `pg_restore --list --create` listing: the source database's owner (databaseOwner), settings,
 * comment and privileges (databaseStatements); empty when the archive has none.
 */
export async function archiveDatabaseScript(
  pgRestore: Program,
  file: string,
  listing: string,
): Promise<string> {
  const entries = listing
    .split('\n')
    .filter((line) => DATABASE_ENTRY.test(line) && / DATABASE /.test(line));
  if (entries.length === 0) return '';
  // The list file sits beside the archive, in its private folder.
  const list = path.join(path.dirname(file), 'database-entries.list');
  await writeFile(list, `${entries.join('\n')}\n`, { mode: 0o600 });
  return output(pgRestore, ['--create', `--use-list=${list}`, '--file=-', file]);
}

/**
 * The statements a restore applies: settings and comment with restore-database-settings, the
 * database's privileges wherever owners and privileges are restored (never without the roles).
 */
export function wantedStatements(
  statements: DatabaseStatement[],
  wanted: { settings: boolean; privileges: boolean },
): DatabaseStatement[] {
  return statements.filter((statement) =>
    statement.kind === 'privilege' ? wanted.privileges : wanted.settings,
  );
}

async function output(program: Program, args: string[]): Promise<string> {
  const { child, exit } = start(program, args, process.env);
  let text = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (text += chunk));
  const ended = await exit;
  if (ended.code !== 0) throw new Error(failureLine(`pg_restore ${args[0] ?? ''}`, ended));
  return text;
}

export interface Applied {
  statement: DatabaseStatement;
  /** Why it could not be applied (a role the server lacks, a parameter it does not know). */
  error?: string;
}

/**
 * Applies each statement to `database` through `server` (any database of the server), each on its
 * own: one the server refuses is reported, not fatal, as with owners whose roles are missing.
 */
export async function applyDatabaseStatements(
  server: DatabaseTarget,
  database: string,
  statements: DatabaseStatement[],
): Promise<Applied[]> {
  if (statements.length === 0) return [];
  return withConnection(server, async (client) => {
    const applied: Applied[] = [];
    for (const statement of statements) {
      try {
        await client.query(statement.sql(database));
        applied.push({ statement });
      } catch (error) {
        applied.push({ statement, error: errorMessage(error) });
      }
    }
    return applied;
  });
}

/**
 * The archive's settings, comment and privileges that the restored database does not have:
 * settings compared by role and parameter name (the server normalizes values), the comment by its
 * presence, a template by datistemplate, a GRANT by each privilege being held and a REVOKE by each being absent.
 */
export async function missingDatabaseStatements(
  server: DatabaseTarget,
  database: string,
  statements: DatabaseStatement[],
): Promise<DatabaseStatement[]> {
  if (statements.length === 0) return [];
  return withConnection(server, async (client) => {
    const { rows } = await client.query<{ role: string | null; name: string }>(
      `SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role,
              split_part(c.item, '=', 1) AS name
         FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase,
              unnest(s.setconfig) AS c(item)
        WHERE d.datname = $1`,
      [database],
    );
    const { rows: comments } = await client.query<{ comment: string | null; template: boolean }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment, datistemplate AS template
         FROM pg_database WHERE datname = $1`,
      [database],
    );
    const unheld = unheldPrivileges(statements, await heldPrivileges(client, database));
    const present = new Set(rows.map((row) => `${row.role ?? ''}\u0000${row.name.toLowerCase()}`));
    return statements.filter((statement) => {
      const { kind, setting } = statement;
      if (kind === 'comment') return (comments[0]?.comment ?? null) === null;
      if (kind === 'template') return comments[0]?.template !== true;
      if (kind === 'privilege') return unheld.has(statement);
      return !present.has(`${setting?.role ?? ''}\u0000${setting?.name.toLowerCase() ?? ''}`);
    });
  });
}

/** `grantee\0PRIVILEGE` for each privilege the database's ACL gives (PUBLIC's grantee empty). */
async function heldPrivileges(client: pg.Client, database: string): Promise<Set<string>> {
  const { rows } = await client.query<{ grantee: string; privilege: string }>(
    `SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege
       FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
      WHERE d.datname = $1`,
    [database],
  );
  return new Set(rows.map((row) => `${row.grantee}\u0000${row.privilege}`));
}

/**
 * The privilege statements whose effect the database does not show. pg_dump writes them as
 * changes to the default in order (`REVOKE CONNECT,TEMPORARY … FROM PUBLIC; GRANT TEMPORARY … TO
 * PUBLIC`): each grantee's privilege is judged by the last statement about it.
 */
function unheldPrivileges(
  statements: DatabaseStatement[],
  held: ReadonlySet<string>,
): Set<DatabaseStatement> {
  const last = new Map<string, DatabaseStatement>();
  for (const statement of statements) {
    const { grantees = [], privileges = [] } = statement.privilege ?? {};
    for (const grantee of grantees) {
      for (const name of privileges) last.set(`${grantee ?? ''}\u0000${name}`, statement);
    }
  }
  const unheld = new Set<DatabaseStatement>();
  for (const [key, statement] of last) {
    if (held.has(key) !== statement.privilege?.grant) unheld.add(statement);
  }
  return unheld;
}
