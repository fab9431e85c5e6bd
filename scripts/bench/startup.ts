// `npm run bench -- --startup`: the single executable (npm run sea) against `node dist/cli/index.js`
// on the same Node version, started as a timer starts them: wall time and peak memory of
// --version, a refused input, a directory backup and its deep verify. Rounds alternate which goes
// first; the ratios are of medians measured in the same run. No PostgreSQL: a directory's backup
// loads the same code a database's does (store, compression, manifest).
import { spawn } from 'node:child_process';
import { access, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildExecutables } from '../sea.js';
import { log, machine, median } from './measure.ts';
import type { Options } from './options.ts';
import type { Machine, Target } from './results.ts';
import { runSideBench, targetRows } from './side-bench.ts';

export const STARTUP_RESULTS = 'bench-results/startup.json';
const MARKERS = ['<!-- startup:start -->', '<!-- startup:end -->'] as const;
const TIME = '/usr/bin/time';

interface Case {
  what: string;
  args: string[];
  env?: Record<string, string>;
  /** The exit code the case ends with (a refused input is 1). */
  code: number;
}

export interface StartupRow {
  what: string;
  bundle: { seconds: number; peakMb: number };
  executable: { seconds: number; peakMb: number };
  timeRatio: number;
  memoryRatio: number;
}

export interface StartupReport {
  date: string;
  machine: Machine;
  node: string;
  executableMb: number;
  rounds: number;
  rows: StartupRow[];
  targets: Target[];
}

/**
 * The goal is "no worse than the bundle". Time: medians of the same program vary by some 5% between
 * runs on a shared machine. Memory: the executable compiles all of the program at start, and the
 * bundle only the chunks a run loads (a backup to a directory never loads the S3 client): up to 2%.
 */
const GOALS = { time: 1.05, memory: 1.02 };

/** Runs `program` under GNU time: its wall time, and its resident-set high-water mark. */
async function timed(program: string[], c: Case, work: string) {
  const out = path.join(work, 'time.out');
  const started = process.hrtime.bigint();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(TIME, ['-f', '%M', '-o', out, ...program, ...c.args], {
      env: { PATH: process.env.PATH ?? '', HOME: work, ...c.env },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== c.code) throw new Error(`bench: ${c.what} exited ${code}, not ${c.code}`);
  const kb = Number(/(\d+)\s*$/.exec(await readFile(out, 'utf8'))?.[1]);
  return { seconds, peakMb: kb / 1024 };
}

/** The cases, on a small tree and a directory store in `work`. */
async function cases(work: string): Promise<Case[]> {
  const tree = path.join(work, 'tree');
  await mkdir(path.join(tree, 'logs'), { recursive: true });
  for (let i = 0; i < 20; i++) {
    await writeFile(path.join(tree, 'logs', `${i}.log`), `line ${i}\n`.repeat(5000));
  }
  const set = ['--storage', path.join(work, 'store'), '--name', 'tree'];
  return [
    { what: '--version', args: ['--version'], code: 0 },
    {
      what: 'a refused input (one line, before any work)',
      args: ['backup', ...set, '--compression', 'rar'],
      env: { BACKUP_ACTION_DATABASE_URL: 'postgresql://u@127.0.0.1:1/db' },
      code: 1,
    },
    {
      what: 'backup of a 1 MB directory, zstd',
      args: ['backup', ...set, '--source', 'files', '--paths', tree],
      code: 0,
    },
    { what: 'verify-latest, deep', args: ['verify-latest', ...set], code: 0 },
  ];
}

function row(what: string, bundle: Sample[], executable: Sample[]): StartupRow {
  const mid = (samples: Sample[]) => ({
    seconds: median(samples.map((s) => s.seconds)),
    peakMb: median(samples.map((s) => s.peakMb)),
  });
  const [b, e] = [mid(bundle), mid(executable)];
  return {
    what,
    bundle: b,
    executable: e,
    timeRatio: e.seconds / b.seconds,
    memoryRatio: e.peakMb / b.peakMb,
  };
}

type Sample = Awaited<ReturnType<typeof timed>>;

export function startupTargets(rows: StartupRow[]): Target[] {
  return rows.flatMap((r) => [
    {
      what: `start-up and run time, ${r.what}`,
      goal: `≤ ${GOALS.time.toFixed(2)} × the bundle`,
      measured: `${r.timeRatio.toFixed(2)}×`,
      met: r.timeRatio <= GOALS.time,
    },
    {
      what: `peak memory, ${r.what}`,
      goal: `≤ ${GOALS.memory.toFixed(2)} × the bundle`,
      measured: `${r.memoryRatio.toFixed(3)}×`,
      met: r.memoryRatio <= GOALS.memory,
    },
  ]);
}

export function renderStartup(r: StartupReport): string {
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  return [
    `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.os}: the ${r.executableMb.toFixed(0)} MB executable against \`node dist/cli/index.js\` on the same Node ${r.node}, medians of ${r.rounds} rounds that alternate which goes first; peak memory is the resident-set high-water mark (GNU time's %M). Run it: \`npm run bench -- --startup\`.`,
    '',
    '| run | bundle | executable | time | bundle | executable | memory |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.what} | ${ms(x.bundle.seconds)} | ${ms(x.executable.seconds)} | ${x.timeRatio.toFixed(2)}× | ${x.bundle.peakMb.toFixed(1)} MB | ${x.executable.peakMb.toFixed(1)} MB | ${x.memoryRatio.toFixed(3)}× |`,
    ),
    '',
    ...targetRows(r.targets),
  ].join('\n');
}

/** The executable for this machine's architecture, built into `work`. */
async function buildHere(work: string): Promise<string> {
  const arch = os.arch();
  if (arch !== 'x64' && arch !== 'arm64')
    throw new Error(`bench: no executable is built for ${arch}`);
  const [built] = await buildExecutables({ outDir: path.join(work, 'built'), arches: [arch] });
  return built!.file;
}

/**
 * Both programs are copied into the work folder the same way first: how a file was written decides
 * how much of it the kernel maps at each page fault, and so the resident set of whatever runs it.
 */
async function measureStartup(options: Options, work: string): Promise<StartupReport> {
  await access(TIME).catch(() => {
    throw new Error(`bench: --startup needs GNU time at ${TIME} (Debian: time)`);
  });
  const node = path.join(work, 'node');
  await copyFile(process.execPath, node);
  const exe = path.join(work, 'backup-action');
  await copyFile(options.executable ?? (await buildHere(work)), exe);
  const programs = { bundle: [node, path.resolve(options.cli)], executable: [exe] };
  const all = await cases(work);
  const samples = all.map(() => ({ bundle: [] as Sample[], executable: [] as Sample[] }));
  const rounds = options.rounds ?? 15;
  for (let round = 0; round < rounds; round++) {
    const order =
      round % 2 ? (['executable', 'bundle'] as const) : (['bundle', 'executable'] as const);
    for (const [i, c] of all.entries()) {
      for (const which of order) samples[i]![which].push(await timed(programs[which], c, work));
    }
    log(`startup round ${round + 1}/${rounds} done`);
  }
  const rows = all.map((c, i) => row(c.what, samples[i]!.bundle, samples[i]!.executable));
  const { size } = await stat(exe);
  return {
    date: new Date().toISOString(),
    machine: machine(),
    node: process.version,
    executableMb: size / 1024 / 1024,
    rounds,
    rows,
    targets: startupTargets(rows),
  };
}

/** The startup bench: measures (or with --render reads the last results), prints, and with --docs writes the page. */
export function startupBench(options: Options): Promise<void> {
  return runSideBench(
    {
      results: STARTUP_RESULTS,
      scratch: 'bench-startup-',
      measure: measureStartup,
      render: renderStartup,
      markers: MARKERS,
    },
    options,
  );
}
