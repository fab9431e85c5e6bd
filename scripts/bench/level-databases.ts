// The --levels bench's databases, each of a different character: the main bench's; a JSON and
// text heavy one (documents.ts); one of bytea that is already compressed; and, when an archive of
// it is given (scripts/regression-db.sh), PostgreSQL's own schema-heavy regression database.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import type { PgCluster } from '../lib/pg-cluster.js';
import { createDatabase, withClient, withDatabase } from '../lib/pg-cluster.js';
import { fillTo, growTo } from './database.ts';
import { DOCUMENTS_SCHEMA, documentRows, seeded, Writer } from './documents.ts';
import { log } from './measure.ts';

// Random bytes compress as badly as JPEG, video or zstd output: what already-compressed data is
// to a compressor. Sizes spread from 1 to 64 KiB (mostly small, as photos' thumbnails and
// documents' scans are), with the columns such a table has beside them.
const PACKED_SCHEMA = `CREATE EXTENSION IF NOT EXISTS pgcrypto;
  CREATE TABLE blobs (id bigint PRIMARY KEY, name text, mime text, created timestamptz,
    sha256 text, body bytea)`;
const packedSql = (from: number, to: number) => `INSERT INTO blobs
  SELECT g, 'upload-' || g || '.jpg', 'image/jpeg', now() - g * interval '17 minutes',
    encode(sha256(x.b), 'hex'), x.b
  FROM generate_series(${from}, ${to}) g,
    LATERAL (SELECT string_agg(gen_random_bytes(1024), ''::bytea) AS b
      FROM generate_series(1, g * 0 + ceil(exp(random() * ln(64)))::int)) x`;

/** What the bench needs to make them: the cluster, and its programs' password. */
interface Maker {
  cluster: PgCluster;
  pgEnv: NodeJS.ProcessEnv;
}

const dbArg = (cluster: PgCluster, name: string) =>
  `--dbname=postgresql://${cluster.user}@${cluster.host}:${cluster.port}/${name}`;

/** Waits for a program and fails with its last lines unless it exits with one of `ok`. */
function exited(child: ReturnType<typeof spawn>, what: string, ok = [0]): Promise<void> {
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (err = (err + text).slice(-2000)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      ok.includes(code ?? -1) ? resolve() : reject(new Error(`${what} failed (${code}): ${err}`)),
    );
  });
}

/** The JSON and text heavy database: generated documents streamed in by psql's COPY. */
async function fillDocuments(maker: Maker, client: Client, targetMb: number): Promise<void> {
  await client.query(DOCUMENTS_SCHEMA);
  const writer = new Writer(seeded(31));
  const now = Date.parse('2026-12-01T00:00:00Z');
  const psql = path.join(maker.cluster.bindir, 'psql');
  await growTo(
    client,
    { units: 0 },
    targetMb,
    async (from, to) => {
      const copy = spawn(
        psql,
        [
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          'COPY docs FROM STDIN',
          dbArg(maker.cluster, 'documents'),
        ],
        {
          env: maker.pgEnv,
          stdio: ['pipe', 'ignore', 'pipe'],
        },
      );
      const done = exited(copy, 'psql COPY docs');
      await pipeline(Readable.from(documentRows(writer, from, to, now)), copy.stdin);
      await done;
    },
    20_000,
  );
}

/** PostgreSQL's regression database, restored from its archive; owners and grants left out. */
async function restoreRegression(maker: Maker, archive: string): Promise<void> {
  const restore = spawn(
    path.join(maker.cluster.bindir, 'pg_restore'),
    ['--no-owner', '--no-privileges', '--no-password', dbArg(maker.cluster, 'regression'), archive],
    { env: maker.pgEnv, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Exit 1: some objects refer to the test's own C library or roles, which are not here.
  await exited(restore, 'pg_restore of the regression database', [0, 1]);
}

/** Makes every database; returns each one's size in bytes, by name. */
export async function makeLevelDatabases(
  maker: Maker,
  sizeMb: number,
  regression?: string,
): Promise<Record<string, number>> {
  const url = maker.cluster.url;
  const fills: Record<string, (client: Client) => Promise<unknown>> = {
    bench: () => fillTo({ url: withDatabase(url, 'bench'), created: false, units: 0 }, sizeMb),
    documents: (client) => fillDocuments(maker, client, sizeMb),
    packed: async (client) => {
      await client.query(PACKED_SCHEMA);
      await growTo(
        client,
        { units: 0 },
        sizeMb,
        (from, to) => client.query(packedSql(from, to)).then(() => undefined),
        2_000,
      );
    },
    ...(regression ? { regression: () => restoreRegression(maker, regression) } : {}),
  };
  const sizes: Record<string, number> = {};
  for (const [name, fill] of Object.entries(fills)) {
    await createDatabase(url, name);
    sizes[name] = await withClient(withDatabase(url, name), async (client) => {
      await fill(client);
      await client.query('VACUUM ANALYZE');
      const { rows } = await client.query<{ n: string }>(
        'SELECT pg_database_size(current_database()) AS n',
      );
      return Number(rows[0]?.n);
    });
    log(`levels: made ${name}`);
  }
  return sizes;
}
