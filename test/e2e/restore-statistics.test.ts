/**
 * Planner statistics after a restore: pg_restore leaves none, and autovacuum gathers them for the
 * tables whose restored rows pass its analyze threshold, as after any pg_restore. The restore runs
 * ANALYZE itself on exactly the tables autovacuum would leave without (autovacuum.c's
 * relation_needs_vacanalyze; PostgreSQL's docs, "Routine Vacuuming": autovacuum never analyzes a
 * partitioned table), and on every table when the server's autovacuum is off or the database's
 * own settings turn track_counts off (autovacuum's workers read them). Checked by
 * pg_stat_user_tables.last_analyze, which only a manual ANALYZE sets (autovacuum sets
 * last_autoanalyze), after restores through the action as built. A table ANALYZE fails on is
 * restored all the same: a warning and the summary name it and say how to analyze it by hand.
 *
 * Covers: src/postgres/statistics.ts, src/restore/restore-database.ts.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import {
  errorLines,
  lastErrorLine,
  runAction,
  type ActionRun,
  type RunOptions,
} from '../support/action.js';
import { freshDatabase, sampleSource, type FreshDatabase } from '../support/db.js';

const source = sampleSource('stats_src', 200);
let store: string;

/** The source's tables beside the sample's, each with what should gather its statistics. */
const TABLES = `
  CREATE TABLE public.big (id int PRIMARY KEY, t text);
  INSERT INTO public.big SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
  CREATE TABLE public.tiny (id int PRIMARY KEY);
  INSERT INTO public.tiny SELECT generate_series(1, 10);
  CREATE TABLE public.off_by_option (id int) WITH (autovacuum_enabled = 'No');
  INSERT INTO public.off_by_option SELECT generate_series(1, 2000);
  CREATE TABLE public.high_threshold (id int) WITH (autovacuum_analyze_threshold = 1000000);
  INSERT INTO public.high_threshold SELECT generate_series(1, 2000);
  CREATE TABLE public.parted (k int, v text) PARTITION BY RANGE (k);
  CREATE TABLE public.parted_a PARTITION OF public.parted FOR VALUES FROM (0) TO (1000);
  CREATE TABLE public.parted_b PARTITION OF public.parted FOR VALUES FROM (1000) TO (3000);
  INSERT INTO public.parted SELECT g, md5(g::text) FROM generate_series(0, 2999) g;
  CREATE TABLE "Odd ""Quoted"" name" (id int);
  INSERT INTO "Odd ""Quoted"" name" SELECT generate_series(1, 3);
`;

/** Whether a manual ANALYZE ran on each of the source's tables that this file made. */
async function analyzedHere(url: string): Promise<Record<string, boolean>> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string; analyzed: boolean }>(
      `SELECT c.relname AS name, s.last_analyze IS NOT NULL AS analyzed
         FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relname IN ('big', 'tiny', 'off_by_option', 'high_threshold', 'parted', 'parted_a', 'parted_b', 'Odd "Quoted" name')`,
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.analyzed]));
  });
}

async function restoreInto(url: string, database: string) {
  const run = await runAction({
    mode: 'restore',
    storage: store,
    name: 'stats',
    'database-url': url,
    confirm: database,
    jobs: '2',
  });
  expect(run.code, run.stdout).toBe(0);
  return run;
}

beforeAll(async () => {
  await withClient(source.db.url, (client) => client.query(TABLES));
  store = path.join(source.work, 'store');
  const made = await runAction({ storage: store, name: 'stats', 'database-url': source.db.url });
  expect(made.code, made.stdout).toBe(0);
});

describe('a restore onto a server whose autovacuum is on', () => {
  it('analyzes the partitioned table, the small table and those whose options keep autovacuum off them, and leaves the rest to autovacuum', async () => {
    const target = await freshDatabase('stats_on');
    try {
      const run = await restoreInto(target.url, target.name);
      expect(await analyzedHere(target.url)).toEqual({
        big: false,
        // ANALYZE of a partitioned table analyzes its partitions too (before 18 it cannot not).
        parted_a: true,
        parted_b: true,
        tiny: true,
        off_by_option: true,
        high_threshold: true,
        parted: true,
        'Odd "Quoted" name': true,
      });
      expect(run.summary).toMatch(
        /Planner statistics.*ANALYZE ran on \d+ table\(s\) autovacuum would not analyze; autovacuum analyzes the other \d+/,
      );
      const details = (run.report?.details ?? {}) as { statistics?: Record<string, number> };
      expect(details.statistics?.analyzed).toBeGreaterThanOrEqual(5);
      expect(details.statistics?.leftToAutovacuum).toBeGreaterThanOrEqual(2);
    } finally {
      await target.drop();
    }
  });
});

describe('a restore of a database whose own settings turn track_counts off', () => {
  it('analyzes every table: autovacuum never would there', async () => {
    const local = await freshDatabase('stats_tc_src');
    const target = await freshDatabase('stats_tc');
    try {
      await withClient(local.url, async (client) => {
        await client.query(TABLES);
        await client.query(`ALTER DATABASE ${local.name} SET track_counts = off`);
      });
      const tcStore = path.join(source.work, 'store-track-counts');
      const made = await runAction({ storage: tcStore, name: 'stats', 'database-url': local.url });
      expect(made.code, made.stdout).toBe(0);
      const run = await runAction({
        mode: 'restore',
        storage: tcStore,
        name: 'stats',
        'database-url': target.url,
        confirm: target.name,
        jobs: '2',
      });
      expect(run.code, run.stdout).toBe(0);
      const analyzed = await analyzedHere(target.url);
      expect(Object.keys(analyzed)).toHaveLength(8);
      expect(Object.values(analyzed).every(Boolean)).toBe(true);
      expect(run.summary).toMatch(
        /ANALYZE ran on \d+ table\(s\) autovacuum would not analyze(?!;)/,
      );
    } finally {
      await target.drop();
      await local.drop();
    }
  });
});

describe('a restore onto a server whose autovacuum is off', () => {
  let cluster: PgCluster;

  beforeAll(async () => {
    cluster = await startCluster();
    await withClient(cluster.url, async (client) => {
      await client.query('ALTER SYSTEM SET autovacuum = off');
      await client.query('SELECT pg_reload_conf()');
    });
    await createDatabase(cluster.url, 'target');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('analyzes every table', async () => {
    const url = withDatabase(cluster.url, 'target');
    const run = await restoreInto(url, 'target');
    const analyzed = await analyzedHere(url);
    expect(Object.keys(analyzed)).toHaveLength(8);
    expect(Object.values(analyzed).every(Boolean)).toBe(true);
    expect(run.summary).toMatch(/ANALYZE ran on \d+ table\(s\) autovacuum would not analyze(?!;)/);
  });
});

describe('a restore onto a server whose track_counts is off, on for every role', () => {
  let cluster: PgCluster;

  beforeAll(async () => {
    cluster = await startCluster();
    await withClient(cluster.url, async (client) => {
      // The sessions see it on; autovacuum's workers, which read no role's settings, see it off.
      await client.query('ALTER SYSTEM SET track_counts = off');
      await client.query('SELECT pg_reload_conf()');
      await client.query('ALTER ROLE ALL SET track_counts = on');
    });
    await createDatabase(cluster.url, 'target');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("analyzes every table: the server's own setting is what autovacuum reads", async () => {
    const url = withDatabase(cluster.url, 'target');
    await restoreInto(url, 'target');
    const analyzed = await analyzedHere(url);
    expect(Object.keys(analyzed)).toHaveLength(8);
    expect(Object.values(analyzed).every(Boolean)).toBe(true);
  });
});

/**
 * Backs up a database made by `sql` to a store of its own and hands `use` a restore of it into an
 * empty target; both databases are dropped after.
 */
async function withBackup(
  name: string,
  sql: string,
  use: (
    restore: (options?: RunOptions) => Promise<ActionRun>,
    target: FreshDatabase,
  ) => Promise<void>,
): Promise<void> {
  const local = await freshDatabase(`stats_${name}_src`);
  const target = await freshDatabase(`stats_${name}`);
  try {
    await withClient(local.url, (client) => client.query(sql));
    const storage = path.join(source.work, `store-${name}`);
    const made = await runAction({ storage, name, 'database-url': local.url });
    expect(made.code, made.stdout).toBe(0);
    const inputs = { mode: 'restore', storage, name, 'database-url': target.url };
    await use(
      (options) => runAction({ ...inputs, confirm: target.name, jobs: '2' }, options),
      target,
    );
  } finally {
    await target.drop();
    await local.drop();
  }
}

describe('a restore of a table ANALYZE fails on', () => {
  // The statistics object's expression is evaluated by ANALYZE alone, never by the restore; both
  // small tables share one ANALYZE statement.
  const TABLES_ANALYZE_FAILS_ON = `
    CREATE FUNCTION public.boom(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
      $$BEGIN RAISE EXCEPTION 'boom at ANALYZE'; END$$;
    CREATE TABLE public.fragile (id int);
    INSERT INTO public.fragile SELECT generate_series(1, 10);
    CREATE STATISTICS public.fragile_boom ON (public.boom(id)) FROM public.fragile;
    CREATE TABLE public.sturdy (id int);
    INSERT INTO public.sturdy SELECT generate_series(1, 10);`;

  it('restores and counts every row, warns, and names the table and how to analyze it by hand', async () => {
    await withBackup('fail', TABLES_ANALYZE_FAILS_ON, async (restore, target) => {
      const run = await restore();
      expect(run.code, run.stdout).toBe(0);
      expect(errorLines(run)).toEqual([]);
      expect(run.stdout).toMatch(
        /::warning::ANALYZE failed on 1 table\(s\), restored in full but without planner statistics until analyzed by hand: public\.fragile \(boom at ANALYZE\)/,
      );
      expect(run.summary).toMatch(/Tables \/ rows \| 2 \/ 20 \(match the manifest\)/);
      expect(run.summary).toMatch(
        /Planner statistics \|.*not analyzed, as ANALYZE failed on them: public\.fragile; once the cause is mended, run ANALYZE public\.fragile in the database/,
      );
      const analyzed = await withClient(target.url, async (client) => {
        const { rows } = await client.query<{ name: string; analyzed: boolean }>(
          `SELECT relname AS name, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables ORDER BY 1`,
        );
        return Object.fromEntries(rows.map((row) => [row.name, row.analyzed]));
      });
      expect(analyzed).toEqual({ fragile: false, sturdy: true });
    });
  });
});

/** An `onStart` that sends SIGTERM once an ANALYZE runs in `database`. */
function cancelDuringAnalyze(database: string): NonNullable<RunOptions['onStart']> {
  return (child) => {
    let sent = false;
    const poll = setInterval(() => {
      void withClient(source.db.url, (client) =>
        client.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'ANALYZE %'`,
          [database],
        ),
      ).then(({ rowCount }) => {
        if (sent || !rowCount) return;
        sent = true;
        clearInterval(poll);
        child.kill('SIGTERM');
      });
    }, 50);
    child.on('exit', () => clearInterval(poll));
  };
}

describe('a restore cancelled while ANALYZE runs', () => {
  // ANALYZE evaluates the statistics object's expression on every sampled row: 0.2 s each.
  const SLOW_TO_ANALYZE = `
    CREATE FUNCTION public.slow(int) RETURNS int IMMUTABLE LANGUAGE sql AS
      'SELECT $1 FROM pg_sleep(0.2)';
    CREATE TABLE public.slow_stats (id int);
    INSERT INTO public.slow_stats SELECT generate_series(1, 40);
    CREATE STATISTICS public.slow_stats_expr ON (public.slow(id)) FROM public.slow_stats;`;

  it('stops and fails: a cancel is no failed ANALYZE', async () => {
    await withBackup('cancel', SLOW_TO_ANALYZE, async (restore, target) => {
      const run = await restore({ onStart: cancelDuringAnalyze(target.name) });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
      expect(run.stdout).not.toContain('ANALYZE failed');
      expect(run.summary).toMatch(/Target now \| partly restored/);
    });
  });
});
