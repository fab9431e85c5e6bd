// The runs the bench times, each a whole process (or a pipeline of them) started from scratch.
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PgCluster } from '../lib/pg-cluster.js';
import { createDatabase, dropDatabase, withClient, withDatabase } from '../lib/pg-cluster.js';
import type { S3Server } from '../lib/s3-server.js';
import { countEveryTable } from './database.ts';
import { outputs, runTimed, secondsOf, type Timed } from './measure.ts';
import type { VariantKey } from './results.ts';

export const BUCKET = 'bench';

/** What every run works with: the servers, the programs, and the files it may write. */
export interface Bench {
  cluster: PgCluster;
  s3: S3Server;
  s3client: S3Client;
  /** The command-line bundle that is timed. */
  cli: string;
  pgDump: string;
  pgRestore: string;
  pgEnv: NodeJS.ProcessEnv;
  cliEnv: NodeJS.ProcessEnv;
  /** The age recipient the encrypted runs encrypt to. */
  recipient: string;
  work: string;
  /** The directory store of the product's backups. */
  dirStore: string;
  /** An uncompressed archive of the bench database: the restore floor's input. */
  rawFile: string;
  nullFd: number;
  /** zstd with the threads and job size the product gives it, and age, when installed. */
  zstd?: { bin: string; jobs: string[]; age?: string };
  /** The database dumped: `bench` unless another is named (the --levels bench's three). */
  database?: string;
}

/** What a reference pipeline needs of the bench. */
export type PipeBench = Pick<Bench, 'cluster' | 'pgDump' | 'pgEnv' | 'work' | 'zstd' | 'database'> &
  Partial<Pick<Bench, 'recipient'>>;

/** A backup of this product that the bench times. */
export interface Variant {
  key: VariantKey;
  label: string;
  store: 'dir' | 's3';
  age: boolean;
  level?: number;
}

export const VARIANTS: readonly Variant[] = [
  { key: 'dir', label: 'this product: backup, zstd → directory', store: 'dir', age: false },
  {
    key: 'dir-age',
    label: 'this product: backup, zstd + age → directory',
    store: 'dir',
    age: true,
  },
  { key: 's3', label: 'this product: backup, zstd → S3 (s3rver)', store: 's3', age: false },
  {
    key: 's3-age',
    label: 'this product: backup, zstd + age → S3 (s3rver)',
    store: 's3',
    age: true,
  },
  // Not a target: what the same run costs when the compressor costs half as much.
  {
    key: 'dir-level-1',
    label: 'this product: backup, zstd level 1 → directory',
    store: 'dir',
    age: false,
    level: 1,
  },
];

/** A no-Node reference pipeline: pg_dump into zstd at `level`, and on into age when `encrypted`. */
export interface Reference {
  level: number;
  encrypted: boolean;
}

/** A zstd level, or zstd's --adapt (its level follows how fast the output drains). */
export type ZstdLevel = number | 'adapt';

const dbArg = (bench: Pick<Bench, 'cluster'>, name: string) =>
  `--dbname=postgresql://${bench.cluster.user}@${bench.cluster.host}:${bench.cluster.port}/${name}`;

export const dumpArgs = (bench: Pick<Bench, 'cluster' | 'database'>, ...extra: string[]) => [
  '--format=custom',
  ...extra,
  '--no-password',
  dbArg(bench, bench.database ?? 'bench'),
];

/**
 * Every timed run starts from a checkpoint and a sync, so that none pays for writing out the
 * pages an earlier one left dirty (a restore leaves hundreds of megabytes).
 */
export async function settle(bench: Pick<Bench, 'cluster'>): Promise<void> {
  await withClient(bench.cluster.url, (client) => client.query('CHECKPOINT'));
  await runTimed('sync', []);
}

/** The floor: pg_dump -Fc -Z0 into /dev/null. */
export function floor(bench: Bench): Promise<Timed> {
  return runTimed(bench.pgDump, dumpArgs(bench, '--compress=0'), {
    env: bench.pgEnv,
    stdout: bench.nullFd,
  });
}

/** The restore floor's input, an uncompressed archive in a local file; returns its size. */
export async function dumpRaw(bench: Bench): Promise<number> {
  await runTimed(bench.pgDump, dumpArgs(bench, '--compress=0', `--file=${bench.rawFile}`), {
    env: bench.pgEnv,
  });
  return (await stat(bench.rawFile)).size;
}

/**
 * pg_dump -Fc -Z0 | zstd [| age] into a file, pg_dump's stdout handed straight to zstd's stdin
 * (no shell, and no Node in the data path): what compression at this level costs on this data,
 * whoever does it, and with age what encryption adds. Times the programs only: removing their
 * file is not part of a backup.
 */
export async function reference(
  bench: PipeBench,
  { level, encrypted }: { level: ZstdLevel; encrypted: boolean },
): Promise<{ seconds: number; bytes: number }> {
  const { zstd } = bench;
  if (!zstd || (encrypted && !(zstd.age && bench.recipient)))
    throw new Error('bench: a reference needs zstd (and age)');
  const out = path.join(bench.work, 'reference.dump.zst');
  const seconds = await secondsOf(async () => {
    const dump = spawn(bench.pgDump, dumpArgs(bench, '--compress=0'), {
      env: bench.pgEnv,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const zstdOut = ['-q', '-f', ...(encrypted ? ['-c'] : ['-o', out])];
    const levelArg = level === 'adapt' ? '--adapt' : `-${level}`;
    const compress = spawn(zstd.bin, [levelArg, ...zstd.jobs, ...zstdOut], {
      stdio: [dump.stdout, encrypted ? 'pipe' : 'ignore', 'inherit'],
    });
    // Each program holds its own copy of its pipe; Node's would keep the one before open forever.
    dump.stdout.destroy();
    const programs: ChildProcess[] = [dump, compress];
    if (encrypted && zstd.age && bench.recipient) {
      programs.push(
        spawn(zstd.age, ['-r', bench.recipient, '-o', out], {
          stdio: [compress.stdout, 'ignore', 'inherit'],
        }),
      );
      compress.stdout?.destroy();
    }
    const codes = await Promise.all(
      programs.map((child) => new Promise((resolve) => child.on('close', resolve))),
    );
    if (codes.some((code) => code !== 0))
      throw new Error(`pg_dump | zstd${encrypted ? ' | age' : ''} failed: ${codes.join(', ')}`);
  });
  const bytes = (await stat(out)).size;
  await rm(out);
  return { seconds, bytes };
}

/**
 * The usual script: pg_dump -Fc --compress=9 -f file, then the file uploaded with the AWS SDK's
 * multipart Upload (what `aws s3 cp` does), or copied into a directory.
 */
export async function common(
  bench: Bench,
  round: number,
): Promise<{ s3: number; dir: number; bytes: number }> {
  const file = path.join(bench.work, 'common.dump');
  await rm(file, { force: true });
  const dump = await runTimed(bench.pgDump, dumpArgs(bench, '--compress=9', `--file=${file}`), {
    env: bench.pgEnv,
  });
  const upload = await secondsOf(() =>
    new Upload({
      client: bench.s3client,
      params: { Bucket: BUCKET, Key: `common/${round}.dump`, Body: createReadStream(file) },
    }).done(),
  );
  const copyDir = path.join(bench.work, 'common-copy');
  await mkdir(copyDir, { recursive: true });
  const copy = await secondsOf(() => copyFile(file, path.join(copyDir, 'copy.dump')));
  await rm(copyDir, { recursive: true });
  return { s3: dump.seconds + upload, dir: dump.seconds + copy, bytes: (await stat(file)).size };
}

/** One backup this product made. */
export interface Backup {
  seconds: number;
  peakMb: number;
  bytes: number;
  id: string;
  /** The stored object's key under the store. */
  key: string;
}

/** This product's backup of the bench database, as the command line makes it. */
export async function backup(bench: Bench, variant: Variant): Promise<Backup> {
  const argv = [bench.cli, 'backup', '--name', 'bench'];
  if (variant.store === 's3')
    argv.push('--storage', `s3://${BUCKET}/product`, '--s3-endpoint', bench.s3.endpoint);
  else argv.push('--storage', bench.dirStore);
  if (variant.age) argv.push('--age-recipients', bench.recipient);
  if (variant.level) argv.push('--compression-level', String(variant.level));
  const run = await runTimed(process.execPath, argv, { env: bench.cliEnv, watchMemory: true });
  const out = outputs(run.stdout);
  return {
    seconds: run.seconds,
    peakMb: run.peakMb,
    bytes: Number(out['size-bytes']),
    id: out['backup-id'] ?? '',
    key: out['backup-key'] ?? '',
  };
}

/**
 * This product's restore-test of a plain directory backup: read, sha256-checked, decompressed to
 * a file, pg_restore --jobs 2, every table counted, the scratch database dropped.
 */
export async function restoreTest(
  bench: Bench,
  id: string,
): Promise<Timed & { reportedSeconds: number }> {
  const argv = ['restore-test', '--storage', bench.dirStore, '--name', 'bench'];
  const run = await runTimed(
    process.execPath,
    [bench.cli, ...argv, '--backup-id', id, '--jobs', '2'],
    { env: { ...process.env, BACKUP_ACTION_DATABASE_URL: bench.cluster.url }, watchMemory: true },
  );
  return { ...run, reportedSeconds: Number(outputs(run.stdout)['restore-seconds']) };
}

/**
 * The restore floor, pg_restore --jobs 2 of the uncompressed local archive into a fresh database;
 * then what a restore-test does after its restore, each timed alone: every table counted (one
 * connection, one table after another, as the product does), and the drop.
 */
export async function restoreFloor(
  bench: Bench,
  round: number,
): Promise<{ restore: number; count: number; drop: number }> {
  const name = `restore_floor_${round}`;
  const restore = await secondsOf(async () => {
    await createDatabase(bench.cluster.url, name);
    const flags = ['--jobs=2', '--no-owner', '--no-privileges', '--no-password', '--exit-on-error'];
    await runTimed(bench.pgRestore, [...flags, dbArg(bench, name), bench.rawFile], {
      env: bench.pgEnv,
    });
  });
  const count = await secondsOf(() =>
    withClient(withDatabase(bench.cluster.url, name), countEveryTable),
  );
  const drop = await secondsOf(() => dropDatabase(bench.cluster.url, name));
  return { restore, count, drop };
}

/**
 * A stored backup decompressed into a file by zstd alone, with no Node: pg_restore --jobs needs
 * the whole file before it starts, so no restore-test of it can skip this wait.
 */
export async function decompressAlone(bench: Bench, stored: Backup): Promise<number> {
  if (!bench.zstd) throw new Error('bench: decompressing alone needs zstd');
  const out = path.join(bench.work, 'decompressed.dump');
  const source = path.join(bench.dirStore, stored.key);
  const run = await runTimed(bench.zstd.bin, ['-d', '-q', '-f', source, '-o', out]);
  await rm(out);
  return run.seconds;
}
