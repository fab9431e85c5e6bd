// A sample database with what users really have (several schemas, an enum, jsonb, bytea,
// numeric, uuid, timestamptz, a partitioned table, foreign keys, a view, a sequence), plus
// exact per-table figures to prove that a restored copy equals its source.
import pg from 'pg';

/**
 * Fills an empty database. Content is deterministic for a given `rows`: two fills give equal
 * `tableChecksums`. Rows: `rows` orders, 2 lines each, rows/10 customers, rows/20 products.
 * @param {string} url
 * @param {{ rows?: number }} [options]
 */
export async function fillSampleDatabase(url, { rows = 3000 } = {}) {
  if (!Number.isInteger(rows) || rows < 30)
    throw new Error('fillSampleDatabase: rows must be >= 30');
  await withClient(url, async (client) => {
    await client.query('BEGIN');
    await client.query(SCHEMA);
    await client.query(data(rows, Math.floor(rows / 10), Math.floor(rows / 20)));
    await client.query('COMMIT');
    // Fresh statistics, so `row-counts: estimate` sees realistic reltuples.
    await client.query('ANALYZE');
  });
}

/**
 * Exact row counts of every ordinary table (partitions included, partitioned parents not).
 * @param {string} url
 * @returns {Promise<Record<string, number>>} keyed "schema.table"
 */
export async function tableRowCounts(url) {
  return perTable(url, async (client, table) => {
    const result = await client.query(`SELECT count(*)::bigint AS n FROM ${table}`);
    return Number(result.rows[0].n);
  });
}

/**
 * An md5 over each table's rows as text in a fixed order; equal figures mean equal contents.
 * Builds each table's text in memory: meant for test-sized databases.
 * @param {string} url
 * @returns {Promise<Record<string, string>>} keyed "schema.table"
 */
export async function tableChecksums(url) {
  return perTable(url, async (client, table) => {
    // ROW(r.*) rather than `r`: a column named like the alias would win over the whole row.
    // COLLATE "C": the order must not depend on the server's collation.
    const result = await client.query(
      `SELECT md5(coalesce(string_agg(line, '|' ORDER BY line COLLATE "C"), '')) AS sum
         FROM (SELECT ROW(r.*)::text AS line FROM ${table} AS r) AS lines`,
    );
    return String(result.rows[0].sum);
  });
}

/**
 * @template T
 * @param {string} url
 * @param {(client: pg.Client, quotedTable: string) => Promise<T>} fn
 * @returns {Promise<Record<string, T>>}
 */
async function perTable(url, fn) {
  return withClient(url, async (client) => {
    // Text output of timestamptz, floats, bytea and intervals depends on these settings;
    // pin them so figures from two servers compare.
    await client.query(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';" +
        " SET extra_float_digits = 1; SET bytea_output = 'hex'",
    );
    const tables = await client.query(
      `SELECT n.nspname AS schema, c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
        ORDER BY 1, 2`,
    );
    /** @type {Record<string, T>} */
    const out = {};
    for (const { schema, name } of tables.rows) {
      const quoted = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      out[`${schema}.${name}`] = await fn(client, quoted);
    }
    return out;
  });
}

/**
 * @template T
 * @param {string} url
 * @param {(client: pg.Client) => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const SCHEMA = `
CREATE SCHEMA sales;
CREATE SCHEMA inventory;

CREATE TYPE sales.order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
CREATE SEQUENCE sales.invoice_number_seq START 100000;

CREATE TABLE public.customers (
  id integer PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  profile jsonb NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE inventory.products (
  id integer PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  price numeric(12, 2) NOT NULL,
  weight_kg double precision,
  attributes jsonb,
  thumbnail bytea
);

CREATE TABLE inventory.stock (
  product_id integer NOT NULL REFERENCES inventory.products (id),
  warehouse text NOT NULL,
  quantity integer NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (product_id, warehouse)
);

CREATE TABLE sales.orders (
  id bigint NOT NULL,
  order_date date NOT NULL,
  customer_id integer NOT NULL REFERENCES public.customers (id),
  status sales.order_status NOT NULL,
  total numeric(14, 2) NOT NULL,
  invoice_number bigint NOT NULL DEFAULT nextval('sales.invoice_number_seq'),
  external_ref uuid NOT NULL DEFAULT gen_random_uuid(),
  note text,
  PRIMARY KEY (id, order_date)
) PARTITION BY RANGE (order_date);
CREATE TABLE sales.orders_2024 PARTITION OF sales.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sales.orders_2025 PARTITION OF sales.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE sales.orders_2026 PARTITION OF sales.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX orders_customer_idx ON sales.orders (customer_id);

CREATE TABLE sales.order_lines (
  order_id bigint NOT NULL,
  order_date date NOT NULL,
  line_no smallint NOT NULL,
  product_id integer NOT NULL REFERENCES inventory.products (id),
  quantity integer NOT NULL,
  unit_price numeric(12, 2) NOT NULL,
  PRIMARY KEY (order_id, order_date, line_no),
  FOREIGN KEY (order_id, order_date) REFERENCES sales.orders (id, order_date)
);

CREATE VIEW sales.customer_totals AS
  SELECT c.id, c.email, count(o.id) AS orders, coalesce(sum(o.total), 0) AS total
    FROM public.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
   GROUP BY c.id, c.email;
`;

// Values derive from the row number only. Inlined integers (checked above): a query with
// parameters cannot hold several statements.
/** @param {number} orders @param {number} customers @param {number} products */
const data = (orders, customers, products) => `
INSERT INTO public.customers (id, email, name, profile, created_at)
SELECT i,
       'customer' || i || '@example.com',
       CASE WHEN i % 7 = 0 THEN E'Zoë O''Brien-Łukasz "quoted"\\ttab ' || i ELSE 'Customer ' || i END,
       jsonb_build_object('tier', (ARRAY['free', 'pro', 'enterprise'])[1 + i % 3],
                          'tags', jsonb_build_array('t' || i % 5, 't' || i % 11),
                          'newsletter', i % 2 = 0),
       timestamptz '2023-06-01 00:00:00+00' + i * interval '97 minutes'
  FROM generate_series(1, ${customers}) AS i;

INSERT INTO inventory.products (id, sku, name, price, weight_kg, attributes, thumbnail)
SELECT i,
       'SKU-' || lpad(i::text, 6, '0'),
       'Product ' || md5('product' || i),
       round((i * 7.31 + 0.99)::numeric % 1000, 2),
       CASE WHEN i % 10 = 0 THEN NULL ELSE i / 8.0 END,
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE jsonb_build_object('color', (ARRAY['red', 'green', 'blue'])[1 + i % 3], 'size', i % 40) END,
       decode(repeat(md5('thumb' || i), 1 + i % 8), 'hex')
  FROM generate_series(1, ${products}) AS i;

INSERT INTO inventory.stock (product_id, warehouse, quantity)
SELECT p, w, (p * 13 + length(w) * 7) % 500
  FROM generate_series(1, ${products}) AS p, unnest(ARRAY['berlin', 'dublin', 'ohio']) AS w;

INSERT INTO sales.orders (id, order_date, customer_id, status, total, external_ref, note)
SELECT i,
       date '2024-01-01' + (i * 7 % 1096),
       1 + i % ${customers},
       (enum_range(NULL::sales.order_status))[1 + i % 4],
       round((i * 3.17)::numeric % 5000, 2),
       md5('order' || i)::uuid,
       CASE WHEN i % 5 = 0 THEN NULL WHEN i % 17 = 0 THEN E'multi\\nline note ' || i ELSE 'note ' || i END
  FROM generate_series(1, ${orders}) AS i;

INSERT INTO sales.order_lines (order_id, order_date, line_no, product_id, quantity, unit_price)
SELECT o.id, o.order_date, l, 1 + (o.id * l) % ${products}, 1 + (o.id + l) % 9, round((o.id % 97 + l)::numeric / 3, 2)
  FROM sales.orders o, generate_series(1, 2) AS l;
`;
