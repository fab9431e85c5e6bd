/**
 * Key counts after a restore against the snapshot's. A key with a time to live may have expired
 * since the backup (Redis drops it as it loads or restores it), so each database must hold every
 * key that does not expire, and at most every key: exact where the snapshot can say, and a loss
 * of keys that never expire is always caught.
 */
import { formatCount } from '../../core/format.js';
import type { RdbRecord } from '../../core/manifest.js';
import type { Table } from '../../core/types.js';

export interface KeyComparison {
  rows: { db: number; keys: number; expires: number; restored: number; result: string }[];
  differing: string[];
}

export function compareKeys(
  recorded: RdbRecord,
  restored: ReadonlyMap<number, number>,
): KeyComparison {
  const dbs = [...new Set([...recorded.databases.map(({ db }) => db), ...restored.keys()])].sort(
    (a, b) => a - b,
  );
  const rows = dbs.map((db) => {
    const { keys = 0, expires = 0 } = recorded.databases.find((one) => one.db === db) ?? {};
    const found = restored.get(db) ?? 0;
    const gone = keys - found;
    const result =
      gone === 0
        ? 'match'
        : gone > 0 && gone <= expires
          ? `match (${gone} expired since)`
          : 'DIFFERS';
    return { db, keys, expires, restored: found, result };
  });
  const differing = rows
    .filter((row) => row.result === 'DIFFERS')
    .map(
      (row) =>
        `db${row.db}: ${row.keys} keys in the snapshot (${row.expires} expiring), ${row.restored} restored`,
    );
  return { rows, differing };
}

export function keysTable(comparison: KeyComparison): Table {
  return {
    title: 'Keys per database',
    header: ['database', 'in the snapshot', 'expiring', 'restored', 'result'],
    rows: comparison.rows.map((row) => [
      `db${row.db}`,
      formatCount(row.keys),
      formatCount(row.expires),
      formatCount(row.restored),
      row.result,
    ]),
  };
}

export function differenceLine(differing: string[]): string {
  return `key counts differ from the backup's: ${differing.join('; ')}`;
}
