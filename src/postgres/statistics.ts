/**
 * Planner statistics for a restored database. pg_restore leaves none; autovacuum gathers them
 * within a minute or so for every table whose inserted rows pass its analyze threshold, as after
 * any pg_restore. ANALYZE runs here only on the tables autovacuum would leave without: all of them
 * when autovacuum or track_counts is not on for the database, partitioned tables (autovacuum never
 * analyzes them; their partitions are analyzed with them),
 * tables with autovacuum_enabled off, and tables below their threshold (autovacuum.c's
 * relation_needs_vacanalyze, with the tables' own reloptions). Those run `jobs` at a time, the
 * largest first, small ones several to a statement. A table ANALYZE fails on (a foreign table's
 * server down, a statistics expression that raises) is reported, not a failure: its rows are
 * restored all the same.
 */
import { errorMessage } from '../core/errors.js';
import type { DatabaseTarget } from '../core/settings.js';
import pg from 'pg';
import { withConnection } from './server.js';

export interface Statistics {
  /** Tables ANALYZE ran on here. */
  analyzed: number;
  /** Tables left to autovacuum, which will analyze them. */
  leftToAutovacuum: number;
  /**
   * Tables ANALYZE failed on (of those counted in `analyzed`), each with the server's error: their
   * rows are restored; only their planner statistics wait for an ANALYZE by hand.
   */
  failed: NotAnalyzed[];
}

export interface NotAnalyzed {
  table: string;
  error: string;
}

/** A reloption's value, or the server's setting: `text` as PostgreSQL would read it. */
const option = (name: string, cast: string) =>
  `coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = '${name}'),
            current_setting('${name}'))::${cast}`;

// Every user table, partitioned table and materialized view, with whether autovacuum will analyze
// it. Autovacuum's workers read the server's settings and the database's, not this session's role
// settings: a value from anywhere but the server's own configuration counts as off. A reloption's
// text is cast as the server casts it ('off', 'No', '0'…). A partition is analyzed with its root
// (ANALYZE of a partitioned table analyzes every partition); sizes are read from the files, as
// relpages stays 0 on a table no index was built on.
const TABLES_SQL = `
  WITH running AS (
    SELECT $1::boolean AND bool_and(setting = 'on' AND source IN
             ('default', 'configuration file', 'command line', 'environment variable')) AS on
    FROM pg_settings WHERE name IN ('autovacuum', 'track_counts'))
  SELECT format('%I.%I', n.nspname, c.relname) AS name,
         pg_relation_size(c.oid)::float8 / current_setting('block_size')::float8 AS pages,
         c.relispartition AS partition,
         c.relkind <> 'p' AND running.on
           AND coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                          WHERE option_name = 'autovacuum_enabled'), 'on')::boolean
           AND coalesce(s.n_mod_since_analyze, 0) >
               ${option('autovacuum_analyze_threshold', 'float8')}
               + ${option('autovacuum_analyze_scale_factor', 'float8')} * greatest(c.reltuples, 0)
           AS autovacuum
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN running
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
  WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  ORDER BY 2 DESC, 1`;

/** Small tables share an ANALYZE statement up to this many pages (8 MB) or tables. */
const BATCH_PAGES = 1024;
const BATCH_TABLES = 100;

interface Table {
  name: string;
  pages: number;
  partition: boolean;
  autovacuum: boolean;
}

/** `autovacuumAllowed`: false when the database's own settings, about to be applied, touch it. */
export async function gatherStatistics(
  target: DatabaseTarget,
  options: { jobs: number; autovacuumAllowed: boolean },
  signal: AbortSignal,
): Promise<Statistics> {
  const rows = await withConnection(
    target,
    async (client) => (await client.query<Table>(TABLES_SQL, [options.autovacuumAllowed])).rows,
    signal,
  );
  // Partitions are analyzed with their root, which is always ours.
  const ours = rows.filter((table) => !table.autovacuum && !table.partition);
  const analyzed = ours.length + rows.filter((table) => table.partition).length;
  const batches = batchesOf(ours);
  const failed: NotAnalyzed[] = [];
  const lane = async (client: pg.Client) => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      signal.throwIfAborted();
      failed.push(...(await analyze(client, batch, signal)));
    }
  };
  const lanes = Math.min(options.jobs, batches.length);
  const settled = await Promise.allSettled(
    Array.from({ length: lanes }, () => withConnection(target, lane, signal)),
  );
  for (const one of settled) if (one.status === 'rejected') throw one.reason;
  return { analyzed, leftToAutovacuum: rows.length - analyzed, failed };
}

/**
 * ANALYZE of one batch; when the server refuses it, each of its tables alone, to name those it
 * refuses. Statistics are an optimisation autovacuum or a hand ANALYZE provides later: a refusal
 * is reported, not thrown; a lost connection or the run's cancellation is thrown.
 */
async function analyze(
  client: pg.Client,
  batch: readonly string[],
  signal: AbortSignal,
): Promise<NotAnalyzed[]> {
  const refusal = await refused(client, batch, signal);
  if (refusal === undefined) return [];
  if (batch.length === 1) return [{ table: batch[0] ?? '', error: refusal }];
  const failed: NotAnalyzed[] = [];
  for (const table of batch) {
    const error = await refused(client, [table], signal);
    if (error !== undefined) failed.push({ table, error });
  }
  return failed;
}

/** The server's error for ANALYZE of `tables`, or undefined once it ran. */
async function refused(
  client: pg.Client,
  tables: readonly string[],
  signal: AbortSignal,
): Promise<string | undefined> {
  signal.throwIfAborted();
  try {
    await client.query(`ANALYZE ${tables.join(', ')}`);
    return undefined;
  } catch (error) {
    if (signal.aborted || !(error instanceof pg.DatabaseError)) throw error;
    return errorMessage(error);
  }
}

/** The tables in statements: largest first, each alone above BATCH_PAGES. Pure. */
export function batchesOf(tables: readonly { name: string; pages: number }[]): string[][] {
  const batches: string[][] = [];
  let pages = Infinity;
  for (const table of tables) {
    const last = batches.at(-1);
    if (last && last.length < BATCH_TABLES && pages + table.pages <= BATCH_PAGES) {
      last.push(table.name);
      pages += table.pages;
    } else {
      batches.push([table.name]);
      pages = table.pages;
    }
  }
  return batches;
}
