/**
 * A set's history: the record each restore-test and verify-latest run leaves beside the backups
 * (`<name>/history/<run>.<mode>.json`, see layout.ts), and how one read back is judged. Pure.
 *
 * A record holds figures and verdicts, never a secret: the problem that failed a run is
 * redacted before it is written, and no input's value is kept. Like a manifest, a record read
 * back may have been written by anyone with access to the store: it counts only when it is
 * exactly what a run of this set writes for its own key, dated no later than the clock allows.
 */
import { isBackupId, idTime } from './ids.js';
import { recordKey, RECORD_MODES, type RecordMode } from './layout.js';
import { isCount, isIsoTime, isObject, oneOf } from './manifest.js';
import { TOOL } from './version.js';

/** What a run measured; each figure is present only when the run got that far. */
export interface RecordFigures {
  /** restore-test: the recovery time. */
  restoreSeconds?: number;
  /** restore-test: tables restored and compared. */
  tables?: number;
  /** restore-test: rows the restored backup's manifest records (what the comparison checked). */
  rows?: number;
  checksPassed?: number;
  checksFailed?: number;
  /** verify-latest: the newest complete backup's age and size when the run looked. */
  ageSeconds?: number;
  sizeBytes?: number;
}

export const FIGURE_NAMES = [
  'restoreSeconds',
  'tables',
  'rows',
  'checksPassed',
  'checksFailed',
  'ageSeconds',
  'sizeBytes',
] as const satisfies readonly (keyof RecordFigures)[];

export interface HistoryRecord {
  version: 1;
  mode: RecordMode;
  /** The run's own id: its start time to the second and a random suffix, as a backup's id. */
  id: string;
  name: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** The backup the run restored or verified, once it had found one. */
  backupId?: string;
  /** Why the run failed, one line, secrets redacted. */
  problem?: string;
  figures: RecordFigures;
  tool: { name: string; version: string };
}

/** A record is a few hundred bytes; anything much larger was not written by a run. */
export const RECORD_MAX_BYTES = 64 * 1024;
/** The longest problem a record keeps: the summary of that run holds the whole text. */
export const PROBLEM_MAX_CHARS = 500;

/**
 * Characters a record's problem never holds: control characters (line breaks, the terminal's
 * escapes) and the Unicode ones that break or reorder a line. A problem is one line of text that
 * summaries, terminals and alerts show as it is; one that holds these was not written by a run.
 */
const NOT_ONE_LINE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const NOT_ONE_LINE_RUNS = new RegExp(`\\s*(?:${NOT_ONE_LINE.source}\\s*)+`, 'gu');

/** `text` as the one line a record keeps: each run of what NOT_ONE_LINE refuses, one space. */
export const oneLine = (text: string): string => text.replace(NOT_ONE_LINE_RUNS, ' ').trim();

export function serializeRecord(record: HistoryRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** A record's key, from the record itself. */
export const keyOfRecord = (record: HistoryRecord): string =>
  recordKey(record.name, record.id, record.mode);

/** The record a run of `key` left, or why what is stored there is not one. */
export type JudgedRecord =
  { key: string; record: HistoryRecord } | { key: string; problem: string };

export const isRecord = (judged: JudgedRecord): judged is { key: string; record: HistoryRecord } =>
  'record' in judged;

/**
 * Judges the text stored under a record's key: a record of this set, this mode and this run
 * (what the key says), well formed, its times agreeing with its id, and none of it ahead of
 * `now` by more than `toleranceMs`.
 */
export function judgeRecord(
  key: { key: string; name: string; id: string; mode: RecordMode },
  text: string,
  now: Date,
  toleranceMs: number,
): JudgedRecord {
  const ahead = aheadProblem(key.key, key.id, now, toleranceMs);
  if (ahead) return { key: key.key, problem: ahead };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { key: key.key, problem: `torn record ${key.key}: not valid JSON` };
  }
  if (isObject(value) && typeof value.version === 'number' && value.version > 1) {
    return {
      key: key.key,
      problem: `record ${key.key} is of version ${value.version}, written by a newer backup-action; this one (${TOOL.version}) reads version 1: it is not counted`,
    };
  }
  const problem = shapeProblem(value) ?? ownershipProblem(value as HistoryRecord, key);
  if (problem) return { key: key.key, problem: `${problem[0]} record ${key.key}: ${problem[1]}` };
  const record = value as HistoryRecord;
  const finished = Date.parse(record.finishedAt);
  if (finished > now.getTime() + toleranceMs) {
    return {
      key: key.key,
      problem: `record ${key.key} says its run finished at ${record.finishedAt}, ahead of this machine's clock (${now.toISOString()})`,
    };
  }
  return { key: key.key, record };
}

/** A record whose key is dated ahead of the clock: known from the key alone, before any read. */
export function aheadProblem(
  key: string,
  id: string,
  now: Date,
  toleranceMs: number,
): string | undefined {
  const time = idTime(id);
  if (time && time.getTime() <= now.getTime() + toleranceMs) return undefined;
  return `record ${key} is dated ${time?.toISOString() ?? id}, ahead of this machine's clock (${now.toISOString()}): it is not counted`;
}

type Problem = readonly ['torn' | 'forged', string];

function shapeProblem(r: unknown): Problem | undefined {
  if (!isObject(r)) return ['torn', 'not a JSON object'];
  if (r.version !== 1) return ['torn', 'unsupported version'];
  if (!oneOf(r.mode, RECORD_MODES)) return ['torn', 'bad mode'];
  if (typeof r.id !== 'string' || !isBackupId(r.id)) return ['torn', 'bad id'];
  if (typeof r.name !== 'string') return ['torn', 'bad name'];
  if (!isIsoTime(r.startedAt) || !isIsoTime(r.finishedAt))
    return ['torn', 'bad startedAt/finishedAt'];
  if (typeof r.ok !== 'boolean') return ['torn', 'bad ok'];
  if (r.backupId !== undefined && !(typeof r.backupId === 'string' && isBackupId(r.backupId)))
    return ['torn', 'bad backupId'];
  if (
    r.problem !== undefined &&
    !(
      typeof r.problem === 'string' &&
      r.problem.length <= PROBLEM_MAX_CHARS &&
      !NOT_ONE_LINE.test(r.problem)
    )
  )
    return ['torn', 'bad problem (a run writes one line of text)'];
  if (!r.ok && r.problem === undefined) return ['torn', 'a failed run without its problem'];
  if (!isObject(r.tool) || typeof r.tool.name !== 'string' || typeof r.tool.version !== 'string')
    return ['torn', 'bad tool'];
  return figuresProblem(r.figures);
}

function figuresProblem(figures: unknown): Problem | undefined {
  if (!isObject(figures)) return ['torn', 'bad figures'];
  for (const name of FIGURE_NAMES) {
    const value = figures[name];
    const fine =
      name === 'restoreSeconds' || name === 'ageSeconds' ? isSeconds(value) : isCount(value);
    if (value !== undefined && !fine) return ['torn', `bad figures.${name}`];
  }
  return undefined;
}

const isSeconds = (value: unknown): boolean =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** The key says whose record this is; a record that claims otherwise was put there by hand. */
function ownershipProblem(
  r: HistoryRecord,
  key: { name: string; id: string; mode: RecordMode },
): Problem | undefined {
  if (r.name !== key.name) return ['forged', `records set "${r.name}"`];
  if (r.mode !== key.mode) return ['forged', `records a ${r.mode} run`];
  if (r.id !== key.id) return ['forged', `records run ${r.id}`];
  // The id is the start time to the second, as a backup's id is its createdAt's.
  const idMs = idTime(r.id)?.getTime() ?? NaN;
  const started = Date.parse(r.startedAt);
  if (!(started >= idMs && started < idMs + 1000))
    return ['forged', `startedAt ${r.startedAt} disagrees with its id`];
  if (Date.parse(r.finishedAt) < started)
    return ['forged', `finishedAt ${r.finishedAt} is before startedAt`];
  return undefined;
}
