// `npm run bench -- --servers`: a server backup of many small databases (--databases N, default
// 100) restore-tested with jobs 1 and with jobs 2, on a throwaway cluster, into scratch databases
// on the same cluster. Rounds alternate which goes first; the ratio is of medians of one run.
import os from 'node:os';
import path from 'node:path';
import { startCluster, withClient, withDatabase } from '../lib/pg-cluster.js';
import { log, machine, median, runTimed } from './measure.ts';
import type { Options } from './options.ts';
import type { Machine, Target } from './results.ts';
import { measuredLine, targetRows, type SideBench } from './side-bench.ts';

export const SERVERS_RESULTS = 'bench-results/servers.json';
const MARKERS = ['<!-- servers:start -->', '<!-- servers:end -->'] as const;
/** The goal: jobs 2 in at most 0.6 × the time of jobs 1. */
const GOAL = 0.6;

export interface ServersReport {
  date: string;
  machine: Machine;
  node: string;
  databases: number;
  rounds: number;
  /** Median seconds of a whole restore-test, by jobs. */
  seconds: { one: number; two: number };
  ratio: number;
  /** The load average (1 min) before each round: a busy machine's ratios mean less. */
  load: number[];
  targets: Target[];
}

/** `n` databases of one small table each, as a server of many tenants holds them. */
async function makeDatabases(url: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const name = `tenant_${String(i).padStart(3, '0')}`;
    await withClient(url, (client) => client.query(`CREATE DATABASE ${name}`));
    await withClient(withDatabase(url, name), (client) =>
      client.query(
        'CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 200) g',
      ),
    );
  }
}

async function measureServers(options: Options, work: string): Promise<ServersReport> {
  const databases = options.databases ?? 100;
  const cluster = await startCluster();
  try {
    await makeDatabases(cluster.url, databases);
    const store = path.join(work, 'store');
    const env = { ...process.env, BACKUP_ACTION_DATABASE_URL: cluster.url };
    const cli = (...argv: string[]) =>
      runTimed(process.execPath, [options.cli, ...argv, '--storage', store, '--name', 'tenants'], {
        env,
      });
    await cli('backup', '--databases', 'tenant_*', '--jobs', '2');
    log(`servers bench: a backup of ${databases} databases made`);
    const samples = { one: [] as number[], two: [] as number[] };
    const load: number[] = [];
    const rounds = options.rounds ?? 3;
    for (let round = 0; round < rounds; round++) {
      load.push(loadAverage());
      const order = round % 2 ? (['two', 'one'] as const) : (['one', 'two'] as const);
      for (const which of order) {
        const jobs = which === 'one' ? '1' : '2';
        samples[which].push((await cli('restore-test', '--jobs', jobs)).seconds);
      }
      log(`servers round ${round + 1}/${rounds} done (load ${load.at(-1)?.toFixed(2)})`);
    }
    const seconds = { one: median(samples.one), two: median(samples.two) };
    const ratio = seconds.two / seconds.one;
    return {
      date: new Date().toISOString(),
      machine: machine(),
      node: process.version,
      databases,
      rounds,
      seconds,
      ratio,
      load,
      targets: [
        {
          what: `restore-test of ${databases} small databases, jobs 2`,
          goal: `≤ ${GOAL} × jobs 1`,
          measured: `${ratio.toFixed(2)}×`,
          met: ratio <= GOAL,
        },
      ],
    };
  } finally {
    await cluster.stop();
  }
}

function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

export function renderServers(r: ServersReport): string {
  const loads = r.load.map((l) => l.toFixed(1)).join(', ');
  return [
    measuredLine(
      r,
      `a server backup of ${r.databases} databases of one 200-row table each, restore-tested whole, medians of ${r.rounds} rounds that alternate which goes first; load average before each round: ${loads}`,
      'servers',
    ),
    '',
    '| run | median | × jobs 1 |',
    '| --- | ---: | ---: |',
    `| restore-test, jobs 1 (one database after another) | ${r.seconds.one.toFixed(1)} s | 1.00 |`,
    `| restore-test, jobs 2 (two databases at once) | ${r.seconds.two.toFixed(1)} s | ${r.ratio.toFixed(2)} |`,
    '',
    ...targetRows(r.targets),
  ].join('\n');
}

/** The bench's flag, its results, and how they are measured and shown (run by side-bench.ts). */
export const SERVERS_BENCH: SideBench<ServersReport> = {
  results: SERVERS_RESULTS,
  scratch: 'bench-servers-',
  measure: measureServers,
  render: renderServers,
  markers: MARKERS,
};
