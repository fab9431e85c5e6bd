// The records of bench-results/latest.json: what a run measured, read back by `--render`.

/** A backup of this product that the bench times: where it stores, and how. */
export type VariantKey = 'dir' | 'dir-age' | 's3' | 's3-age' | 'dir-level-1';
/** A no-Node `pg_dump | zstd [| age]` pipeline at a compression level. */
export type ReferenceKey = `zstd-pipe-${number}` | `zstd-age-pipe-${number}`;
export type RestoreKey =
  'restore-floor' | 'restore-test' | 'restore-decompress' | 'restore-count' | 'restore-drop';
export type RunKey = 'floor' | ReferenceKey | 'common-dir' | 'common-s3' | VariantKey | RestoreKey;

export interface Machine {
  nproc: number;
  cpu: string;
  memoryGb: number;
  os: string;
}

/** One run's times over the rounds, and what it is worth against its floor. */
export interface TimingRow {
  key: RunKey;
  what: string;
  /** The median of `all`. */
  seconds: number;
  all: number[];
  /** Against the floor (pg_dump alone), or for restore rows against the restore floor. */
  ratio: number;
  outputBytes?: number;
  /** The whole machine's busy core-seconds during the run (median, and each round's). */
  cpuSeconds?: number;
  cpuAll?: number[];
  /** The common script's time over this run's, against the same kind of store. */
  fasterThanCommon?: number;
  sizeVsCommon?: number;
  /** restore-test's own `restore-seconds` output. */
  reportedSeconds?: number;
  reportedRatio?: number;
  /** A part of a restore-test, timed alone. */
  part?: true;
}

export interface MemoryRow {
  key: VariantKey | 'restore-test';
  what: string;
  peakMb: number;
  peakMbDouble?: number;
  secondsDouble?: number;
  /** peakMbDouble over peakMb, less one. */
  change?: number;
}

export interface RequestRow {
  mode: string;
  keys?: number;
  counts: Record<string, number>;
  total: number;
  minimum?: number;
  minimumIs?: string;
  seconds?: number;
}

export interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean;
  /** What the machine allows: the least the no-Node references show a run can take. */
  bound?: string;
}

export interface Report {
  date: string;
  machine: Machine;
  node: string;
  postgres: string;
  cli: string;
  sizeMb: number;
  rounds: number;
  backups: number;
  database: { bytes: number; units: number; doubledBytes?: number };
  timings: TimingRow[];
  memory: MemoryRow[];
  requests: RequestRow[];
  targets?: Target[];
}

/** The key of a no-Node reference pipeline's row. */
export function referenceKey(level: number, encrypted: boolean): ReferenceKey {
  return encrypted ? `zstd-age-pipe-${level}` : `zstd-pipe-${level}`;
}

/** The row of `key`, when the run measured it. */
export function timing(report: Pick<Report, 'timings'>, key: RunKey): TimingRow | undefined {
  return report.timings.find((row) => row.key === key);
}
