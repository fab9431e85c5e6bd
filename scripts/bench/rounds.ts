// The rounds of timed runs, and the timing and memory rows made of their medians.
import { rm } from 'node:fs/promises';
import { busyDuring, log, median } from './measure.ts';
import { referenceKey, type MemoryRow, type RunKey, type TimingRow } from './results.ts';
import {
  backup,
  common,
  decompressAlone,
  dumpRaw,
  floor,
  reference,
  restoreFloor,
  restoreTest,
  settle,
  VARIANTS,
  type Backup,
  type Bench,
  type Reference,
  type Variant,
} from './runs.ts';

/** One run's measurements over the rounds. */
interface Series {
  seconds: number[];
  /** The machine's busy core-seconds during each, for the runs whose CPU cost the tables show. */
  cpu: number[];
  peakMb: number[];
  /** The size of what the run wrote, in bytes (the same each round). */
  bytes?: number;
}

const series = (): Series => ({ seconds: [], cpu: [], peakMb: [] });

/** Everything the rounds measure, a series per run. */
export interface Samples {
  floor: Series;
  references: { reference: Reference; series: Series }[];
  commonDir: Series;
  commonS3: Series;
  variants: { variant: Variant; series: Series }[];
  restoreFloor: Series;
  restoreTest: Series;
  /** restore-test's own `restore-seconds` output. */
  restoreReported: number[];
  decompress: Series;
  count: Series;
  drop: Series;
}

/** A round's state: its number, and its plain directory backup once made. */
interface Round {
  number: number;
  plain?: Backup;
}

type Step = (round: Round) => Promise<void>;

/** The runs that the installed programs allow: the references need zstd, and age for the last. */
function referencesFor(bench: Bench): Reference[] {
  if (!bench.zstd) return [];
  const plain = [
    { level: 3, encrypted: false },
    { level: 1, encrypted: false },
  ];
  return bench.zstd.age ? [...plain, { level: 3, encrypted: true }] : plain;
}

/** Runs `count` rounds of every run; returns what they measured. */
export async function measureRounds(bench: Bench, count: number): Promise<Samples> {
  const s: Samples = {
    floor: series(),
    references: referencesFor(bench).map((ref) => ({ reference: ref, series: series() })),
    commonDir: series(),
    commonS3: series(),
    variants: VARIANTS.map((variant) => ({ variant, series: series() })),
    restoreFloor: series(),
    restoreTest: series(),
    restoreReported: [],
    decompress: series(),
    count: series(),
    drop: series(),
  };
  s.floor.bytes = await dumpRaw(bench);

  // The dump-side runs of a round. Each round starts one further along this list, and so do the
  // restore-side runs, so that no run always follows the same one: what a heavy run leaves behind
  // (writeback, page cache it displaced) lands on a different run each round.
  const dumpSide: Step[] = [
    async () => {
      s.floor.seconds.push((await busyDuring(s.floor.cpu, () => floor(bench))).seconds);
    },
    ...s.references.map(({ reference: ref, series: into }) => async () => {
      const run = await busyDuring(into.cpu, () => reference(bench, ref));
      into.seconds.push(run.seconds);
      into.bytes = run.bytes;
    }),
    async (round) => {
      const run = await common(bench, round.number);
      s.commonS3.seconds.push(run.s3);
      s.commonDir.seconds.push(run.dir);
      s.commonS3.bytes = s.commonDir.bytes = run.bytes;
    },
    ...s.variants.map(({ variant, series: into }) => async (round: Round) => {
      const made = await busyDuring(into.cpu, () => backup(bench, variant));
      into.seconds.push(made.seconds);
      into.peakMb.push(made.peakMb);
      into.bytes = made.bytes;
      if (variant.key === 'dir') round.plain = made;
    }),
  ];
  const plainOf = (round: Round): Backup => {
    if (!round.plain) throw new Error('bench: the round made no plain directory backup');
    return round.plain;
  };
  const restoreSide: Step[] = [
    async (round) => {
      const run = await restoreFloor(bench, round.number);
      s.restoreFloor.seconds.push(run.restore);
      s.count.seconds.push(run.count);
      s.drop.seconds.push(run.drop);
    },
    // This product's restore-test of the same data: this round's plain directory backup.
    async (round) => {
      const run = await restoreTest(bench, plainOf(round).id);
      s.restoreTest.seconds.push(run.seconds);
      s.restoreTest.peakMb.push(run.peakMb);
      s.restoreReported.push(run.reportedSeconds);
    },
    ...(bench.zstd
      ? [
          async (round: Round) => {
            s.decompress.seconds.push(await decompressAlone(bench, plainOf(round)));
          },
        ]
      : []),
  ];

  for (let number = 1; number <= count; number++) {
    log(`round ${number}/${count}`);
    const round: Round = { number };
    for (const step of rotated(dumpSide, number - 1)) {
      await settle(bench);
      await step(round);
    }
    for (const step of rotated(restoreSide, number)) {
      await settle(bench);
      await step(round);
    }
    const lasts: [string, Series][] = [
      ['floor', s.floor],
      ['common', s.commonDir],
      ...s.variants.map(({ variant, series: from }): [string, Series] => [variant.key, from]),
      ['restore floor', s.restoreFloor],
      ['restore-test', s.restoreTest],
    ];
    log(
      `  ${lasts.map(([name, from]) => `${name} ${from.seconds.at(-1)?.toFixed(2)}s`).join(', ')}`,
    );
    // Keep the disk small: only this round's backups are needed.
    await rm(bench.dirStore, { recursive: true, force: true });
  }
  return s;
}

/** The list begun `shift` places along it, wrapping round. */
function rotated<T>(list: readonly T[], shift: number): T[] {
  const at = shift % list.length;
  return [...list.slice(at), ...list.slice(0, at)];
}

/** The timing rows of the rounds' medians, against the floor and the common script. */
export function timingRows(s: Samples, zstdJobs: readonly string[]): TimingRow[] {
  const floorSeconds = median(s.floor.seconds);
  const restoreFloorSeconds = median(s.restoreFloor.seconds);
  const commonBytes = s.commonDir.bytes ?? Number.NaN;
  const row = (key: RunKey, what: string, from: Series, base = floorSeconds): TimingRow => {
    const seconds = median(from.seconds);
    return {
      key,
      what,
      seconds,
      all: from.seconds,
      ratio: seconds / base,
      ...(from.bytes === undefined ? {} : { outputBytes: from.bytes }),
      ...(from.cpu.length ? { cpuSeconds: median(from.cpu), cpuAll: from.cpu } : {}),
    };
  };
  const againstCommon = (base: TimingRow, common: Series): TimingRow => ({
    ...base,
    fasterThanCommon: median(common.seconds) / base.seconds,
    sizeVsCommon: (base.outputBytes ?? Number.NaN) / commonBytes,
  });
  const script = 'common script: pg_dump -Fc --compress=9 -f file, then';
  const parts: [RunKey, string, Series][] = [
    ['restore-decompress', 'zstd -d of the stored backup → file (no Node)', s.decompress],
    ['restore-count', "count(*) of every table of the floor's restore", s.count],
    ['restore-drop', "DROP DATABASE of the floor's restore", s.drop],
  ];
  return [
    row('floor', 'floor: pg_dump -Fc -Z0 → /dev/null', s.floor),
    ...s.references.map(({ reference: { level, encrypted }, series: from }) =>
      againstCommon(
        row(
          referenceKey(level, encrypted),
          `reference: pg_dump -Fc -Z0 \\| zstd -${level} ${zstdJobs.join(' ')}${encrypted ? ' \\| age -r' : ''} → file (no Node)`,
          from,
        ),
        s.commonDir,
      ),
    ),
    row('common-dir', `${script} copied to a directory`, s.commonDir),
    row('common-s3', `${script} uploaded to S3 (SDK multipart)`, s.commonS3),
    ...s.variants.map(({ variant, series: from }) =>
      againstCommon(
        row(variant.key, variant.label, from),
        variant.store === 's3' ? s.commonS3 : s.commonDir,
      ),
    ),
    {
      key: 'restore-floor',
      what: 'restore floor: pg_restore --jobs 2, uncompressed local archive',
      seconds: restoreFloorSeconds,
      all: s.restoreFloor.seconds,
      ratio: 1,
    },
    {
      ...row(
        'restore-test',
        'this product: restore-test --jobs 2 (download, sha256, zstd -d, restore, count rows, drop)',
        s.restoreTest,
        restoreFloorSeconds,
      ),
      reportedSeconds: median(s.restoreReported),
      reportedRatio: median(s.restoreReported) / restoreFloorSeconds,
    },
    ...parts
      .filter(([, , from]) => from.seconds.length > 0)
      .map(([key, what, from]): TimingRow => ({
        ...row(key, `restore part, alone: ${what}`, from, restoreFloorSeconds),
        part: true,
      })),
  ];
}

/** Peak memory of each backup at the default level, and of restore-test: the highest of the rounds. */
export function memoryRows(s: Samples): MemoryRow[] {
  return [
    ...s.variants
      .filter(({ variant }) => !variant.level)
      .map(({ variant, series: from }) => ({
        key: variant.key,
        what: variant.label,
        peakMb: Math.max(...from.peakMb),
      })),
    {
      key: 'restore-test',
      what: 'this product: restore-test',
      peakMb: Math.max(...s.restoreTest.peakMb),
    },
  ];
}
