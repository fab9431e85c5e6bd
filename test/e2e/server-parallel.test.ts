/**
 * Whole servers `jobs` databases at a time: a backup of many small databases restore-tested and
 * restored with jobs 2 (every database checked, two running at once), and a database that fails
 * mid-way (its index cannot be built under pg_restore's empty search_path) stopping the others:
 * one line naming it, every scratch database dropped, no target half restored.
 *
 * Covers: src/core/at-once.ts, src/kinds/server/restore-test.ts, src/kinds/server/restore.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { lastErrorLine, runAction } from '../support/action.js';

let source: PgCluster;
let target: PgCluster;
let work: string;

/** db_01 … db_12, db_NN holding NN × 10 rows. */
const MANY = Array.from({ length: 12 }, (_, i) => `db_${String(i + 1).padStart(2, '0')}`);
const rowsOf = (database: string) => Number(database.slice(3)) * 10;
/** First in the backup's order: restored with the first lane, it fails in post-data. */
const BROKEN = 'db_00';

async function databases(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ n: string }>(
      'SELECT datname AS n FROM pg_database ORDER BY 1',
    );
    return rows.map((row) => row.n);
  });
}

async function rowsIn(url: string, database: string): Promise<number> {
  return withClient(withDatabase(url, database), async (client) => {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    return rows[0]?.n ?? -1;
  });
}

const backup = (name: string) =>
  runAction({
    storage: path.join(work, 'store'),
    name,
    'database-url': source.url,
    databases: 'db_*',
  });

const run = (mode: string, name: string, url: string, extra: Record<string, string> = {}) =>
  runAction({
    mode,
    storage: path.join(work, 'store'),
    name,
    'database-url': url,
    jobs: '2',
    ...extra,
  });

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'server-parallel-'));
  for (const database of MANY) {
    await withClient(source.url, (client) => client.query(`CREATE DATABASE ${database}`));
    await withClient(withDatabase(source.url, database), (client) =>
      client.query(
        `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, ${rowsOf(database)})`,
      ),
    );
  }
  expect((await backup('many')).code).toBe(0);
  // An index on a function that reads a table unqualified: fine here, but pg_restore builds it
  // with an empty search_path, so the restore fails after the data, in post-data.
  await withClient(source.url, (client) => client.query(`CREATE DATABASE ${BROKEN}`));
  await withClient(withDatabase(source.url, BROKEN), (client) =>
    client.query(`
      CREATE TABLE lookup (k int); INSERT INTO lookup VALUES (1);
      CREATE FUNCTION shifted(int) RETURNS int LANGUAGE sql IMMUTABLE
        AS 'SELECT $1 + (SELECT count(*)::int FROM lookup)';
      CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 100);
      CREATE INDEX t_shifted ON t (shifted(x));`),
  );
  const broken = await backup('broken');
  expect(broken.code, broken.stdout).toBe(0);
}, 240_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('restore-test of a server backup, jobs 2', () => {
  it('tests every database, two at a time, and leaves no scratch database', async () => {
    const before = await databases(source.url);
    const test = await run('restore-test', 'many', source.url);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(Number(test.outputs['restored-tables'])).toBe(MANY.length);
    for (const database of MANY) {
      expect(test.summary).toMatch(
        new RegExp(`\\| ${database} \\| 1 \\| ${rowsOf(database)} \\| ✅ \\| [\\d.]+ s \\|`),
      );
    }
    expect(test.summary).toContain('2 databases at once, 1 job(s) each');
    // The second database started before the first was done: they ran at once.
    const log = test.stdout;
    expect(log.indexOf('db_02: testing in scratch database')).toBeGreaterThan(-1);
    expect(log.indexOf('db_02: testing in scratch database')).toBeLessThan(
      log.indexOf('db_01: 1 tables, 10 rows, matched'),
    );
    expect(await databases(source.url)).toEqual(before);
  });

  it('one database failing mid-way stops the others, names itself, and drops every scratch database', async () => {
    const before = await databases(source.url);
    const test = await run('restore-test', 'broken', source.url);
    expect(test.code).not.toBe(0);
    expect(lastErrorLine(test)).toMatch(
      /^db_00: pg_restore failed: .*relation "lookup" does not exist/,
    );
    // Stopped: the databases after the first few were never started.
    expect(test.summary).toMatch(/\| db_12 \| — \| — \| — not restored \|/);
    expect(await databases(source.url)).toEqual(before);
  });
});

describe('restore of a server backup, jobs 2', () => {
  it('a database failing mid-way stops the others; no target is left half restored', async () => {
    const targets = [BROKEN, ...MANY];
    const failed = await run('restore', 'broken', target.url, { confirm: targets.join(',') });
    expect(failed.code).not.toBe(0);
    expect(lastErrorLine(failed)).toMatch(
      /^db_00: pg_restore failed: .*relation "lookup" does not exist/,
    );
    const left = (await databases(target.url)).filter((name) => name.startsWith('db_'));
    expect(left).not.toContain(BROKEN);
    expect(left).not.toContain('db_12');
    // What is there was restored whole: created targets that did not finish were dropped.
    for (const database of left) expect(await rowsIn(target.url, database)).toBe(rowsOf(database));
  });

  it('restores every database, two at a time (replacing those restored before)', async () => {
    const restored = await run('restore', 'many', target.url, {
      confirm: MANY.join(','),
      clean: 'true',
    });
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    for (const database of MANY) expect(await rowsIn(target.url, database)).toBe(rowsOf(database));
  });
});
