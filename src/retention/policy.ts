/**
 * The keep-policy of `retention-prune` as pure logic: given backups and a policy, which are kept
 * and by which rules. No I/O and no clock: everything is relative to the newest backup, so the
 * same inputs always give the same answer (restic's `forget` semantics).
 */
import { byStartNewestFirst } from '../core/ids.js';
import type { KeepPolicy } from '../core/settings.js';

export type KeepRule =
  'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'within' | 'newest';

export type BucketRule = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

export interface Candidate {
  id: string;
  createdAt: Date;
}

export interface Decision {
  id: string;
  createdAt: Date;
  keep: boolean;
  /** Every rule that kept this backup, in the order of `KeepRule`; empty when it is not kept. */
  rules: KeepRule[];
}

const BUCKET_RULES: readonly BucketRule[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const COUNT_RULES = ['last', ...BUCKET_RULES] as const;
const DAY_MS = 86_400_000;

/** False when no rule has a positive value: such a policy would delete all but the newest. */
export function policyHasRule(policy: KeepPolicy): boolean {
  return COUNT_RULES.some((rule) => (policy[rule] ?? 0) > 0) || (policy.withinMs ?? 0) > 0;
}

/** Whether `Intl` knows the time zone (IANA names, case-insensitively, and aliases such as UTC). */
export function isValidTimeZone(name: string): boolean {
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The period of `date` for a bucket rule, in `timeZone`: `2024-11-03T01-04:00` (hourly),
 * `2024-11-03` (daily), `2020-W53` (weekly, ISO week-numbering year), `2024-11` (monthly),
 * `2024` (yearly).
 *
 * The hourly key carries the UTC offset because a fall-back transition repeats a local hour:
 * 01:30 EDT and 01:30 EST are an hour apart and must be two periods, or keep-hourly would keep
 * one backup for two real hours. Days, weeks, months and years are calendar periods, so a 23- or
 * 25-hour day is still one day.
 */
export function periodKey(date: Date, rule: BucketRule, timeZone: string): string {
  assertValidDate(date, 'periodKey');
  return keyOf(localTime(date, timeZone), rule);
}

/**
 * Decides, for every candidate, whether the policy keeps it and why; newest first in the one
 * order of backups (`byStartNewestFirst`: by `createdAt`, then by id), whatever the input order.
 *
 * - `last: N` keeps the N newest.
 * - each bucket rule keeps the newest backup of each of the N most recent periods that have a
 *   backup: a period with no backup does not use up the count.
 * - `withinMs` keeps every backup strictly newer than (newest createdAt - withinMs), like restic.
 * - the newest backup is always kept, with the rule `newest` added to whatever else kept it.
 *
 * Throws when the policy names no rule or has a count that is not a whole number >= 0, when the
 * time zone is unknown, and when a candidate's createdAt is not a valid date: a prune must stop
 * rather than decide from input it cannot read.
 */
export function decide(
  candidates: readonly Candidate[],
  policy: KeepPolicy,
  timeZone: string,
): Decision[] {
  assertUsablePolicy(policy);
  // Fails on an unknown zone even when no bucket rule would need it, so a typo never hides.
  formatterFor(timeZone);
  const sorted = sortNewestFirst(candidates);
  const rules = sorted.map((): KeepRule[] => []);
  const newest = sorted[0];
  if (newest === undefined) return [];

  applyLast(sorted, policy.last ?? 0, rules);
  const local = lazyLocalTimes(sorted, timeZone);
  for (const rule of BUCKET_RULES)
    applyBucket(sorted.length, policy[rule] ?? 0, rule, local, rules);
  applyWithin(sorted, newest.ms, policy.withinMs ?? 0, rules);
  rules[0]?.push('newest');

  return sorted.map(({ candidate }, index) => {
    const kept = rules[index] ?? [];
    return { id: candidate.id, createdAt: candidate.createdAt, keep: kept.length > 0, rules: kept };
  });
}

interface Entry {
  candidate: Candidate;
  ms: number;
}

function sortNewestFirst(candidates: readonly Candidate[]): Entry[] {
  const entries = candidates.map((candidate) => {
    assertValidDate(candidate.createdAt, `backup ${candidate.id}`);
    return { candidate, ms: candidate.createdAt.getTime() };
  });
  return entries.sort((a, b) =>
    byStartNewestFirst({ id: a.candidate.id, ms: a.ms }, { id: b.candidate.id, ms: b.ms }),
  );
}

function applyLast(sorted: readonly Entry[], count: number, rules: KeepRule[][]): void {
  for (let index = 0; index < Math.min(count, sorted.length); index++) rules[index]?.push('last');
}

/**
 * Walks newest to oldest and keeps the first backup seen in each new period. A set of seen keys,
 * rather than restic's "key differs from the previous one", stays right even where local time
 * runs backwards across a period boundary (a fall-back transition at midnight).
 */
function applyBucket(
  length: number,
  count: number,
  rule: BucketRule,
  local: (index: number) => LocalTime,
  rules: KeepRule[][],
): void {
  const seen = new Set<string>();
  for (let index = 0; index < length && seen.size < count; index++) {
    const key = keyOf(local(index), rule);
    if (seen.has(key)) continue;
    seen.add(key);
    rules[index]?.push(rule);
  }
}

/** Relative to the newest backup, not the clock, so a set whose runs stopped is not emptied. */
function applyWithin(
  sorted: readonly Entry[],
  newestMs: number,
  withinMs: number,
  rules: KeepRule[][],
): void {
  if (withinMs <= 0) return;
  sorted.forEach(({ ms }, index) => {
    if (ms > newestMs - withinMs) rules[index]?.push('within');
  });
}

function assertUsablePolicy(policy: KeepPolicy): void {
  for (const rule of COUNT_RULES) {
    const count = policy[rule];
    if (count !== undefined && !(Number.isInteger(count) && count >= 0)) {
      throw new RangeError(`keep-${rule} must be a whole number >= 0, got ${count}`);
    }
  }
  const withinMs = policy.withinMs;
  if (withinMs !== undefined && !(Number.isFinite(withinMs) && withinMs >= 0)) {
    throw new RangeError(`keep-within must be a duration >= 0, got ${withinMs} ms`);
  }
  if (!policyHasRule(policy)) {
    throw new Error(
      'refusing to apply a keep-policy with no rule: it would delete every backup but the newest',
    );
  }
}

function assertValidDate(date: Date, what: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new RangeError(`${what}: createdAt is not a valid date`);
  }
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  /** `+00:00`, `-04:00`, `+05:45`: the UTC offset in force at that instant. */
  offset: string;
}

/** Formatting is the costly step: done only for the backups a bucket rule reaches, once each. */
function lazyLocalTimes(sorted: readonly Entry[], timeZone: string): (index: number) => LocalTime {
  const cache: (LocalTime | undefined)[] = [];
  return (index) => {
    const cached = cache[index];
    if (cached !== undefined) return cached;
    const entry = sorted[index];
    if (entry === undefined) throw new RangeError(`no backup at index ${index}`);
    const computed = localTime(entry.candidate.createdAt, timeZone);
    cache[index] = computed;
    return computed;
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Building an Intl.DateTimeFormat costs far more than using one, and a prune formats thousands. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const cached = formatters.get(timeZone);
  if (cached !== undefined) return cached;
  const created = createFormatter(timeZone);
  formatters.set(timeZone, created);
  return created;
}

function createFormatter(timeZone: string): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      // h23 rather than hour12: false, which some engines render as h24 ("24" at midnight).
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RangeError(
      `unknown time zone "${timeZone}": expected an IANA name such as UTC or Europe/Berlin`,
    );
  }
}

function localTime(date: Date, timeZone: string): LocalTime {
  const local: LocalTime = { year: 0, month: 0, day: 0, hour: 0, offset: '+00:00' };
  for (const { type, value } of formatterFor(timeZone).formatToParts(date)) {
    if (type === 'year' || type === 'month' || type === 'day') local[type] = Number(value);
    // An engine that still says "24" means midnight of the same calendar day.
    else if (type === 'hour') local.hour = Number(value) % 24;
    else if (type === 'timeZoneName') local.offset = offsetOf(value);
  }
  return local;
}

/** `GMT-04:00` to `-04:00`; plain `GMT` (a zero offset) to `+00:00`. */
function offsetOf(timeZoneName: string): string {
  const offset = timeZoneName.replace(/^GMT/, '');
  return offset === '' ? '+00:00' : offset;
}

function keyOf(local: LocalTime, rule: BucketRule): string {
  const year = pad(local.year, 4);
  const date = `${year}-${pad(local.month, 2)}-${pad(local.day, 2)}`;
  switch (rule) {
    case 'hourly':
      return `${date}T${pad(local.hour, 2)}${local.offset}`;
    case 'daily':
      return date;
    case 'weekly':
      return isoWeekKey(local);
    case 'monthly':
      return `${year}-${pad(local.month, 2)}`;
    case 'yearly':
      return year;
  }
}

/** ISO 8601 week: Monday-based, numbered in the year that holds the week's Thursday. */
function isoWeekKey({ year, month, day }: LocalTime): string {
  const dayMs = Date.UTC(year, month - 1, day);
  const mondayBased = (new Date(dayMs).getUTCDay() + 6) % 7;
  const thursday = new Date(dayMs + (3 - mondayBased) * DAY_MS);
  const weekYear = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS / 7) + 1;
  return `${pad(weekYear, 4)}-W${pad(week, 2)}`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
