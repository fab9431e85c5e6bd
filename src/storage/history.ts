/**
 * A set's history as stored: the backups (from their manifests) and the records of restore-tests
 * and verifies (from `<name>/history/`). Only what a listing names is read, newest first, and only
 * as far as asked. What is not what it claims (a torn or forged record, one dated ahead of the
 * clock, an unusable backup) is returned by name and never counted.
 */
import {
  judgeRecord,
  isRecord,
  keyOfRecord,
  RECORD_MAX_BYTES,
  serializeRecord,
  type HistoryRecord,
} from '../core/history.js';
import { newestFirst, sameIdSecond } from '../core/ids.js';
import type { RecordMode } from '../core/layout.js';
import type { Unusable } from '../core/status.js';
import type { BackupPoint } from '../core/trends.js';
import { manifestSize, manifestRowCounts } from '../core/manifest.js';
import {
  CLOCK_TOLERANCE_MS,
  inParallel,
  isComplete,
  judgeAll,
  type RecordEntry,
  type SetEntry,
  type UnusableBackup,
} from './catalog.js';
import { ObjectTooLarge, type Store } from './index.js';

/** Charts and trends look this far back: a month of nightly runs. */
export const HISTORY_LENGTH = 30;

/**
 * The newest `limit` complete backups among `entries` (newest first), oldest first for charts,
 * and the unusable ones met among them.
 */
export async function backupHistory(
  store: Store,
  name: string,
  entries: readonly SetEntry[],
  now: Date,
  limit = HISTORY_LENGTH,
): Promise<{ points: BackupPoint[]; unusable: UnusableBackup[] }> {
  const judged = await judgeAll(store, name, entries.slice(0, limit), now);
  const points = judged.filter(isComplete).map(({ manifest }) => {
    const counted = manifestRowCounts(manifest).filter((counts) => counts !== undefined);
    const rows = counted.flatMap((counts) => Object.values(counts));
    return {
      id: manifest.id,
      createdAt: manifest.createdAt,
      sizeBytes: manifestSize(manifest),
      durationSeconds: (Date.parse(manifest.completedAt) - Date.parse(manifest.createdAt)) / 1000,
      ...(counted.length ? { rows: rows.reduce((sum, n) => sum + n, 0) } : {}),
    };
  });
  const unusable = judged.filter((one): one is UnusableBackup => !isComplete(one));
  // Oldest first, in the one order of backups: the listing's id order splits no second right.
  return { points: points.sort((a, b) => newestFirst(b, a)), unusable };
}

/**
 * The newest `limit` records of `mode` among `entries` (newest first), oldest first, and every
 * unusable one met on the way. Records are read a batch at a time, only as far as needed. A key
 * names its run's second and a random suffix, so runs of one second are ordered by their records'
 * start times: a batch takes in every record of its last second.
 */
export async function readRecords(
  store: Store,
  name: string,
  entries: readonly RecordEntry[],
  mode: RecordMode,
  now: Date,
  limit = HISTORY_LENGTH,
): Promise<{ records: HistoryRecord[]; unusable: Unusable[] }> {
  const ofMode = entries.filter((entry) => entry.mode === mode);
  const records: HistoryRecord[] = [];
  const unusable: Unusable[] = [];
  for (let start = 0; start < ofMode.length && records.length < limit;) {
    const end = endOfSecond(ofMode, Math.min(start + limit, ofMode.length));
    const batch = ofMode.slice(start, end);
    const judged = await inParallel(batch, (entry) => readRecord(store, name, entry, now));
    for (const one of judged) {
      if (isRecord(one)) records.push(one.record);
      else unusable.push(one);
    }
    start = end;
  }
  return { records: records.sort(newestRunFirst).slice(0, limit).reverse(), unusable };
}

/** Records as `readRecords` gives them, with `record` (when there is one) in its place among them. */
export function withRecord(
  records: readonly HistoryRecord[],
  record: HistoryRecord | undefined,
  limit = HISTORY_LENGTH,
): HistoryRecord[] {
  const others = records.filter((one) => one.id !== record?.id);
  return [...others, ...(record ? [record] : [])].sort(newestRunFirst).slice(0, limit).reverse();
}

/** `end`, moved past the entries (newest first) of the same second as the one before it. */
function endOfSecond(entries: readonly RecordEntry[], end: number): number {
  const last = entries[end - 1]!.id;
  let past = end;
  while (past < entries.length && sameIdSecond(entries[past]!.id, last)) past += 1;
  return past;
}

/** By the second its id names (which a record's times must agree with), then by its start. */
function newestRunFirst(a: HistoryRecord, b: HistoryRecord): number {
  if (!sameIdSecond(a.id, b.id)) return a.id < b.id ? 1 : -1;
  return Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1);
}

async function readRecord(store: Store, name: string, entry: RecordEntry, now: Date) {
  const key = { key: entry.key, name, id: entry.id, mode: entry.mode };
  const tooLarge = {
    key: entry.key,
    problem: `torn record ${entry.key}: larger than ${RECORD_MAX_BYTES} bytes, not read`,
  };
  if (entry.size > RECORD_MAX_BYTES) return tooLarge;
  let bytes: Buffer;
  try {
    bytes = await store.read(entry.key, RECORD_MAX_BYTES);
  } catch (error) {
    if (error instanceof ObjectTooLarge) return tooLarge;
    throw error;
  }
  return judgeRecord(key, bytes.toString('utf8'), now, CLOCK_TOLERANCE_MS);
}

/** Writes a run's record under its own key, whole. */
export async function writeRecord(store: Store, record: HistoryRecord): Promise<string> {
  const key = keyOfRecord(record);
  await store.put(key, serializeRecord(record));
  return key;
}
