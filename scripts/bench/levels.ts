// `npm run bench -- --levels`: zstd levels 1 to 5 and --adapt against peers' `pg_dump -Fc` (its
// own default compression) on three databases of different character, each --size-mb
// (level-databases.ts), and with --regression FILE on PostgreSQL's regression database too. Each
// pipeline is pg_dump -Fc -Z0 | zstd with the product's threads and job size, no Node (runs.ts).
// It names the fastest level whose output is no larger than peers' on every database, and says
// which levels meet the goal on the three; the default is set from it by hand.
import { stat, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../lib/pg-cluster.js';
import {
  fastestWithinSize,
  GOAL,
  GOAL_DATABASES,
  sizeRatio,
  speedUp,
  type Measured,
  type Sample,
} from './level-choice.ts';
import { makeLevelDatabases } from './level-databases.ts';
import { log, machine, mb, median, onPath, runTimed } from './measure.ts';
import type { Options } from './options.ts';
import type { Machine, Target } from './results.ts';
import { dumpArgs, reference, settle, type PipeBench, type ZstdLevel } from './runs.ts';
import { measuredLine, targetRows, type SideBench } from './side-bench.ts';

export const LEVELS_RESULTS = 'bench-results/levels.json';
const MARKERS = ['<!-- levels:start -->', '<!-- levels:end -->'] as const;
const LEVELS: readonly ZstdLevel[] = [1, 2, 3, 4, 5, 'adapt'];

export interface LevelsReport {
  date: string;
  machine: Machine;
  node: string;
  rounds: number;
  /** The database's size, its peers' pg_dump -Fc, and each level's pipeline (medians). */
  databases: Measured;
  load: number[];
  targets: Target[];
}

/** Peers' way: pg_dump -Fc with its own default compression, into a file. */
async function peers(bench: PipeBench): Promise<Sample> {
  const file = path.join(bench.work, 'peers.dump');
  const run = await runTimed(bench.pgDump, dumpArgs(bench, `--file=${file}`), { env: bench.pgEnv });
  const { size } = await stat(file);
  await rm(file);
  return { seconds: run.seconds, bytes: size };
}

async function measureLevels(options: Options, work: string): Promise<LevelsReport> {
  const zstd = onPath('zstd');
  if (!zstd) throw new Error('bench: --levels needs zstd (Debian: zstd)');
  const cluster = await startCluster();
  try {
    const pgEnv = { ...process.env, PGPASSWORD: cluster.password };
    const sizes = await makeLevelDatabases({ cluster, pgEnv }, options.sizeMb, options.regression);
    const rounds = options.rounds ?? 3;
    const load: number[] = [];
    const databases = [];
    for (const [name, bytes] of Object.entries(sizes)) {
      const bench: PipeBench = {
        cluster,
        pgDump: path.join(cluster.bindir, 'pg_dump'),
        pgEnv,
        work,
        database: name,
        zstd: { bin: zstd, jobs: [`-T${Math.min(os.availableParallelism(), 4)}`, '-B1048576'] },
      };
      const runs: [string, () => Promise<Sample>][] = [
        ['peers', () => peers(bench)],
        ...LEVELS.map((level): [string, () => Promise<Sample>] => [
          String(level),
          () => reference(bench, { level, encrypted: false }),
        ]),
      ];
      const samples = new Map<string, Sample[]>(runs.map(([key]) => [key, []]));
      for (let round = 0; round < rounds; round++) {
        load.push(os.loadavg()[0] ?? 0);
        // Rotated, so that no run always follows the same one.
        for (let i = 0; i < runs.length; i++) {
          const [key, run] = runs[(i + round) % runs.length]!;
          await settle(bench);
          samples.get(key)?.push(await run());
        }
        log(`levels: ${name} round ${round + 1}/${rounds} (load ${load.at(-1)?.toFixed(2)})`);
      }
      const mid = (key: string): Sample => {
        const all = samples.get(key) ?? [];
        return {
          seconds: median(all.map((s) => s.seconds)),
          bytes: median(all.map((s) => s.bytes)),
        };
      };
      databases.push({
        name,
        sizeMb: mb(bytes),
        peers: mid('peers'),
        levels: Object.fromEntries(LEVELS.map((level) => [String(level), mid(String(level))])),
      });
    }
    const report = { date: new Date().toISOString(), machine: machine(), node: process.version };
    return { ...report, rounds, databases, load, targets: levelTargets(databases) };
  } finally {
    await cluster.stop();
  }
}

/** Each level against the goal on the three databases: the slowest and the largest against peers'. */
export function levelTargets(databases: Measured): Target[] {
  const three = databases.filter((d) => GOAL_DATABASES.includes(d.name));
  return LEVELS.map((level) => {
    const key = String(level);
    const faster = Math.min(...three.map((d) => speedUp(d, key)));
    const size = Math.max(...three.map((d) => sizeRatio(d, key)));
    return {
      what: `zstd ${levelName(level)}, on ${three.map((d) => d.name).join(', ')}`,
      goal: `≥ ${GOAL.faster} × faster than peers' pg_dump -Fc, ≤ ${GOAL.size.toFixed(1)} × its size`,
      measured: `${faster.toFixed(1)}× faster at worst, ${size.toFixed(3)}× its size at most`,
      met: faster >= GOAL.faster && size <= GOAL.size,
    };
  });
}

const levelName = (level: ZstdLevel | string) =>
  String(level) === 'adapt' ? '--adapt' : `-${level}`;

function choiceLine(databases: Measured): string {
  const choice = fastestWithinSize(databases, LEVELS.map(String));
  const where = `on every one of the ${databases.length} databases`;
  return choice
    ? `The fastest level no larger than peers' pg_dump -Fc ${where}: **zstd ${levelName(choice.level)}** (${choice.speedUp.toFixed(1)}× faster than peers, geometric mean).`
    : `No level measured is as small as peers' pg_dump -Fc ${where}.`;
}

export function renderLevels(r: LevelsReport): string {
  const rows = r.databases.flatMap((d) => [
    `| ${d.name} (${d.sizeMb.toFixed(0)} MB) | peers: pg_dump -Fc | ${d.peers.seconds.toFixed(2)} s | ${mb(d.peers.bytes).toFixed(1)} MB | 1.0× | 1.000 |`,
    ...Object.entries(d.levels).map(
      ([level, s]) =>
        `| ${d.name} | pg_dump -Fc -Z0 \\| zstd ${levelName(level)} | ${s.seconds.toFixed(2)} s | ${mb(s.bytes).toFixed(1)} MB | ${(d.peers.seconds / s.seconds).toFixed(1)}× | ${(s.bytes / d.peers.bytes).toFixed(3)} |`,
    ),
  ]);
  const loads = r.load.map((l) => l.toFixed(1)).join(', ');
  return [
    measuredLine(
      r,
      `medians of ${r.rounds} rotated rounds; load average before each round: ${loads}`,
      'levels',
    ),
    '',
    '| database | run | median | output | faster than peers | × peers’ size |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    choiceLine(r.databases),
    '',
    ...targetRows(r.targets),
  ].join('\n');
}

/** The bench's flag, its results, and how they are measured and shown (run by side-bench.ts). */
export const LEVELS_BENCH: SideBench<LevelsReport> = {
  results: LEVELS_RESULTS,
  scratch: 'bench-levels-',
  measure: measureLevels,
  render: renderLevels,
  markers: MARKERS,
};
