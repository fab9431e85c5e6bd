/**
 * Exact row counts of a schema of many tables, as backup, restore and restore-test take them (in
 * statements of many tables each): every table's own count, past a statement's end, in the
 * tables' order, names that need quoting included, a parent's rows not counting its child's.
 *
 * Covers: src/postgres/server.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { exactRowCounts, USER_TABLES_SQL } from '../../src/postgres/server.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';

let db: FreshDatabase;
/** More than one statement's worth of tables (250 per statement). */
const TABLES = 260;

beforeAll(async () => {
  db = await freshDatabase('row_counts');
  const statements = Array.from(
    { length: TABLES },
    (_, i) => `CREATE TABLE t${String(i).padStart(3, '0')} (id int);
      INSERT INTO t${String(i).padStart(3, '0')} SELECT generate_series(1, ${i % 7});`,
  );
  await withClient(db.url, (client) =>
    client.query(`${statements.join('\n')}
      CREATE SCHEMA "Sälës";
      CREATE TABLE "Sälës"."Order ""items""" (id int);
      INSERT INTO "Sälës"."Order ""items""" SELECT generate_series(1, 11);
      CREATE TABLE zz_child () INHERITS (t001);
      INSERT INTO zz_child VALUES (1), (2), (3);`),
  );
}, 60_000);

afterAll(() => db?.drop());

it('counts every table of a schema of many, each its own rows, in the order the tables are listed', async () => {
  const [counts, listed] = await withClient(db.url, async (client) => [
    await exactRowCounts(client),
    (await client.query<{ key: string }>(USER_TABLES_SQL)).rows.map((row) => row.key),
  ]);
  const expected: Record<string, number> = { '"Sälës"."Order ""items"""': 11 };
  for (let i = 0; i < TABLES; i++) expected[`public.t${String(i).padStart(3, '0')}`] = i % 7;
  expected['public.zz_child'] = 3;
  expect(counts).toEqual(expected);
  expect(Object.keys(counts)).toEqual(listed);
});

it('counts only the tables chosen', async () => {
  const counts = await withClient(db.url, (client) =>
    exactRowCounts(client, (table) => table.name.startsWith('zz_') || table.name === 't006'),
  );
  expect(counts).toEqual({ 'public.t006': 6, 'public.zz_child': 3 });
});
