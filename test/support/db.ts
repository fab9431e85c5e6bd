// A database of its own for each test: test files run in parallel on one server.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  withClient,
  withDatabase,
} from '../../scripts/lib/pg-cluster.js';
import { fillSampleDatabase } from '../../scripts/lib/sample-db.js';
import { testDatabaseUrl } from './env.js';

export interface FreshDatabase {
  /** Superuser URL to the new database. */
  url: string;
  name: string;
  /** Drops it, even with sessions still connected. Safe to call twice. */
  drop(): Promise<void>;
}

/** Creates an empty database named `<prefix>_<pid>_<random>` on the test server (or on `server`). */
export async function freshDatabase(
  prefix = 'test',
  server = testDatabaseUrl(),
): Promise<FreshDatabase> {
  const safePrefix =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .slice(0, 32) || 'test';
  const name = `${safePrefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(server, name);
  let dropped = false;
  return {
    url: withDatabase(server, name),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await dropDatabase(server, name);
    },
  };
}

/**
 * A fresh database holding one table of about 27 MB (`filler`): its dump, uncompressed, is a
 * multipart upload of four 8 MiB parts (the size chosen for a database this small).
 */
export async function multipartDatabase(prefix: string): Promise<FreshDatabase> {
  const db = await freshDatabase(prefix);
  await withClient(db.url, (client) =>
    client.query(
      `CREATE TABLE filler AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) AS text
         FROM generate_series(1, 250000) g`,
    ),
  );
  return db;
}

export interface SampleSource {
  /** A fresh database filled with the sample data. */
  db: FreshDatabase;
  /** An empty scratch folder (stores, files a test writes). */
  work: string;
}

/**
 * What the end-to-end files back up: a fresh database holding the sample data (`rows` orders)
 * and a scratch folder, made before the file's (or the describe block's) tests and removed after.
 * Its fields are set once the tests run.
 */
export function sampleSource(prefix: string, rows: number): SampleSource {
  const made = {} as SampleSource;
  beforeAll(async () => {
    made.db = await freshDatabase(prefix);
    await fillSampleDatabase(made.db.url, { rows });
    made.work = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  });
  afterAll(async () => {
    await made.db?.drop();
    if (made.work) await rm(made.work, { recursive: true, force: true });
  });
  return made;
}
