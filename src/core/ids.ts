/** Backup ids: the UTC start time and a random suffix, so sorting ids as strings sorts by time. */
import { randomBytes } from 'node:crypto';

export const ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newBackupId(now: Date, random: () => Buffer = () => randomBytes(3)): string {
  return `${stamp(now)}-${random().toString('hex').slice(0, 6)}`;
}

/** `20260102T030405Z`: the id's time part. */
function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** `YYYYMMDDTHHMMSSZ`: the part of an id that is its start time, to the second. */
const ID_TIME_LENGTH = 16;

/** Whether two ids were started in the same second: their time parts are one. */
export function sameIdSecond(one: string, other: string): boolean {
  return one.slice(0, ID_TIME_LENGTH) === other.slice(0, ID_TIME_LENGTH);
}

export function isBackupId(text: string): boolean {
  return ID_PATTERN.test(text);
}

/** The start time an id encodes, or undefined when the id is not well formed. */
export function idTime(id: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/.exec(id);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  // Date.UTC rolls a month 13 or a second 60 over into the next unit: such an id names no time.
  return !Number.isNaN(date.getTime()) && id.startsWith(stamp(date)) ? date : undefined;
}

/**
 * When a backup started: its id's second, refined by its manifest's milliseconds where the two
 * agree. Ids of one second sort by their random suffix; this orders them as they were made, as
 * `latest` does. A manifest dated in another second is not believed over the id.
 */
export function startedAt(id: string, createdAt: string): Date | undefined {
  const second = idTime(id);
  if (!second) return undefined;
  const precise = Date.parse(createdAt);
  return Math.floor(precise / 1000) * 1000 === second.getTime() ? new Date(precise) : second;
}
