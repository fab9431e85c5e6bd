// A database of many small objects, as an application's schema grows them: schemas of tables
// chained by foreign keys, each with its sequence, constraints, an index, a view, a function and
// a comment, a few rows each, and a partitioned table. Its restore is thousands of statements,
// not megabytes: where a restore's fixed costs and per-object work show.
import { withClient } from '../lib/pg-cluster.js';

export const SCHEMA_HEAVY = { schemas: 20, tables: 40, partitions: 24 };

/** One schema's tables, each referencing the one before it; made server-side in one statement. */
const schemaSql = (s: number, tables: number) => `DO $$
DECLARE t int; n text;
BEGIN
  CREATE SCHEMA app${s};
  FOR t IN 1..${tables} LOOP
    n := format('app${s}.t%s', t);
    EXECUTE format('CREATE TABLE %s (id bigserial PRIMARY KEY, code text NOT NULL UNIQUE,
      qty int CHECK (qty >= 0), at timestamptz DEFAULT now(), parent bigint %s)', n,
      CASE WHEN t > 1 THEN format('REFERENCES app${s}.t%s', t - 1) ELSE '' END);
    EXECUTE format('CREATE INDEX ON %s (at)', n);
    EXECUTE format('INSERT INTO %s (code, qty, parent) SELECT md5(g::text), g, %s
      FROM generate_series(1, 20) g', n, CASE WHEN t > 1 THEN 'g' ELSE 'NULL' END);
    EXECUTE format('CREATE VIEW %s_v AS SELECT id, code FROM %s WHERE qty > 5', n, n);
    EXECUTE format('CREATE FUNCTION %s_f(x int) RETURNS bigint LANGUAGE sql STABLE
      AS $f$ SELECT count(*) FROM %s WHERE qty > x $f$', n, n);
    EXECUTE format('COMMENT ON TABLE %s IS %L', n, 'table ' || t || ' of schema ${s}');
  END LOOP;
END $$`;

/** A table partitioned by month, with a NOT NULL constraint on each partition's rows. */
const partitionedSql = (partitions: number) => `CREATE SCHEMA history;
CREATE TABLE history.events (id bigint NOT NULL, at date NOT NULL, note text) PARTITION BY RANGE (at);
DO $$
DECLARE m int;
BEGIN
  FOR m IN 0..${partitions - 1} LOOP
    EXECUTE format('CREATE TABLE history.events_%s PARTITION OF history.events
      FOR VALUES FROM (%L) TO (%L)', m, date '2024-01-01' + m * interval '1 month',
      date '2024-01-01' + (m + 1) * interval '1 month');
  END LOOP;
END $$;
INSERT INTO history.events SELECT g, date '2024-01-01' + (g % ${partitions * 28}), md5(g::text)
  FROM generate_series(1, 20000) g;
CREATE INDEX ON history.events (at);`;

/** Fills the (empty) database at `url` with the schema-heavy objects. */
export async function fillSchemaHeavy(url: string): Promise<void> {
  const { schemas, tables, partitions } = SCHEMA_HEAVY;
  await withClient(url, async (client) => {
    for (let s = 1; s <= schemas; s++) await client.query(schemaSql(s, tables));
    await client.query(partitionedSql(partitions));
    await client.query('VACUUM ANALYZE');
  });
}
