/**
 * The reports of the modes that work on a backup, the same for every kind: the kind adds its
 * rows (kind.ts), these put them around what every backup has (its set, id, size, layers and
 * times), and a failure carries the report as it stood.
 */
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { formatBytes, formatCount, formatRate, formatSeconds } from '../core/format.js';
import { manifestSize, type AnyManifest } from '../core/manifest.js';
import { ModeFailure, type ModeResult, type Table } from '../core/types.js';
import type { Published } from '../pipeline/publish.js';
import type { Phases } from '../restore/phases.js';
import type { BackupRows, DeepCheck, Fact, KindRows, KindRun, RestoreRows } from './kind.js';

const sizeFact = (size: number): Fact => [
  'Size',
  `${formatBytes(size)} (${formatCount(size)} bytes)`,
];

export function backupReport(
  published: Published<AnyManifest>,
  holds: string,
  rows: BackupRows,
  seconds: number,
): ModeResult {
  const { manifest, stored } = published;
  const size = manifestSize(manifest);
  const counted = stored.map((one) => one.rawBytes);
  // Known only when Node saw every source's bytes (zstd's program reads pg_dump unseen).
  const rawBytes = counted.every((bytes) => bytes !== undefined)
    ? counted.reduce((sum, bytes) => sum + bytes, 0)
    : undefined;
  return {
    headline: `Backed up ${manifest.name}/${manifest.id} (${holds}): ${formatBytes(size)} in ${formatSeconds(seconds)}`,
    outputs: {
      'backup-id': manifest.id,
      'backup-key': rows.key,
      'manifest-key': published.manifestKey,
      'size-bytes': size,
      ...(rows.sha256 === undefined ? {} : { sha256: rows.sha256 }),
      'duration-seconds': Number(seconds.toFixed(3)),
    },
    facts: [
      ['Set', manifest.name],
      ['Backup id', manifest.id],
      ...rows.where,
      sizeFact(size),
      ['Compression', compressionFact(manifest.compression, rawBytes, size)],
      ['Encryption', manifest.encryption],
      ['Duration', formatSeconds(seconds)],
      [
        'Throughput',
        rawBytes === undefined
          ? `${formatRate(size, seconds)} stored`
          : formatRate(rawBytes, seconds),
      ],
      ...rows.facts,
    ],
    tables: rows.tables,
    details: { manifest, rawBytes, durationSeconds: seconds },
  };
}

/** The ratio, when the bytes before compression were counted. */
function compressionFact(compression: string, rawBytes: number | undefined, size: number): string {
  if (rawBytes === undefined || size === 0) return compression;
  return `${compression}, ${(rawBytes / size).toFixed(2)}× (${formatBytes(rawBytes)} before)`;
}

export interface Verified {
  manifest: AnyManifest;
  holds: string;
  ageMs: number;
  /** The newest backups of the set, as listed. */
  trend: Table;
  /** Whether a deep check was asked for. */
  deep: boolean;
  rows: KindRows;
  /** What the deep check found, once it ran. */
  found?: DeepCheck;
}

export function verifyReport({
  manifest,
  holds,
  ageMs,
  trend,
  deep,
  rows,
  found,
}: Verified): ModeResult {
  const size = manifestSize(manifest);
  const passed = found && found.damaged.length === 0 ? found : undefined;
  const skipped: Fact[] = deep ? [] : [['Deep check', 'skipped (deep: false)']];
  const verified = passed
    ? `, ${passed.checked.size > 1 ? 'every checksum and archive' : 'checksum and archive'} verified`
    : '';
  return {
    headline: `Newest backup ${manifest.name}/${manifest.id} (${holds}) is ${formatDuration(ageMs)} old${verified}`,
    outputs: {
      'latest-id': manifest.id,
      'age-seconds': Math.round(ageMs / 1000),
      'size-bytes': size,
    },
    facts: [
      ['Set', manifest.name],
      ['Newest backup', manifest.id],
      ['Age', formatDuration(ageMs)],
      sizeFact(size),
      ['Format', `${manifest.format}, ${manifest.compression}, encryption ${manifest.encryption}`],
      ...rows.facts,
      ...(passed ? passed.facts : skipped),
    ],
    tables: [trend, ...rows.tables],
    details: { manifest, ageSeconds: Math.round(ageMs / 1000), contents: found?.contents },
  };
}

/** restore-test and restore: the backup, the recovery time, and what the kind restored. */
export function restoreReport(
  manifest: AnyManifest,
  holds: string,
  phases: Phases,
  rows: RestoreRows,
): ModeResult {
  const seconds = phases.totalSeconds();
  const encryption =
    manifest.encryption === 'none' ? 'not encrypted' : `${manifest.encryption}-encrypted`;
  const made = `made ${manifest.createdAt}, ${holds}, ${formatBytes(manifestSize(manifest))}, ${encryption}`;
  return {
    headline: `Backup ${manifest.name}/${manifest.id} ${rows.done} in ${formatSeconds(seconds)}: ${rows.summary}`,
    outputs: {
      'backup-id': manifest.id,
      ...rows.outputs,
      'restore-seconds': Number(seconds.toFixed(3)),
    },
    facts: [
      ['Set', manifest.name],
      ['Backup', `${manifest.id} (${made})`],
      ...rows.facts,
      ['Recovery time', formatSeconds(seconds)],
    ],
    tables: [phases.table(), ...rows.tables],
    details: { manifest, ...rows.details, restoreSeconds: seconds, phases: phases.record() },
  };
}

/** Runs `work`; a failure carries `report()`, the report as it stood then. */
export async function reporting<T>(
  work: () => Promise<T>,
  report: () => Partial<ModeResult>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ModeFailure) throw error;
    throw new ModeFailure(errorMessage(error), report(), error);
  }
}

/** A restore or restore-test to its end: a failure, or a problem found once done, fails it. */
export async function finishRun(run: KindRun, report: () => ModeResult): Promise<ModeResult> {
  await reporting(() => run.run(), report);
  const result = report();
  const problems = run.problems();
  // What the restore found (rows that differ, a failed check) is a finding: never run again.
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), result, undefined, true);
  return result;
}
