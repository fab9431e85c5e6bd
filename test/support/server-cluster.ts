/**
 * A throwaway cluster shaped like a real server for whole-server backups: several databases
 * (one whose name needs quoting and holds non-ASCII characters, one owned by a role with a
 * password that grants to another, one that accepts no connections), roles with a membership,
 * and a non-superuser role that reads every database but not pg_authid (a managed service's
 * admin): by grants on each table, since pg_read_all_data would let it read pg_authid too. Each test file starts its own: `databases: all` must not race other files' databases.
 */
import pg from 'pg';
import { startCluster, withClient, withDatabase } from '../../scripts/lib/pg-cluster.js';

/** The databases a backup of `all` dumps, by exact name, sorted as the server sorts them (C). */
export const SERVER_DATABASES = {
  shop: 'shop',
  crm: 'Crm "Ünï" data',
  app: 'app_data',
  /** ALLOW_CONNECTIONS false: skipped with a warning. */
  closed: 'archive_closed',
} as const;

/** A role whose name needs quoting (a space, capitals, non-ASCII), a member of `app_reader`. */
export const OPS_ROLE = 'Ops Tëam';

/** The password of `app_owner`, whose SCRAM hash the globals must hold. */
export const APP_OWNER_PASSWORD = 'owner-secret-9f2c';

export interface ServerCluster {
  /** Superuser URL to the `postgres` database. */
  url: string;
  /** `reader_admin`: no superuser, SELECT on every table, cannot read pg_authid. */
  readerUrl: string;
  /** The URL to another database of this cluster, as the superuser. */
  urlOf(database: string): string;
  /** Rows per `schema.table`, per database, as filled. */
  rows: Record<string, Record<string, number>>;
  stop(): Promise<void>;
}

const READER_PASSWORD = 'reader-pass-41d7';

export async function startServerCluster(): Promise<ServerCluster> {
  const cluster = await startCluster();
  try {
    const urlOf = (database: string) => withDatabase(cluster.url, database);
    const ident = pg.escapeIdentifier;
    await withClient(cluster.url, async (client) => {
      await client.query(`CREATE ROLE app_reader NOLOGIN`);
      await client.query(`CREATE ROLE app_owner LOGIN PASSWORD '${APP_OWNER_PASSWORD}'`);
      await client.query(`GRANT app_reader TO app_owner`);
      // A role whose name needs quoting, member of another.
      await client.query(`CREATE ROLE ${ident(OPS_ROLE)} NOLOGIN IN ROLE app_reader`);
      await client.query(`CREATE ROLE reader_admin LOGIN PASSWORD '${READER_PASSWORD}'`);
      await client.query(`CREATE DATABASE ${ident(SERVER_DATABASES.shop)}`);
      await client.query(`CREATE DATABASE ${ident(SERVER_DATABASES.crm)}`);
      await client.query(`CREATE DATABASE ${ident(SERVER_DATABASES.app)} OWNER app_owner`);
      await client.query(`CREATE DATABASE ${ident(SERVER_DATABASES.closed)}`);
    });
    const rows: ServerCluster['rows'] = {};
    rows[SERVER_DATABASES.shop] = await fill(
      urlOf(SERVER_DATABASES.shop),
      [
        `CREATE TABLE orders (id int PRIMARY KEY, total numeric)`,
        `INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 500) g`,
        `CREATE TABLE customers (id int PRIMARY KEY, name text)`,
        `INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 40) g`,
        `GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader_admin`,
      ],
      { 'public.orders': 500, 'public.customers': 40 },
    );
    rows[SERVER_DATABASES.crm] = await fill(
      urlOf(SERVER_DATABASES.crm),
      [
        `CREATE SCHEMA "Sälës"`,
        `CREATE TABLE "Sälës"."Contacts" (id int, email text)`,
        `INSERT INTO "Sälës"."Contacts" SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 120) g`,
        `GRANT USAGE ON SCHEMA "Sälës" TO reader_admin`,
        `GRANT SELECT ON ALL TABLES IN SCHEMA "Sälës" TO reader_admin`,
      ],
      { '"Sälës"."Contacts"': 120 },
    );
    rows[SERVER_DATABASES.app] = await fill(
      urlOf(SERVER_DATABASES.app),
      [
        `SET ROLE app_owner`,
        `CREATE TABLE accounts (id int PRIMARY KEY, balance int)`,
        `INSERT INTO accounts SELECT g, g FROM generate_series(1, 75) g`,
        `GRANT SELECT ON accounts TO app_reader`,
        `GRANT SELECT ON accounts TO reader_admin`,
      ],
      { 'public.accounts': 75 },
    );
    await withClient(urlOf(SERVER_DATABASES.closed), (client) =>
      client.query(`CREATE TABLE kept (id int)`),
    );
    await withClient(cluster.url, (client) =>
      client.query(`ALTER DATABASE ${ident(SERVER_DATABASES.closed)} ALLOW_CONNECTIONS false`),
    );
    const reader = new URL(cluster.url);
    reader.username = 'reader_admin';
    reader.password = READER_PASSWORD;
    return {
      url: cluster.url,
      readerUrl: reader.toString(),
      urlOf,
      rows,
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

async function fill(
  url: string,
  statements: string[],
  counts: Record<string, number>,
): Promise<Record<string, number>> {
  await withClient(url, async (client) => {
    for (const statement of statements) await client.query(statement);
  });
  return counts;
}
