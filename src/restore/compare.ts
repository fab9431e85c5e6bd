/** Row counts after a restore against the counts recorded at backup time. Pure. */

export interface TableComparison {
  table: string;
  expected: number | undefined;
  found: number | undefined;
}

/** Every table in either list, sorted, with the tables that differ (missing, extra, or other counts). */
export function compareCounts(
  expected: Record<string, number>,
  found: Record<string, number>,
): { tables: TableComparison[]; differing: TableComparison[] } {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(found)])].sort();
  const tables = names.map((table) => ({ table, expected: expected[table], found: found[table] }));
  return { tables, differing: tables.filter((row) => row.expected !== row.found) };
}

/** `sales.orders: expected 3000, found 0` / `missing` / `not in the manifest`. */
export function describeDifference(row: TableComparison): string {
  if (row.found === undefined)
    return `${row.table}: expected ${row.expected}, missing after restore`;
  if (row.expected === undefined) return `${row.table}: found ${row.found}, not in the manifest`;
  return `${row.table}: expected ${row.expected}, found ${row.found}`;
}
