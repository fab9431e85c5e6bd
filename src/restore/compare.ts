/** Row counts after a restore against the counts recorded at backup time. Pure. */
import { printableName } from '../core/database-names.js';
import { formatCount } from '../core/format.js';
import { manifestKey } from '../core/layout.js';
import { countsMap, ManifestError, type DatabasePart } from '../core/manifest.js';
import type { Table } from '../core/types.js';
import { bareKey, hasEntry, type ArchiveToc } from '../postgres/toc.js';

export type TableStatus =
  | 'match'
  | 'differs'
  /** In the manifest and in the archive, but not in the restored database. */
  | 'missing'
  /** Restored with rows the manifest did not count. */
  | 'unexpected'
  /** The manifest counted it, but the archive does not hold it: never so in a backup's own manifest. */
  | 'not-in-archive'
  /** In the archive without its rows (`--exclude-table-data`, unlogged tables). */
  | 'data-not-dumped'
  /** The target's own table, which the backup does not hold (restore into an existing database). */
  | 'not-in-backup';

export interface TableComparison {
  table: string;
  /** The manifest's count. */
  expected: number | undefined;
  /** The restored database's count. */
  found: number | undefined;
  status: TableStatus;
}

export interface Comparison {
  tables: TableComparison[];
  /** The tables that fail the comparison: differs, missing, unexpected. */
  differing: TableComparison[];
}

export interface CompareOptions {
  /** What the archive holds; without it, every table is compared as the manifest records it. */
  toc?: ArchiveToc;
  /**
   * Whether a restored table the backup does not account for fails the comparison (a scratch
   * database holds nothing else) or is the target's own (a restore into an existing database).
   */
  strangersFail: boolean;
}

const FAILING: ReadonlySet<TableStatus> = new Set(['differs', 'missing', 'unexpected']);

/** Every table in either list, sorted by name, with the tables that differ. */
/** The manifest's row counts, when they are exact: estimates are no standard for a restore. */
export function exactCounts(part: DatabasePart): Record<string, number> | undefined {
  return part.backup.rowCountsMode === 'exact' ? part.rowCounts : undefined;
}

export function compareCounts(
  recorded: Record<string, number>,
  foundIn: Record<string, number>,
  options: CompareOptions,
): Comparison {
  // Without a prototype, a key such as `constructor` is a table like any other, never a function.
  const found = countsMap(Object.entries(foundIn));
  const expected = withCurrentKeys(recorded, found);
  const toc = trustedToc(expected, found, options);
  const names = [...new Set([...Object.keys(expected), ...Object.keys(found)])].sort();
  const tables = names.map((table) => {
    const row = { table, expected: expected[table], found: found[table] };
    return { ...row, status: statusOf(row, toc, options.strangersFail) };
  });
  return { tables, differing: tables.filter((row) => FAILING.has(row.status)) };
}

/**
 * The restored counts against the manifest's exact ones (or against themselves, when it has none);
 * a manifest counting a table its archive does not hold is refused as corrupt.
 */
export function compareWithManifest(
  part: DatabasePart,
  found: Record<string, number>,
  options: CompareOptions,
): Comparison {
  const comparison = compareCounts(exactCounts(part) ?? found, found, options);
  refuseCountsOutsideArchive(comparison, manifestKey(part.backup.name, part.backup.id));
  return comparison;
}

/**
 * A count for a table the archive does not hold: the backup never counts what its dump leaves
 * out, so the manifest is not the one the backup wrote (hand-edited, or another's).
 */
function refuseCountsOutsideArchive(comparison: Comparison, manifestKey: string): void {
  const outside = comparison.tables.filter((row) => row.status === 'not-in-archive');
  if (outside.length === 0) return;
  const named = outside.slice(0, 5).map((row) => row.table);
  const more = outside.length > named.length ? `, and ${outside.length - named.length} more` : '';
  throw new ManifestError(
    manifestKey,
    `rowCounts counts ${outside.length} table(s) the archive does not hold: ${named.join(', ')}${more}`,
  );
}

/**
 * A manifest written before keys were quoted names `public.x.y` what is now `public."x.y"`: each
 * such key takes the quoted key of the one restored table it can mean. A key that could mean two
 * tables, or whose table the manifest also names quoted, stays as it was (and fails the compare).
 */
function withCurrentKeys(
  expected: Record<string, number>,
  found: Record<string, number>,
): Record<string, number> {
  const byBareKey = new Map<string, string[]>();
  for (const key of Object.keys(found)) {
    const bare = bareKey(key);
    byBareKey.set(bare, [...(byBareKey.get(bare) ?? []), key]);
  }
  const out = countsMap([]);
  for (const [key, count] of Object.entries(expected)) {
    const candidates = key in found ? [] : (byBareKey.get(key) ?? []);
    const current = candidates.length === 1 ? candidates[0] : undefined;
    out[current !== undefined && !(current in expected) ? current : key] = count;
  }
  return out;
}

/**
 * The table of contents, when it accounts for the tables restored from it; a listing this code
 * cannot read (an owner name with spaces) must not excuse tables from the comparison.
 */
function trustedToc(
  expected: Record<string, number>,
  found: Record<string, number>,
  options: CompareOptions,
): ArchiveToc | undefined {
  const { toc, strangersFail } = options;
  if (!toc) return undefined;
  const fromArchive = Object.keys(found).filter((table) => strangersFail || table in expected);
  return fromArchive.every((table) => hasEntry(toc, 'TABLE', table)) ? toc : undefined;
}

function statusOf(
  row: Omit<TableComparison, 'status'>,
  toc: ArchiveToc | undefined,
  strangersFail: boolean,
): TableStatus {
  const { table, expected, found } = row;
  if (toc && !hasEntry(toc, 'TABLE', table)) {
    return found === undefined ? 'not-in-archive' : 'not-in-backup';
  }
  if (toc && !hasEntry(toc, 'TABLE DATA', table)) return 'data-not-dumped';
  if (found === undefined) return 'missing';
  if (expected === undefined) return strangersFail || toc ? 'unexpected' : 'not-in-backup';
  return expected === found ? 'match' : 'differs';
}

/** `sales.orders: expected 3000, found 0` / `… missing after restore` / `… not in the manifest`. */
export function describeDifference(row: TableComparison): string {
  const table = printableName(row.table);
  if (row.found === undefined) return `${table}: expected ${row.expected}, missing after restore`;
  if (row.expected === undefined) return `${table}: found ${row.found}, not in the manifest`;
  return `${table}: expected ${row.expected}, found ${row.found}`;
}

/** One line for the failure: the first few tables that differ, with expected and found. */
export function differenceLine(differing: TableComparison[], shown = 5): string {
  const listed = differing.slice(0, shown).map(describeDifference).join(', ');
  const more = differing.length > shown ? `, and ${differing.length - shown} more` : '';
  return `${differing.length} table(s) differ from the manifest: ${listed}${more}`;
}

const VERDICT: Record<TableStatus, string> = {
  match: '✅',
  differs: '❌',
  missing: '❌ missing',
  unexpected: '❌ not in the manifest',
  'not-in-archive': '❌ not in the archive',
  'data-not-dumped': 'rows not in the dump',
  'not-in-backup': 'not in the backup, left as it was',
};

/**
 * The summary's table of row counts: every table, or beyond `limit` tables only those that are
 * not plain matches; a totals line last.
 */
export function countsTable(comparison: Comparison, limit = 60): Table {
  const { tables } = comparison;
  const shown =
    tables.length > limit ? tables.filter((row) => row.status !== 'match') : [...tables];
  const title =
    shown.length === tables.length
      ? 'Row counts: restored vs manifest'
      : shown.length === 0
        ? `Row counts: all ${formatCount(tables.length)} tables match the manifest`
        : `Row counts: the ${shown.length} of ${formatCount(tables.length)} tables that do not simply match`;
  const cell = (n: number | undefined) => (n === undefined ? '—' : formatCount(n));
  const rows = shown.map((row) => [
    row.table,
    cell(row.expected),
    cell(row.found),
    VERDICT[row.status],
  ]);
  const total = (pick: (row: TableComparison) => number | undefined) =>
    tables.reduce((sum, row) => sum + (pick(row) ?? 0), 0);
  const compared = (row: TableComparison) =>
    row.status === 'match' || FAILING.has(row.status) ? row.expected : 0;
  rows.push([
    `all ${formatCount(tables.length)} tables`,
    formatCount(total(compared)),
    formatCount(total((row) => (row.status === 'not-in-backup' ? 0 : row.found))),
    comparison.differing.length === 0 ? '✅' : `❌ ${comparison.differing.length} differ`,
  ]);
  return { title, header: ['table', 'manifest', 'restored', ''], rows };
}
