/**
 * `restore` with `clean: true` as a replacement that cannot leave a mix: the backup is restored
 * into a new database beside the target, checked, and swapped in by renaming both in one
 * transaction; the old database is dropped after. The target is not touched before the swap, so a
 * run that fails or is killed at any point leaves under the target's name either the old database
 * or the new one, whole. What a killed run leaves beside it is marked by its comment (never known
 * by its name alone, which a user's database could share) and dropped by the next run.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { printableName } from '../core/database-names.js';
import { withDatabase } from './database-url.js';
import type { Logger } from '../core/types.js';
import type { DatabaseStatement } from './database-statements.js';
import type { DatabaseTarget } from '../core/settings.js';
import { dropDatabase } from './restore.js';
import { connect, quoteIdent, serverVersion, withConnection } from './server.js';

export interface Replacement {
  /** A connection to another database of the server: a database being renamed cannot be in use. */
  server: DatabaseTarget;
  target: DatabaseTarget;
  /** Where the backup is restored, until the swap gives it the target's name. */
  side: string;
  /** The target's name for its old database once swapped, until it is dropped. */
  old: string;
  /** The target's database-level properties, which the new database takes over. */
  properties: Properties;
}

interface Properties {
  /** `CREATE DATABASE` options: owner, encoding, locale, connection limit. */
  createOptions: string;
  /** GRANT statements for the target's privileges, with %DB% for the database; none = the defaults. */
  grants: string[] | undefined;
  comment: string | null;
  /** `ALTER DATABASE … SET` (role null) and `ALTER ROLE … IN DATABASE … SET` settings. */
  settings: { role: string | null; name: string; value: string }[];
}

/**
 * A mark names the target, and the name and oid the database had when marked: a rename (a user's
 * rollback to the old database) or the comment copied onto another database no longer matches,
 * so no database is ever dropped for its comment alone, nor for its name.
 */
const SIDE_MARK = (target: string, name: string, oid: number) =>
  `backup-action: unfinished restore into ${quoteIdent(target)}, made as ${quoteIdent(name)} (oid ${oid}); dropped by its next restore`;
const OLD_MARK = (target: string, name: string, oid: number) =>
  `backup-action: ${quoteIdent(target)} as it was before a restore replaced it, renamed ${quoteIdent(name)} (oid ${oid}); dropped by its next restore`;

/** `<target>_restore_<hex>` and `<target>_old_<hex>`, the target's name cut to fit 63 bytes. */
export function replacementNames(target: string, hex: string): { side: string; old: string } {
  const named = (kind: string) => {
    const suffix = `_${kind}_${hex}`;
    return `${cutToBytes(target, 63 - Buffer.byteLength(suffix))}${suffix}`;
  };
  return { side: named('restore'), old: named('old') };
}

/** The longest start of `text` of at most `bytes` UTF-8 bytes that splits no character. */
function cutToBytes(text: string, bytes: number): string {
  let out = '';
  for (const char of text) {
    if (Buffer.byteLength(out + char) > bytes) break;
    out += char;
  }
  return out;
}

/**
 * Checks, before anything is restored, what the swap needs: CREATEDB, the target's ownership
 * (renaming and dropping it), and no other session on the target; then drops what interrupted
 * runs left beside it.
 */
export async function prepareReplacement(
  target: DatabaseTarget,
  log: Logger,
  signal: AbortSignal,
): Promise<Replacement> {
  const server = await maintenanceDatabase(target, signal);
  return withConnection(
    server,
    async (client) => {
      const { rows } = await client.query<{ role: string; may: boolean; owns: boolean }>(
        `SELECT current_user AS role, r.rolsuper OR r.rolcreatedb AS may,
              pg_has_role(current_user, d.datdba, 'MEMBER') AS owns
         FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = $1`,
        [target.database],
      );
      const role = rows[0];
      if (role && !role.may) {
        throw new Error(
          `clean: true restores into a new database and swaps it in, which needs CREATEDB; the role ${role.role} lacks it (ALTER ROLE ${quoteIdent(role.role)} CREATEDB)`,
        );
      }
      if (role && !role.owns) {
        throw new Error(
          `clean: true swaps the restored database in by renaming ${target.database}, which needs its owner's rights; the role ${role.role} is not a member of its owner`,
        );
      }
      await refuseOtherSessions(client, target.database);
      await sweepLeftovers(client, server, target.database, log);
      const { side, old } = replacementNames(target.database, randomBytes(3).toString('hex'));
      return {
        server,
        target,
        side,
        old,
        properties: await readProperties(client, target.database),
      };
    },
    signal,
  );
}

/** The server's `postgres` database (else template1): somewhere to stand while renaming. */
async function maintenanceDatabase(
  target: DatabaseTarget,
  signal: AbortSignal,
): Promise<DatabaseTarget> {
  const candidates = ['postgres', 'template1'].filter((name) => name !== target.database);
  let failure: unknown;
  for (const name of candidates) {
    const server = withDatabase(target, name);
    try {
      const client = await connect(server, signal);
      await client.end().catch(() => undefined);
      return server;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/** Names each session on the database, for a message that says whose they are. */
async function otherSessions(client: pg.Client, database: string): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(
    `SELECT format('pid %s%s%s%s', pid, coalesce(' by ' || usename, ''),
                   CASE WHEN application_name <> '' THEN format(' (%s)', application_name) ELSE '' END,
                   coalesce(' from ' || host(client_addr), '')) AS line
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY pid`,
    [database],
  );
  return rows.map((row) => row.line);
}

async function refuseOtherSessions(client: pg.Client, database: string): Promise<void> {
  // A session that just closed (this run's own look at the target) lingers a moment.
  let sessions = await otherSessions(client, database);
  for (let tries = 0; sessions.length > 0 && tries < 10; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    sessions = await otherSessions(client, database);
  }
  if (sessions.length === 0) return;
  const listed = sessions.slice(0, 5).join('; ') + (sessions.length > 5 ? '; …' : '');
  throw new Error(
    `${sessions.length} other session(s) are connected to ${database} (${listed}); clean: true replaces the database whole and needs it to itself: stop them and run again`,
  );
}

/**
 * Drops the side and old databases interrupted runs left for this target: only those whose mark
 * matches their own name and oid, never the target. A database named like ours but not so marked
 * (a user's `shop_old_202401`, a side database a kill left before its mark) is only named.
 */
async function sweepLeftovers(
  client: pg.Client,
  server: DatabaseTarget,
  target: string,
  log: Logger,
): Promise<void> {
  const { rows } = await client.query<{ oid: number; name: string; mark: string | null }>(
    `SELECT oid::int AS oid, datname AS name, shobj_description(oid, 'pg_database') AS mark
       FROM pg_database
      WHERE datname <> $1 AND datname <> current_database()
        AND oid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = $1)
      ORDER BY 2`,
    [target],
  );
  const shown = printableName(target);
  for (const { oid, name, mark } of rows) {
    const found = printableName(name);
    if (mark === OLD_MARK(target, name, oid)) {
      log.warning(`dropping ${found}, the old ${shown} that an interrupted restore replaced`);
    } else if (mark === SIDE_MARK(target, name, oid)) {
      log.warning(
        `dropping ${found}, the unfinished new database of an interrupted restore into ${shown}`,
      );
    } else {
      if (looksLeftBehind(target, name, mark))
        log.warning(
          `${found} looks like a restore's database beside ${shown}, but is not marked as this one: left alone (drop it yourself if it is not yours)`,
        );
      continue;
    }
    await dropDatabase(server, name);
  }
}

/** Named like a side or old database of the target, or carrying a mark for it meant for another. */
function looksLeftBehind(target: string, name: string, mark: string | null): boolean {
  const names = replacementNames(target, name.slice(-6));
  return (
    name === names.side ||
    name === names.old ||
    (mark?.startsWith(`backup-action: `) === true && mark.includes(quoteIdent(target)))
  );
}

/** The target's database-level properties, read so that its replacement keeps them. */
async function readProperties(client: pg.Client, database: string): Promise<Properties> {
  const { major } = await serverVersion(client);
  const { rows } = await client.query<{ d: Record<string, string | number | null> }>(
    `SELECT to_jsonb(d) || jsonb_build_object(
              'owner', pg_get_userbyid(d.datdba), 'enc', pg_encoding_to_char(d.encoding),
              'comment', shobj_description(d.oid, 'pg_database')) AS d
       FROM pg_database d WHERE d.datname = $1`,
    [database],
  );
  const d = rows[0]?.d ?? {};
  const { rows: grants } = await client.query<{ grant: string }>(
    `SELECT format('GRANT %s ON DATABASE %%DB%% TO %s%s', a.privilege_type,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS grant
       FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1`,
    [database],
  );
  const { rows: settings } = await client.query<{ role: string | null; config: string[] }>(
    `SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role,
            s.setconfig AS config
       FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1`,
    [database],
  );
  return {
    createOptions: createOptions(d, major),
    grants: d.datacl === null ? undefined : grants.map((row) => row.grant),
    comment: typeof d.comment === 'string' ? d.comment : null,
    settings: settings.flatMap(({ role, config }) =>
      config.map((item) => {
        const at = item.indexOf('=');
        return { role, name: item.slice(0, at), value: item.slice(at + 1) };
      }),
    ),
  };
}

/** The target's owner, encoding, locale and connection limit, as CREATE DATABASE options. */
function createOptions(d: Record<string, string | number | null>, major: number): string {
  const text = (value: unknown) => literal(String(value));
  const options = [
    `OWNER ${quoteIdent(String(d.owner))}`,
    `ENCODING ${text(d.enc)}`,
    `LC_COLLATE ${text(d.datcollate)}`,
    `LC_CTYPE ${text(d.datctype)}`,
    `CONNECTION LIMIT ${Number(d.datconnlimit ?? -1)}`,
  ];
  if (major >= 15) {
    const provider = { c: 'libc', i: 'icu', b: 'builtin' }[String(d.datlocprovider)] ?? 'libc';
    options.push(`LOCALE_PROVIDER ${provider}`);
    // 15 and 16 call it daticulocale; 17 datlocale, for icu and builtin alike.
    const locale = d.datlocale ?? d.daticulocale;
    if (provider === 'icu' && locale) options.push(`ICU_LOCALE ${text(locale)}`);
    if (provider === 'builtin' && locale) options.push(`BUILTIN_LOCALE ${text(locale)}`);
    if (provider === 'icu' && d.daticurules) options.push(`ICU_RULES ${text(d.daticurules)}`);
  }
  return options.join(' ');
}

/** The side database, with the target's properties and a comment that marks it as ours. */
export async function createSide(replacement: Replacement): Promise<void> {
  const { server, side, target, properties } = replacement;
  await withConnection(server, async (client) => {
    // A run killed while the server copies the new database would leave it unmarked, and so
    // never dropped: the server is told to stop the copy once it sees the run gone (14+).
    await client
      .query(`SELECT set_config('client_connection_check_interval', '50', false)`)
      .catch(() => undefined);
    await client.query(
      `CREATE DATABASE ${quoteIdent(side)} TEMPLATE template0 ${properties.createOptions}`,
    );
    const oid = await oidOf(client, side);
    await client.query(
      `COMMENT ON DATABASE ${quoteIdent(side)} IS ${literal(SIDE_MARK(target.database, side, oid))}`,
    );
    if (properties.grants) {
      await client.query(`REVOKE ALL ON DATABASE ${quoteIdent(side)} FROM PUBLIC`);
      // A function: the name may hold `$&` or `$'`, which a replacement string would expand.
      for (const grant of properties.grants) {
        await client.query(grant.replace('%DB%', () => quoteIdent(side)));
      }
    }
    for (const setting of properties.settings) await copySetting(client, side, setting);
  });
}

/**
 * The setting as stored (a list such as search_path is one flattened text), set in this
 * transaction and stored FROM CURRENT: no quoting of its value to get wrong.
 */
async function copySetting(
  client: pg.Client,
  database: string,
  { role, name, value }: Properties['settings'][number],
): Promise<void> {
  const on =
    role === null
      ? `DATABASE ${quoteIdent(database)}`
      : `ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)}`;
  await client.query('BEGIN');
  try {
    await client.query('SELECT set_config($1, $2, true)', [name, value]);
    await client.query(`ALTER ${on} SET ${quoteIdent(name)} FROM CURRENT`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new Error(
      `cannot give the new database the target's setting ${name}: ${(error as Error).message}`,
    );
  }
}

async function oidOf(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ oid: number }>(
    'SELECT oid::int AS oid FROM pg_database WHERE datname = $1',
    [database],
  );
  const oid = rows[0]?.oid;
  if (oid === undefined)
    throw new Error(`the database ${printableName(database)} vanished while it was marked`);
  return oid;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Renames the target to the old name and the side database to the target's, in one transaction,
 * which also gives the new database its comment: the backup's when given, else the target's own.
 */
export async function swapIn(
  replacement: Replacement,
  comment: DatabaseStatement | undefined,
): Promise<void> {
  const { server, target, side, old } = replacement;
  await withConnection(server, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query(
        `ALTER DATABASE ${quoteIdent(target.database)} RENAME TO ${quoteIdent(old)}`,
      );
      await client.query(
        `ALTER DATABASE ${quoteIdent(side)} RENAME TO ${quoteIdent(target.database)}`,
      );
      const own = replacement.properties.comment;
      await client.query(
        comment?.sql(target.database) ??
          `COMMENT ON DATABASE ${quoteIdent(target.database)} IS ${own === null ? 'NULL' : literal(own)}`,
      );
      const oid = await oidOf(client, old);
      await client.query(
        `COMMENT ON DATABASE ${quoteIdent(old)} IS ${literal(OLD_MARK(target.database, old, oid))}`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const sessions = await otherSessions(client, target.database).catch(() => []);
      const who =
        sessions.length > 0 ? ` (sessions on it: ${sessions.slice(0, 5).join('; ')})` : '';
      throw new Error(
        `cannot swap the restored database in for ${target.database}: ${(error as Error).message}${who}`,
      );
    }
  });
}
