/** The freshness and size rules of verify-latest, as pure decisions over figures already read. */
import { quotedName } from '../core/database-names.js';
import { formatDuration } from '../core/duration.js';
import { formatBytes } from '../core/format.js';

export interface Figures {
  ageMs: number;
  /** The newest complete backup's size: listed and recorded alike, or it would not be complete. */
  size: number;
  /** The previous complete backup's size, when there is one. */
  previousSize?: number;
}

export interface Limits {
  maxAgeMs: number;
  minSize?: number;
  /** The largest accepted drop against the previous backup, as a fraction. */
  maxShrink: number;
}

/** Every rule the newest backup breaks, each as one line, most fundamental first. */
export function brokenRules(figures: Figures, limits: Limits): string[] {
  const problems: string[] = [];
  if (figures.ageMs > limits.maxAgeMs) {
    problems.push(
      `the newest backup is ${formatDuration(figures.ageMs)} old, older than max-age ${formatDuration(limits.maxAgeMs)}: backups may have stopped`,
    );
  }
  const size = figures.size;
  if (limits.minSize !== undefined && size < limits.minSize) {
    problems.push(`it is ${formatBytes(size)}, below min-size ${formatBytes(limits.minSize)}`);
  }
  const shrink = shrinkage(size, figures.previousSize);
  if (shrink !== undefined && shrink > limits.maxShrink) {
    problems.push(
      `it shrank ${percent(shrink)} against the previous backup (${formatBytes(figures.previousSize ?? 0)} → ${formatBytes(size)}), more than max-shrink ${percent(limits.maxShrink)}`,
    );
  }
  return problems;
}

/** How much smaller than the previous backup (0.8 = 80% smaller); undefined without one. */
export function shrinkage(size: number, previousSize: number | undefined): number | undefined {
  if (previousSize === undefined || previousSize === 0) return undefined;
  return Math.max(0, 1 - size / previousSize);
}

/** A signed change in size, for the trend table: `+2.1%`, `-80.0%`, or `` for the oldest shown. */
export function sizeChange(size: number, previousSize: number | undefined): string {
  if (previousSize === undefined || previousSize === 0) return '';
  const change = (size - previousSize) / previousSize;
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}

/** One database of a server backup: its exact name and its object's size. */
export interface DatabaseSize {
  name: string;
  size: number;
}

export interface DatabaseChanges {
  /** One line per database that shrank more than max-shrink, naming it. */
  shrank: string[];
  /** Databases of the previous backup that the newest one does not hold. */
  gone: string[];
}

/**
 * Each database against the same database (by exact name) in the previous backup: a whole
 * backup can hold its size while one of its databases is emptied, and a dropped database (or one
 * `databases` no longer selects) shows only here.
 */
export function databaseChanges(
  newest: readonly DatabaseSize[],
  previous: readonly DatabaseSize[],
  maxShrink: number,
): DatabaseChanges {
  const before = new Map(previous.map((database) => [database.name, database.size]));
  const shrank = newest.flatMap(({ name, size }) => {
    const previousSize = before.get(name);
    const shrink = shrinkage(size, previousSize);
    if (shrink === undefined || shrink <= maxShrink) return [];
    return [
      `database ${quotedName(name)} shrank ${percent(shrink)} against the previous backup (${formatBytes(previousSize ?? 0)} → ${formatBytes(size)}), more than max-shrink ${percent(maxShrink)}`,
    ];
  });
  const names = new Set(newest.map((database) => database.name));
  const gone = previous.map((database) => database.name).filter((name) => !names.has(name));
  return { shrank, gone };
}
