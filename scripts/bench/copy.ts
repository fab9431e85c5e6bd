// `npm run bench -- --copy`: the copy mode (`node dist/cli/index.js copy`) against a bare GetObject
// → PutObject stream with the same AWS SDK (copy-baseline.ts), between two s3rver processes of
// their own (the destination with keys of its own), on one backup of --object-mb (default 1024)
// MB. Wall time and peak memory (GNU time's %M) of each; rounds alternate which goes first; the
// ratio is of medians measured in the same run.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { s3ClientConfig, S3RVER_ENV, startS3Server, type S3Server } from '../lib/s3-server.js';
import { log, machine, median } from './measure.ts';
import type { Options } from './options.ts';
import type { Machine, Target } from './results.ts';
import { runSideBench, targetRows } from './side-bench.ts';

export const COPY_RESULTS = 'bench-results/copy.json';
const MARKERS = ['<!-- copy:start -->', '<!-- copy:end -->'] as const;
const TIME = '/usr/bin/time';
const BASELINE = fileURLToPath(new URL('./copy-baseline.ts', import.meta.url));
const DESTINATION_KEYS = { accessKeyId: 'BENCHDST', secretAccessKey: 'bench-destination' };
/** The goals: throughput within 1.2 × the bare stream's, memory flat under 150 MB. */
const GOALS = { time: 1.2, peakMb: 150 };

interface Sample {
  seconds: number;
  peakMb: number;
}

export interface CopyReport {
  date: string;
  machine: Machine;
  node: string;
  objectMb: number;
  rounds: number;
  baseline: Sample;
  copy: Sample;
  timeRatio: number;
  targets: Target[];
}

/** Runs `args` under GNU time: its wall time, and its resident-set high-water mark. */
async function timed(args: string[], env: Record<string, string>, work: string): Promise<Sample> {
  const out = path.join(work, 'time.out');
  const started = process.hrtime.bigint();
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(TIME, ['-f', '%M', '-o', out, process.execPath, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: work, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`bench: ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
  const kb = Number(/(\d+)\s*$/.exec(await readFile(out, 'utf8'))?.[1]);
  return { seconds, peakMb: kb / 1024 };
}

/** A backup of one object of `mb` random megabytes, streamed into the source, its manifest last. */
async function forgeBackup(source: S3Server, mb: number): Promise<void> {
  const client = new S3Client(s3ClientConfig(source.endpoint));
  const id = '20260101T000000Z-b0b0b0';
  const key = `bench/big/${id}.dump.zst`;
  const hash = createHash('sha256');
  let left = mb;
  const body = new Readable({
    read() {
      if (left-- <= 0) return void this.push(null);
      const chunk = randomBytes(1024 * 1024);
      hash.update(chunk);
      this.push(chunk);
    },
  });
  await new Upload({ client, params: { Bucket: 'src', Key: key, Body: body } }).done();
  const manifest = {
    version: 1,
    id,
    name: 'big',
    createdAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:10:00.000Z',
    source: { kind: 'postgres', database: 'big' },
    format: 'pg_dump-custom',
    compression: 'zstd',
    encryption: 'none',
    object: { key: `big/${id}.dump.zst`, size: mb * 1024 * 1024, sha256: hash.digest('hex') },
    tool: { name: 'backup-action', version: 'bench' },
  };
  await client.send(
    new PutObjectCommand({
      Bucket: 'src',
      Key: `bench/big/${id}.manifest.json`,
      Body: `${JSON.stringify(manifest, null, 2)}\n`,
    }),
  );
}

async function measureCopy(options: Options, work: string): Promise<CopyReport> {
  await access(TIME).catch(() => {
    throw new Error(`bench: --copy needs GNU time at ${TIME} (Debian: time)`);
  });
  const objectMb = options.objectMb ?? 1024;
  const [source, destination] = await Promise.all([
    startS3Server({ buckets: ['src'] }),
    startS3Server({ buckets: ['dst'], keys: DESTINATION_KEYS }),
  ]);
  try {
    await forgeBackup(source, objectMb);
    log(`copy bench: a ${objectMb} MB backup in ${source.endpoint}`);
    const env = {
      ...S3RVER_ENV,
      DST_ACCESS_KEY_ID: DESTINATION_KEYS.accessKeyId,
      DST_SECRET_ACCESS_KEY: DESTINATION_KEYS.secretAccessKey,
    };
    const key = 'bench/big/20260101T000000Z-b0b0b0.dump.zst';
    const runs = {
      baseline: (round: number) => [
        BASELINE,
        ...[source.endpoint, 'src', key, destination.endpoint, 'dst', `baseline-${round}/${key}`],
      ],
      copy: (round: number) => [
        path.resolve(options.cli),
        'copy',
        ...['--storage', 's3://src/bench', '--name', 'big', '--s3-endpoint', source.endpoint],
        '--copy-to',
        `s3://dst/copy-${round}?endpoint=${destination.endpoint}&credentials=DST`,
      ],
    };
    const samples = { baseline: [] as Sample[], copy: [] as Sample[] };
    const rounds = options.rounds ?? 3;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? (['copy', 'baseline'] as const) : (['baseline', 'copy'] as const);
      for (const which of order) samples[which].push(await timed(runs[which](round), env, work));
      log(`copy round ${round + 1}/${rounds} done`);
    }
    const mid = (all: Sample[]) => ({
      seconds: median(all.map((s) => s.seconds)),
      peakMb: median(all.map((s) => s.peakMb)),
    });
    const [baseline, copy] = [mid(samples.baseline), mid(samples.copy)];
    const timeRatio = copy.seconds / baseline.seconds;
    return {
      date: new Date().toISOString(),
      machine: machine(),
      node: process.version,
      objectMb,
      rounds,
      baseline,
      copy,
      timeRatio,
      targets: copyTargets(timeRatio, Math.max(...samples.copy.map((s) => s.peakMb)), objectMb),
    };
  } finally {
    await Promise.all([source.stop(), destination.stop()]);
  }
}

export function copyTargets(timeRatio: number, peakMb: number, objectMb: number): Target[] {
  return [
    {
      what: `copy time of a ${objectMb} MB backup`,
      goal: `≤ ${GOALS.time.toFixed(1)} × a bare GetObject → PutObject`,
      measured: `${timeRatio.toFixed(2)}×`,
      met: timeRatio <= GOALS.time,
    },
    {
      what: `peak memory of that copy (the highest round)`,
      goal: `< ${GOALS.peakMb} MB`,
      measured: `${peakMb.toFixed(0)} MB`,
      met: peakMb < GOALS.peakMb,
    },
  ];
}

export function renderCopy(r: CopyReport): string {
  const row = (what: string, s: Sample) =>
    `| ${what} | ${s.seconds.toFixed(1)} s | ${((r.objectMb / s.seconds) | 0).toString()} MB/s | ${s.peakMb.toFixed(0)} MB |`;
  return [
    `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.os}, Node ${r.node}: one ${r.objectMb} MB backup copied between two s3rver processes (the destination with keys of its own), medians of ${r.rounds} rounds that alternate which goes first; peak memory is the resident-set high-water mark (GNU time's %M). Run it: \`npm run bench -- --copy\`.`,
    '',
    '| run | time | throughput | peak memory |',
    '| --- | ---: | ---: | ---: |',
    row('a bare GetObject → PutObject stream (same SDK)', r.baseline),
    row('`backup-action copy` (sha256 checked as it streams, manifest last)', r.copy),
    '',
    ...targetRows(r.targets),
  ].join('\n');
}

/** The copy bench: measures (or with --render reads the last results), prints, and with --docs writes the page. */
export function copyBench(options: Options): Promise<void> {
  return runSideBench(
    {
      results: COPY_RESULTS,
      scratch: 'bench-copy-',
      measure: measureCopy,
      render: renderCopy,
      markers: MARKERS,
    },
    options,
  );
}
