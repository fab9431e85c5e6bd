/**
 * The trends of a set, as charts: size and duration of its last backups (from their manifests),
 * recovery time and rows of its last restore-tests (from their records). Pure.
 */
import { bytesScale, pointLabels, secondsScale, sparkline, type Chart } from './chart.js';
import { formatBytes } from './format.js';
import type { HistoryRecord } from './history.js';

/** One complete backup, as its manifest tells it. */
export interface BackupPoint {
  id: string;
  createdAt: string;
  sizeBytes: number;
  durationSeconds: number;
  /** Rows the manifest records, every database together; none when no count was taken. */
  rows?: number;
}

/** Size and duration of the backups given (oldest first); none for fewer than two. */
export function backupCharts(points: readonly BackupPoint[]): Chart[] {
  const size = sizeChart(points);
  if (!size) return [];
  const durations = points.map((point) => point.durationSeconds);
  const time = secondsScale(durations);
  return [
    size,
    {
      title: `Backup duration, last ${points.length} backups`,
      unit: time.unit,
      labels: size.labels,
      values: durations.map((seconds) => seconds / time.divisor),
      style: 'line',
    },
  ];
}

/** The size of the backups given (oldest first); none for fewer than two. */
export function sizeChart(
  points: readonly Pick<BackupPoint, 'createdAt' | 'sizeBytes'>[],
): Chart | undefined {
  if (points.length < 2) return undefined;
  const sizes = points.map((point) => point.sizeBytes);
  const scale = bytesScale(sizes);
  return {
    title: `Backup size, last ${points.length} backups`,
    unit: scale.unit,
    labels: pointLabels(points.map((point) => ({ iso: point.createdAt }))),
    values: sizes.map((bytes) => bytes / scale.divisor),
    style: 'bar',
  };
}

/**
 * Recovery time and rows of the restore-tests given (oldest first); a test that failed is marked
 * ✗ and shows what it measured before it failed (0 when nothing).
 */
export function restoreCharts(records: readonly HistoryRecord[]): Chart[] {
  if (records.length < 2) return [];
  const labels = pointLabels(
    records.map((record) => ({ iso: record.startedAt, failed: !record.ok })),
  );
  const seconds = records.map((record) => record.figures.restoreSeconds ?? 0);
  const scale = secondsScale(seconds);
  const n = records.length;
  const time: Chart = {
    title: `Recovery time, last ${n} restore-tests`,
    unit: scale.unit,
    labels,
    values: seconds.map((value) => value / scale.divisor),
    style: 'line',
  };
  // Only backups of databases count rows: a set of files has none to draw.
  if (!records.some((record) => record.figures.rows !== undefined)) return [time];
  const rows: Chart = {
    title: `Rows restored, last ${n} restore-tests`,
    unit: 'rows',
    labels,
    values: records.map((record) => record.figures.rows ?? 0),
    style: 'bar',
  };
  return [time, rows];
}

/** `15.1 KiB ▁▂▃▅ +2%`: the newest size, the shape of the last ones, the change from the one before. */
export function sizeTrend(points: readonly BackupPoint[]): string {
  const newest = points.at(-1);
  if (!newest) return '';
  const before = points.at(-2);
  const change =
    before && before.sizeBytes > 0
      ? ` ${signed(((newest.sizeBytes - before.sizeBytes) / before.sizeBytes) * 100)}%`
      : '';
  const shape = points.length > 1 ? ` ${sparkline(points.map((point) => point.sizeBytes))}` : '';
  return `${formatBytes(newest.sizeBytes)}${shape}${change}`;
}

function signed(percent: number): string {
  const rounded = Math.abs(percent) >= 10 ? percent.toFixed(0) : percent.toFixed(1);
  return percent >= 0 ? `+${rounded}` : rounded;
}
