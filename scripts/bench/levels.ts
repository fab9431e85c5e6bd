// `npm run bench -- --levels`: zstd levels 1, 2, 3 and --adapt against peers' `pg_dump -Fc` (its
// own default compression) on three databases of different character, each --size-mb: the main
// bench's (text, uuid, numeric, jsonb, a little bytea), a JSON and text heavy one, and one of bytea
// that is already compressed. Each pipeline is pg_dump -Fc -Z0 | zstd with the product's threads
// and job size, no Node (runs.ts). It chooses no default: it measures, and says which levels meet
// the goal on every database; the default is chosen from a quiet run.
import { stat, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, startCluster, withClient, withDatabase } from '../lib/pg-cluster.js';
import { fillTo } from './database.ts';
import { log, machine, mb, median, onPath, runTimed } from './measure.ts';
import type { Options } from './options.ts';
import type { Machine, Target } from './results.ts';
import { dumpArgs, reference, settle, type PipeBench, type ZstdLevel } from './runs.ts';
import { measuredLine, targetRows, type SideBench } from './side-bench.ts';

export const LEVELS_RESULTS = 'bench-results/levels.json';
const MARKERS = ['<!-- levels:start -->', '<!-- levels:end -->'] as const;
const LEVELS: readonly ZstdLevel[] = [1, 2, 3, 'adapt'];
/** The issue's goal: at least 3 × faster than peers' pg_dump -Fc, at no more than its size. */
const GOAL = { faster: 3, size: 1.0 };

/** The JSON/text-heavy database and the bytea one, filled server-side to about `targetMb`. */
const FILLS: Record<string, (rows: number) => string> = {
  documents: (rows) => `CREATE TABLE docs (id bigint PRIMARY KEY, doc jsonb, body text);
    INSERT INTO docs SELECT g, jsonb_build_object('title', md5(g::text), 'tags',
        jsonb_build_array('red', 'green', g % 13), 'author', jsonb_build_object('id', g % 977,
        'name', 'user ' || g % 977), 'at', now() - g * interval '1 minute'),
      repeat('Lorem ipsum ' || (g % 101) || ' dolor sit amet, ', 20) || md5(random()::text)
    FROM generate_series(1, ${rows}) g;`,
  // Random bytes compress as badly as JPEG or zstd output: what already-compressed data is to zstd.
  packed: (rows) => `CREATE EXTENSION IF NOT EXISTS pgcrypto;
    CREATE TABLE blobs (id bigint PRIMARY KEY, mime text, body bytea);
    INSERT INTO blobs SELECT g, 'image/jpeg',
      gen_random_bytes(1024) || gen_random_bytes(1024) || gen_random_bytes(1024) || gen_random_bytes(1024) FROM generate_series(1, ${rows}) g;`,
};
/** Rows per MB of each, near enough: a fill is checked by size, not by rows. */
const ROWS_PER_MB: Record<string, number> = { documents: 1400, packed: 220 };

interface Sample {
  seconds: number;
  bytes: number;
}

export interface LevelsReport {
  date: string;
  machine: Machine;
  node: string;
  rounds: number;
  /** The database's size, its peers' pg_dump -Fc, and each level's pipeline (medians). */
  databases: { name: string; sizeMb: number; peers: Sample; levels: Record<string, Sample> }[];
  load: number[];
  targets: Target[];
}

async function makeDatabases(url: string, sizeMb: number): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  await createDatabase(url, 'bench');
  sizes.bench = await fillTo({ url: withDatabase(url, 'bench'), created: false, units: 0 }, sizeMb);
  for (const [name, fill] of Object.entries(FILLS)) {
    await createDatabase(url, name);
    sizes[name] = await withClient(withDatabase(url, name), async (client) => {
      await client.query(fill(Math.ceil(sizeMb * (ROWS_PER_MB[name] ?? 1000))));
      await client.query('VACUUM ANALYZE');
      const { rows } = await client.query<{ n: string }>(
        'SELECT pg_database_size(current_database()) AS n',
      );
      return Number(rows[0]?.n);
    });
  }
  return sizes;
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
    const sizes = await makeDatabases(cluster.url, options.sizeMb);
    const rounds = options.rounds ?? 3;
    const load: number[] = [];
    const databases = [];
    for (const [name, bytes] of Object.entries(sizes)) {
      const bench: PipeBench = {
        cluster,
        pgDump: path.join(cluster.bindir, 'pg_dump'),
        pgEnv: { ...process.env, PGPASSWORD: cluster.password },
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

/** Each level against the goal on every database: the slowest and the largest against peers'. */
export function levelTargets(databases: LevelsReport['databases']): Target[] {
  return LEVELS.map((level) => {
    const key = String(level);
    const faster = Math.min(
      ...databases.map((d) => d.peers.seconds / (d.levels[key]?.seconds ?? Infinity)),
    );
    const size = Math.max(
      ...databases.map((d) => (d.levels[key]?.bytes ?? Infinity) / d.peers.bytes),
    );
    return {
      what: `zstd ${levelName(level)}, on all ${databases.length} databases`,
      goal: `≥ ${GOAL.faster} × faster than peers' pg_dump -Fc, ≤ ${GOAL.size.toFixed(1)} × its size`,
      measured: `${faster.toFixed(1)}× faster at worst, ${size.toFixed(3)}× its size at most`,
      met: faster >= GOAL.faster && size <= GOAL.size,
    };
  });
}

const levelName = (level: ZstdLevel | string) =>
  String(level) === 'adapt' ? '--adapt' : `-${level}`;

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
