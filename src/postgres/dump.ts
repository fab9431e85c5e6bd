/**
 * The postgres source: pg_dump in custom format inside an exported snapshot, with row counts taken
 * in that same snapshot, so the counts describe exactly the rows the dump holds.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { connectionString } from './database-url.js';
import type { DirectOutput, ObjectSource, SourceFacts } from '../pipeline/source.js';
import { hasEntry, parseToc, type ArchiveToc } from './toc.js';
import type { DatabaseTarget, DumpSettings } from '../core/settings.js';
import { dumpSelection } from './dump-selection.js';
import {
  guardedStdout,
  libpqEnv,
  start,
  stopIfRunning,
  succeeded,
  type Child,
  type Ended,
  type Program,
} from '../process/programs.js';
import {
  connect,
  databaseSize,
  estimatedRowCounts,
  exactRowCounts,
  type TableFilter,
} from './server.js';

export interface DumpPlan {
  program: Program;
  /** The database's size on disk, when the server tells it: what the dump is sized by. */
  databaseBytes?: number;
  /** The one connection a backup makes itself: it exports the dump's snapshot and counts its rows. */
  client: pg.Client;
}

/**
 * The plan for one database, once the server's version and the pg_dump for it are settled: its
 * own connection (for its snapshot and row counts) and its size.
 */
export async function planDump(
  target: DatabaseTarget,
  program: Program,
  signal: AbortSignal,
): Promise<DumpPlan> {
  const client = await connect(target, signal);
  try {
    return { program, databaseBytes: await databaseSize(client), client };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Every custom-format archive begins with these bytes: anything else (a plain-text dump, a
 * message) is no backup and is never published. Checked where Node reads pg_dump's output, and
 * from the start of the zstd program's output where that program reads pg_dump directly; only
 * behind the age program, whose output Node cannot open, do the guards on pg-dump-args alone
 * keep the format.
 */
const CUSTOM_FORMAT = {
  prefix: Buffer.from('PGDMP'),
  failure:
    'pg_dump wrote something other than a custom-format archive (it does not begin with PGDMP); nothing was published',
};

/** pg_dump of `target` in a snapshot the plan's connection exports and keeps until the dump ends. */
export async function openDumpSource(
  settings: DumpSettings,
  target: DatabaseTarget,
  plan: DumpPlan,
): Promise<ObjectSource> {
  let snapshot: string;
  try {
    await plan.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await plan.client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    snapshot = rows[0]?.id ?? '';
  } catch (error) {
    await plan.client.end().catch(() => undefined);
    throw error;
  }
  return new DumpSource(settings, target, plan, snapshot);
}

interface Started {
  child: Child;
  exit: Promise<Ended>;
  dumped: Promise<void>;
}

class DumpSource implements ObjectSource {
  readonly sizeEstimate?: number;
  private readonly args: string[];
  /** The row counts, taken beside the dump in its snapshot. */
  private readonly counts: Promise<SourceFacts>;
  /** The programs that list which tables the dump selects: stopped with pg_dump. */
  private readonly probes: Child[] = [];
  private started?: Started;
  /** Made when first asked for: guarding starts reading, and a compressor may read pg_dump instead. */
  private guarded?: Readable;
  private closed = false;

  constructor(
    settings: DumpSettings,
    private readonly target: DatabaseTarget,
    private readonly plan: DumpPlan,
    snapshot: string,
  ) {
    this.sizeEstimate = plan.databaseBytes;
    this.args = [
      '--format=custom',
      '--compress=0',
      '--no-password',
      `--snapshot=${snapshot}`,
      ...settings.pgDumpArgs,
      `--dbname=${connectionString(target)}`,
    ];
    this.counts = countRows(plan.client, settings.rowCounts, () =>
      dumpedRows(plan.program, target, snapshot, settings.pgDumpArgs, this.probes),
    );
    this.counts.catch(() => undefined);
  }

  get output(): Readable {
    if (this.guarded) return this.guarded;
    const { child, dumped } = this.dump();
    return (this.guarded = guardedStdout(child.stdout, dumped, CUSTOM_FORMAT));
  }

  direct(): DirectOutput {
    const { child, dumped } = this.dump();
    return { stdout: child.stdout, succeeded: dumped, expected: CUSTOM_FORMAT };
  }

  async finished(): Promise<SourceFacts> {
    await this.dump().dumped;
    const facts = await this.counts;
    await this.plan.client.query('COMMIT');
    return facts;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.started) stopIfRunning(this.started.child);
    this.probes.forEach(stopIfRunning);
    await this.started?.exit.catch(() => undefined);
    await this.plan.client.end().catch(() => undefined);
  }

  /**
   * pg_dump starts when its bytes are first taken, by Node or by a compressor program: Node
   * drains and drops the unread stdout of a program that has finished, so a small database
   * dumped while the run still waited (finding programs, opening the file, another job's work)
   * would be lost.
   */
  private dump(): Started {
    if (!this.started) {
      const { child, exit } = start(this.plan.program, this.args, libpqEnv(this.target));
      // One outcome, handled here: a run failing before anyone reads it keeps its own cause.
      const dumped = succeeded('pg_dump', exit);
      dumped.catch(() => undefined);
      this.started = { child, exit, dumped };
    }
    return this.started;
  }
}

async function countRows(
  client: pg.Client,
  mode: DumpSettings['rowCounts'],
  dumped: () => Promise<TableFilter | undefined>,
): Promise<SourceFacts> {
  if (mode === 'off') return {};
  const only = await dumped();
  // A count that fails (a table the role may not read) must not end the transaction whose
  // snapshot pg_dump imports: pg_dump would then fail with "could not import the requested
  // snapshot" instead of saying what is wrong.
  await client.query('SAVEPOINT row_counts');
  try {
    // The counts run beside the dump and finish long before it: parallel workers would only take
    // cores from pg_dump and zstd, costing more CPU for the same counts.
    if (mode === 'exact') await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
    const rowCounts =
      mode === 'exact'
        ? await exactRowCounts(client, only)
        : await estimatedRowCounts(client, only);
    await client.query('RELEASE SAVEPOINT row_counts');
    return { rowCounts, rowCountsMode: mode };
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT row_counts').catch(() => undefined);
    throw error;
  }
}

/**
 * The user tables whose rows the dump holds, as pg_dump resolves pg-dump-args (undefined: all):
 * counting a table the dump leaves out would only cost a scan of it.
 */
async function dumpedRows(
  program: Program,
  target: DatabaseTarget,
  snapshot: string,
  pgDumpArgs: string[],
  probes: Child[],
): Promise<TableFilter | undefined> {
  const selection = dumpSelection(pgDumpArgs);
  if (selection.noData) return () => false;
  const listed = selection.probe
    ? await listDumpedTables(program, target, snapshot, selection.probe, probes)
    : undefined;
  if (!listed && !selection.noUnloggedData) return undefined;
  return (table) =>
    (!listed || hasEntry(listed, 'TABLE', table.key)) &&
    !(selection.noUnloggedData && table.unlogged);
}

/**
 * pg_dump's own answer to which tables the patterns select: a schema-only archive in the same
 * snapshot, listed by the pg_restore beside it. Undefined when it cannot be had (no pg_restore
 * there): every table is then counted, as pg-dump-args were not resolved.
 */
async function listDumpedTables(
  program: Program,
  target: DatabaseTarget,
  snapshot: string,
  probe: string[],
  probes: Child[],
): Promise<ArchiveToc | undefined> {
  const env = libpqEnv(target);
  const dump = start(
    program,
    [
      '--schema-only',
      '--format=custom',
      '--no-password',
      `--snapshot=${snapshot}`,
      ...probe,
      `--dbname=${connectionString(target)}`,
    ],
    env,
  );
  const pgRestore = { ...program, path: path.join(path.dirname(program.path), 'pg_restore') };
  const list = start(pgRestore, ['--list'], env, dump.child.stdout);
  // pg_restore has its own copy of the pipe; this one would keep pg_dump's run from closing.
  dump.child.stdout.destroy();
  probes.push(dump.child, list.child);
  let listing = '';
  list.child.stdout.setEncoding('utf8');
  list.child.stdout.on('data', (text: string) => (listing += text));
  const [dumped, listed] = await Promise.allSettled([dump.exit, list.exit]);
  const ok = (ended: PromiseSettledResult<Ended>) =>
    ended.status === 'fulfilled' && ended.value.code === 0;
  return ok(dumped) && ok(listed) ? parseToc(listing) : undefined;
}
