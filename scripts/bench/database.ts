// The bench's database: tables of what users really have, generated server-side.
import type { Client } from 'pg';
import { withClient } from '../lib/pg-cluster.js';
import { mb } from './measure.ts';

const SCHEMA = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE customers (id bigint PRIMARY KEY, uid uuid NOT NULL, name text, email text,
  country text, created timestamptz, notes text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, uid uuid NOT NULL,
  amount numeric(12,2), tax numeric(10,4), status text, items jsonb, created timestamptz);
CREATE TABLE events (id bigint PRIMARY KEY, kind text, at timestamptz, payload jsonb, message text);
CREATE TABLE attachments (id bigint PRIMARY KEY, order_id bigint, mime text, body bytea);
`;
const WORDS = `ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray','yankee','zulu','order','shipped','pending','refund','invoice','customer','warehouse','Berlin','Paris','Lisbon','Oslo','Tokyo','Lima','Austin']`;
const word = () => `(${WORDS})[1 + floor(random() * 40)::int]`;
const sentence = (n: number) => Array.from({ length: n }, () => word()).join(" || ' ' || ");

/** The statements that add units `from` to `to`: an order, a customer, an event each. */
function fillSql(from: number, to: number): string[] {
  return [
    `INSERT INTO customers SELECT g, gen_random_uuid(), ${sentence(2)}, md5(g::text) || '@example.com',
       (ARRAY['DE','FR','PT','NO','JP','PE','US'])[1 + g % 7], now() - (g % 100000) * interval '1 minute',
       ${sentence(8)} || ' ' || md5(random()::text)
     FROM generate_series(${from}, ${to}) g`,
    `INSERT INTO orders SELECT g, (g::bigint * 7919) % ${to}, gen_random_uuid(), round((random() * 10000)::numeric, 2),
       round((random() * 100)::numeric, 4), (ARRAY['new','paid','shipped','refunded'])[1 + g % 4],
       jsonb_build_object('sku', md5(g::text), 'qty', 1 + g % 9, 'note', ${sentence(4)},
         'tags', jsonb_build_array(${word()}, ${word()}), 'price', round((random() * 500)::numeric, 2)),
       now() - (g % 500000) * interval '1 second'
     FROM generate_series(${from}, ${to}) g`,
    `INSERT INTO events SELECT g, (ARRAY['login','view','click','purchase','error'])[1 + g % 5],
       now() - g * interval '1 second',
       jsonb_build_object('ip', '10.' || g % 255 || '.' || (g / 255) % 255 || '.1', 'agent', ${sentence(3)},
         'session', gen_random_uuid(), 'ms', floor(random() * 5000)),
       ${sentence(12)}
     FROM generate_series(${from}, ${to}) g`,
    // One attachment per 8 units: a little incompressible data, as real databases have.
    `INSERT INTO attachments SELECT g, g * 8, 'image/png', gen_random_bytes(256) || convert_to(repeat(${word()} || ' ', 40), 'UTF8')
     FROM generate_series(${Math.ceil(from / 8)}, ${Math.floor(to / 8)}) g`,
  ];
}

/** A database the bench fills, then grows: how many units it holds so far. */
export interface Filling {
  url: string;
  /** The schema is made and indexed on the first fill. */
  created: boolean;
  units: number;
}

/** Fills (or grows) the database until it holds at least `targetMb`; returns its size in bytes. */
export async function fillTo(filling: Filling, targetMb: number): Promise<number> {
  return withClient(filling.url, async (client) => {
    const first = !filling.created;
    if (first) await client.query(SCHEMA);
    filling.created = true;
    await growTo(client, filling, targetMb, async (from, to) => {
      for (const sql of fillSql(from, to)) await client.query(sql);
    });
    if (first) {
      await client.query('CREATE INDEX orders_customer ON orders (customer_id)');
      await client.query('CREATE INDEX events_at ON events (at)');
    }
    await client.query('VACUUM ANALYZE');
    return sizeOf(client);
  });
}

const sizeOf = async (client: Client): Promise<number> =>
  Number(
    (await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]
      ?.n,
  );

/**
 * Adds units in batches (`add` writes units `from` to `to`) until the database holds at least
 * `targetMb`, each batch aimed at what is left from what the last one added per unit.
 */
export async function growTo(
  client: Client,
  filling: Pick<Filling, 'units'>,
  targetMb: number,
  add: (from: number, to: number) => Promise<void>,
  firstBatch = 50_000,
): Promise<number> {
  let size = await sizeOf(client);
  let batch = firstBatch;
  while (mb(size) < targetMb) {
    const from = filling.units + 1;
    const to = filling.units + batch;
    await add(from, to);
    filling.units = to;
    const before = size;
    size = await sizeOf(client);
    const perUnit = Math.max(1, size - before) / batch;
    // At least a fifth of the first batch, at most eight times it.
    batch = Math.max(
      Math.ceil(firstBatch / 5),
      Math.min(firstBatch * 8, Math.ceil(((targetMb * 1048576 - size) / perUnit) * 1.02)),
    );
  }
  return size;
}

/** count(*) of every user table, one after another on one connection. */
export async function countEveryTable(client: Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
  );
  for (const { name } of rows) await client.query(`SELECT count(*) FROM ONLY ${name}`);
}
