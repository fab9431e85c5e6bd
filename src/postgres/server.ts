/** Connections to the server with the `pg` driver: versions, snapshots, row counts. */
import pg from 'pg';
import type { DatabaseTarget } from '../core/settings.js';
import { withoutLibpqOverrides } from '../process/programs.js';
import { tlsPlan, type TlsAttempt } from './driver-tls.js';
import { tlsChoice, type TlsChoice } from './libpq-tls.js';

export async function connect(target: DatabaseTarget, signal?: AbortSignal): Promise<pg.Client> {
  let client: pg.Client;
  try {
    client = await connectAsLibpq(target);
  } catch (error) {
    throw new Error(`cannot connect to ${target.display}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const connected = client;
  signal?.addEventListener('abort', () => void connected.end().catch(() => undefined), {
    once: true,
  });
  return connected;
}

/** Connects with TLS as libpq would, trying a second way where libpq's sslmode does. */
async function connectAsLibpq(target: DatabaseTarget): Promise<pg.Client> {
  const env = withoutLibpqOverrides(process.env);
  const choice = tlsChoice(target.params, env);
  const { attempts, retry } = tlsPlan(choice, target.host);
  const [first, second] = attempts;
  const tried = await attempt(driverClient(target, first, choice.negotiation, env));
  if ('client' in tried) return tried.client;
  if (second === undefined || !retry(tried.error, tried.reached)) throw tried.error;
  const retried = await attempt(driverClient(target, second, choice.negotiation, env));
  if ('client' in retried) return retried.client;
  const says = (ssl: TlsAttempt, error: unknown) =>
    `${ssl ? 'with SSL' : 'without SSL'}: ${(error as Error).message}`;
  throw new Error(`${says(first, tried.error)}; ${says(second, retried.error)}`, {
    cause: retried.error,
  });
}

/** The connected client, or why not and whether the server was reached at all. */
async function attempt(
  client: pg.Client,
): Promise<{ client: pg.Client } | { error: unknown; reached: boolean }> {
  let reached = false;
  client.connection.once('connect', () => (reached = true));
  // An idle-in-transaction connection the server kills should fail the run, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { client };
  } catch (error) {
    return { error, reached };
  }
}

/** Runs `use` on a new connection to `target`, closed afterwards whatever happens. */
export async function withConnection<T>(
  target: DatabaseTarget,
  use: (client: pg.Client) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const client = await connect(target, signal);
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A pg client for exactly the target's parts. The driver falls back on PG* variables for whatever
 * its configuration leaves empty (PGOPTIONS, PGREPLICATION…), reading them as it is constructed:
 * it is constructed over the same filtered environment the programs get.
 */
function driverClient(
  target: DatabaseTarget,
  ssl: TlsAttempt,
  sslnegotiation: TlsChoice['negotiation'],
  env: NodeJS.ProcessEnv,
): pg.Client {
  const { host, port, user, password, database, params } = target;
  const timeout = Number(params.connect_timeout);
  const config: pg.ClientConfig = {
    host,
    port,
    user,
    password,
    database,
    application_name: params.application_name,
    connectionTimeoutMillis: timeout > 0 ? timeout * 1000 : 15_000,
    ssl,
    sslnegotiation,
  };
  const inherited = process.env;
  process.env = env;
  try {
    return new pg.Client(config);
  } finally {
    process.env = inherited;
  }
}

export interface ServerVersion {
  version: string;
  major: number;
}

export async function serverVersion(client: pg.Client): Promise<ServerVersion> {
  const { rows } = await client.query<{ num: string; text: string }>(
    "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
  );
  const num = Number(rows[0]?.num ?? 0);
  return { version: (rows[0]?.text ?? '').split(' ')[0] ?? '', major: Math.floor(num / 10000) };
}

/** The database's size on disk, or undefined where the role may not see it. */
export async function databaseSize(client: pg.Client): Promise<number | undefined> {
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT pg_database_size(current_database()) AS n',
    );
    const bytes = Number(rows[0]?.n);
    return Number.isFinite(bytes) ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ordinary tables (partitions included) that pg_dump dumps data for; not catalogs or extension
 * members. Each is keyed `schema.table` with the names quoted as `quote_ident` quotes them, so
 * schema `"public.x"` with table `y` and table `public."x.y"` keep apart.
 */
export const USER_TABLES_SQL = `
  SELECT n.nspname AS schema, c.relname AS name,
         quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS key,
         c.relpersistence = 'u' AS unlogged
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1, 2`;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal the server reads back as `text`, whatever standard_conforming_strings says. */
export function quoteLiteral(text: string): string {
  return pg.escapeLiteral(text).trimStart();
}

export interface UserTable {
  schema: string;
  name: string;
  key: string;
  unlogged: boolean;
}

/** Which tables to count (default every one). */
export type TableFilter = (table: UserTable) => boolean;

/** Exact row counts of the user tables, keyed as USER_TABLES_SQL keys them, in the client's current snapshot. */
/**
 * Tables counted per statement: one round trip per table costs more than the counting on a
 * schema of hundreds of small tables (500 tables: 0.5–1.0 s against 0.3–0.6 s in one statement).
 */
const COUNTS_PER_STATEMENT = 250;

export async function exactRowCounts(
  client: pg.Client,
  only: TableFilter = () => true,
): Promise<Record<string, number>> {
  const { rows: tables } = await client.query<UserTable>(USER_TABLES_SQL);
  const chosen = tables.filter(only);
  const counts: Record<string, number> = {};
  for (let start = 0; start < chosen.length; start += COUNTS_PER_STATEMENT) {
    const batch = chosen.slice(start, start + COUNTS_PER_STATEMENT);
    const { rows } = await client.query<{ i: number; n: string }>(
      batch
        .map(
          ({ schema, name }, i) =>
            `SELECT ${i} AS i, count(*) AS n FROM ONLY ${quoteIdent(schema)}.${quoteIdent(name)}`,
        )
        .join(' UNION ALL '),
    );
    // In the tables' order, as one query per table gave them (the manifest keeps this order).
    const found = new Map(rows.map((row) => [row.i, Number(row.n)]));
    batch.forEach((table, i) => (counts[table.key] = found.get(i) ?? 0));
  }
  return counts;
}

/** The planner's row estimates (fast, approximate; -1 for never-analyzed tables becomes 0). */
export async function estimatedRowCounts(
  client: pg.Client,
  only: TableFilter = () => true,
): Promise<Record<string, number>> {
  const { rows } = await client.query<UserTable & { n: string }>(
    `SELECT t.*, greatest(c.reltuples, 0)::bigint AS n
     FROM (${USER_TABLES_SQL}) t
     JOIN pg_class c ON c.relname = t.name
     JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = t.schema`,
  );
  return Object.fromEntries(rows.filter(only).map((row) => [row.key, Number(row.n)]));
}
