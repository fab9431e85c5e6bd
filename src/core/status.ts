/**
 * A set at a glance: its newest backup in each store, the age of it, its last restore-test and
 * verify, its size trend and what retention will do next; and what needs attention. One set's
 * status is one row of the table that `status` shows for a whole store and the fleet workflow
 * for every set it runs. Pure: modes/status.ts gathers the figures from the stores.
 */
import { formatDuration } from './duration.js';
import { formatBytes, formatCount, formatSeconds } from './format.js';
import { isBackupId } from './ids.js';
import { isValidSetName } from './layout.js';
import { isObject } from './manifest.js';
import type { Table } from './types.js';

/** The newest complete backup of the set in one store. */
export interface StoreView {
  /** Where: `s3://bucket/prefix` or a folder; never a secret. */
  store: string;
  /** Complete backups counted. */
  backups: number;
  newestId?: string;
  ageSeconds?: number;
  sizeBytes?: number;
}

/** The last run of restore-test or verify-latest, from its record. */
export interface LastRun {
  at: string;
  ok: boolean;
  backupId?: string;
  problem?: string;
  restoreSeconds?: number;
  rows?: number;
}

export interface SetStatus {
  name: string;
  /** Nothing needs attention. */
  ok: boolean;
  /** What needs attention, one line each: why `ok` is false. */
  problems: string[];
  /** The result of the runs this status follows (a nightly chain), when given. */
  outcome?: string;
  stores: StoreView[];
  lastRestoreTest?: LastRun;
  lastVerify?: LastRun;
  /** `15.1 KiB ▁▂▃▅ +2%`. */
  sizeTrend: string;
  /** What retention-prune would do now with the keep-* inputs given. */
  retention?: { keep: number; delete: string[] };
  /** The first UNUSABLE_SHOWN keys found and not counted (torn, forged, dated ahead), with why. */
  unusable: Unusable[];
  /** How many keys were not counted, those shown and those left out. */
  unusableCount: number;
}

export interface Unusable {
  key: string;
  problem: string;
}

/**
 * The most not-counted keys a set's status lists. A store may hold any number of them (a flood of
 * torn records); the `status` output, the report file and the summary must stay within GitHub's
 * limits (1 MB of outputs per job) whatever it holds, so the rest is only counted.
 */
export const UNUSABLE_SHOWN = 20;

/** The not-counted keys `all` as a status lists them: the first few, and how many. */
export function unusableOf(
  all: readonly Unusable[],
): Pick<SetStatus, 'unusable' | 'unusableCount'> {
  return { unusable: all.slice(0, UNUSABLE_SHOWN), unusableCount: all.length };
}

/** What makes a set need attention, from what was found. Pure. */
export function setProblems(
  status: Omit<SetStatus, 'ok' | 'problems'>,
  maxAgeMs: number,
  failedOutcome: boolean,
): string[] {
  const problems: string[] = [];
  if (failedOutcome) problems.push(`nightly run: ${status.outcome}`);
  for (const view of status.stores) {
    if (view.newestId === undefined) problems.push(`no complete backup in ${view.store}`);
    else if ((view.ageSeconds ?? 0) * 1000 > maxAgeMs)
      problems.push(
        `newest backup is ${formatDuration((view.ageSeconds ?? 0) * 1000)} old (max-age ${formatDuration(maxAgeMs)})${status.stores.length > 1 ? ` in ${view.store}` : ''}`,
      );
  }
  for (const [what, run] of [
    ['restore-test', status.lastRestoreTest],
    ['verify-latest', status.lastVerify],
  ] as const)
    if (run && !run.ok)
      problems.push(`last ${what} failed: ${run.problem ?? 'no reason recorded'}`);
  return problems;
}

/** The newest backup over every store: the one a restore would take first. */
export function newestView(status: SetStatus): StoreView | undefined {
  return status.stores.find((view) => view.newestId !== undefined);
}

/** `passed 3h ago: 12.3 s, 1,203 rows` or `FAILED 3h ago: …`; `none recorded`. */
export function lastRunText(run: LastRun | undefined, now: Date): string {
  if (!run) return 'none recorded';
  const ago = `${formatDuration(Math.max(0, now.getTime() - Date.parse(run.at)))} ago`;
  if (!run.ok) return `FAILED ${ago}: ${run.problem ?? 'no reason recorded'}`;
  const figures = [
    run.restoreSeconds === undefined ? undefined : formatSeconds(run.restoreSeconds),
    run.rows === undefined ? undefined : `${formatCount(run.rows)} rows`,
  ].filter(Boolean);
  return `passed ${ago}${figures.length ? `: ${figures.join(', ')}` : ''}`;
}

/** One row per set: the table of `status` over a whole store, and of the fleet workflow. */
export function statusTable(title: string, sets: readonly SetStatus[], now: Date): Table {
  const withRetention = sets.some((status) => status.retention);
  return {
    title,
    header: [
      'set',
      'outcome',
      'newest backup',
      'age',
      'size (trend)',
      'last restore-test',
      ...(withRetention ? ['retention next'] : []),
    ],
    rows: sets.map((status) => {
      const newest = newestView(status);
      return [
        status.name,
        status.ok ? '✅ ok' : `❌ ${status.problems.join('; ')}`,
        newest?.newestId ?? 'none',
        newest?.ageSeconds === undefined ? '' : formatDuration(newest.ageSeconds * 1000),
        status.sizeTrend,
        lastRunText(status.lastRestoreTest, now),
        ...(withRetention ? [retentionText(status)] : []),
      ];
    }),
  };
}

export function retentionText(status: SetStatus): string {
  if (!status.retention) return '';
  const { keep, delete: doomed } = status.retention;
  return doomed.length ? `keep ${keep}, delete ${doomed.length}` : `keep ${keep}, delete none`;
}

/** The newest backup in each store, one row each. */
export function storesTable(status: SetStatus): Table {
  return {
    title: 'Newest backup per store',
    header: ['store', 'newest backup', 'age', 'size', 'backups listed'],
    rows: status.stores.map((view) => [
      view.store,
      view.newestId ?? 'none',
      view.ageSeconds === undefined ? '' : formatDuration(view.ageSeconds * 1000),
      view.sizeBytes === undefined ? '' : formatBytes(view.sizeBytes),
      formatCount(view.backups),
    ]),
  };
}

/**
 * A set's status read back from a report file (the fleet's): checked field by field, as anything
 * read from outside is, so that a hand-edited file can neither break the table nor pass as a
 * set it is not. Undefined when it is not a status.
 */
export function parseSetStatus(value: unknown): SetStatus | undefined {
  if (!isObject(value) || typeof value.name !== 'string' || !isValidSetName(value.name))
    return undefined;
  if (typeof value.ok !== 'boolean' || !isTexts(value.problems)) return undefined;
  if (!value.ok && value.problems.length === 0) return undefined;
  if (!Array.isArray(value.stores) || !value.stores.every(isStoreView)) return undefined;
  if (typeof value.sizeTrend !== 'string' || !Array.isArray(value.unusable)) return undefined;
  if (!optionalText(value.outcome)) return undefined;
  for (const run of [value.lastRestoreTest, value.lastVerify])
    if (run !== undefined && !isLastRun(run)) return undefined;
  const retention = value.retention;
  if (
    retention !== undefined &&
    !(isObject(retention) && isCount(retention.keep) && isTexts(retention.delete))
  )
    return undefined;
  const unusable = value.unusable.filter(
    (item): item is Unusable =>
      isObject(item) && typeof item.key === 'string' && typeof item.problem === 'string',
  );
  // A report of an earlier release lists every key and no count.
  const count = isCount(value.unusableCount) ? value.unusableCount : 0;
  return {
    ...(value as unknown as SetStatus),
    ...unusableOf(unusable),
    unusableCount: Math.max(count, unusable.length),
  };
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isTexts = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const optionalText = (value: unknown): boolean => value === undefined || typeof value === 'string';
const optionalCount = (value: unknown): boolean => value === undefined || isCount(value);

function isStoreView(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.store === 'string' &&
    isCount(value.backups) &&
    (value.newestId === undefined ||
      (typeof value.newestId === 'string' && isBackupId(value.newestId))) &&
    optionalCount(value.ageSeconds) &&
    optionalCount(value.sizeBytes)
  );
}

function isLastRun(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.at === 'string' &&
    !Number.isNaN(Date.parse(value.at)) &&
    typeof value.ok === 'boolean' &&
    optionalText(value.problem) &&
    (value.backupId === undefined ||
      (typeof value.backupId === 'string' && isBackupId(value.backupId))) &&
    optionalCount(value.restoreSeconds) &&
    optionalCount(value.rows)
  );
}
