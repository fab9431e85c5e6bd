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
