/** What copies report, alike from the copy mode and from a backup with copy-to. Pure. */
import { formatLag } from '../core/lag.js';
import { formatCount } from '../core/format.js';
import type { Table } from '../core/types.js';
import type { StoreCopied } from './index.js';
import type { CopyResult } from './to-store.js';

const count = (copy: StoreCopied, result: CopyResult) =>
  copy.backups.filter((backup) => backup.result === result).length;

/** One row per store: what was copied, left, failed, and how far behind it is now. */
export function storesTable(copies: readonly StoreCopied[]): Table {
  return {
    title: 'Copies',
    header: ['store', 'copied', 'already there', 'failed', 'attempts', 'lag'],
    rows: copies.map((copy) => [
      copy.store,
      formatCount(count(copy, 'copied')),
      formatCount(count(copy, 'already there')),
      copy.error ? `store: ${copy.error}` : formatCount(count(copy, 'failed')),
      formatCount(copy.attempts),
      formatLag(copy.lagMs),
    ]),
  };
}

/** Each backup copied or not copied, with why; those left as they were are only counted. */
export function changesTable(copies: readonly StoreCopied[]): Table {
  return {
    title: 'Backups copied or failed',
    header: ['store', 'backup', 'result', 'why'],
    rows: copies.flatMap((copy) =>
      copy.backups
        .filter((backup) => backup.result !== 'already there')
        .map((backup) => [copy.store, backup.id, backup.result, backup.detail ?? '']),
    ),
  };
}

/** The copies as the report output keeps them: no error objects, lag in seconds. */
export function copiesDetails(copies: readonly StoreCopied[]) {
  return copies.map(({ store, backups, error, attempts, lagMs }) => ({
    store,
    backups,
    ...(error ? { error } : {}),
    attempts,
    lagSeconds: Math.round(lagMs / 1000),
  }));
}

/** Backups of one result (copied, already there), all stores together. */
export function resultCount(copies: readonly StoreCopied[], result: CopyResult): number {
  return copies.reduce((sum, copy) => sum + count(copy, result), 0);
}
