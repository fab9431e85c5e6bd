/**
 * Which tables a dump holds rows of, when `pg-dump-args` select tables: pg_dump itself is asked,
 * with the same patterns, in the same snapshot, for a schema-only table of contents, so exact
 * row counts never scan a table the dump leaves out, whatever the patterns' spelling.
 */
import { resolvePgDumpArgs } from './dump-args.js';

/** The selecting options, passed on to the schema-only probe as given. */
const SELECTING = new Set([
  'table',
  'exclude-table',
  'table-and-children',
  'exclude-table-and-children',
  'schema',
  'exclude-schema',
  'extension',
  'exclude-extension',
  'filter',
  'strict-names',
]);

/** Leaving a table's rows out selects like leaving the table out, for counting. */
const DATA_EXCLUDING: Record<string, string> = {
  'exclude-table-data': 'exclude-table',
  'exclude-table-data-and-children': 'exclude-table-and-children',
};

/** Options after which the dump holds no rows at all. */
const NO_DATA = new Set(['schema-only', 'no-data', 'statistics-only']);

export interface DumpSelection {
  /** Arguments for `pg_dump --schema-only` that list exactly the tables whose rows are dumped. */
  probe?: string[];
  /** The dump holds no rows (`--schema-only`, or `--section` without data). */
  noData: boolean;
  /** `--no-unlogged-table-data`: unlogged tables' rows are left out. */
  noUnloggedData: boolean;
}

export function dumpSelection(args: readonly string[]): DumpSelection {
  const probe: string[] = [];
  let noData = false;
  let noUnloggedData = false;
  const sections = new Set<string>();
  for (const { option, value } of resolvePgDumpArgs(args)) {
    const name = option?.long;
    if (name === undefined) continue;
    const as = DATA_EXCLUDING[name] ?? name;
    if (SELECTING.has(as)) probe.push(value === undefined ? `--${as}` : `--${as}=${value}`);
    if (NO_DATA.has(name)) noData = true;
    if (name === 'no-unlogged-table-data') noUnloggedData = true;
    if (name === 'section' && value !== undefined) sections.add(value);
  }
  if (sections.size > 0 && !sections.has('data')) noData = true;
  return { probe: probe.length > 0 ? probe : undefined, noData, noUnloggedData };
}
