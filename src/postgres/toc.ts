/**
 * An archive's table of contents as `pg_restore --list` prints it. Pure. It tells which tables the
 * dump holds and which of them it holds rows for: `pg-dump-args` such as `--exclude-table`,
 * `--schema` or `--exclude-table-data` leave tables out of the archive that the manifest still
 * counted, and those must not fail a restore.
 */

export interface ArchiveToc {
  /** The archive format version from the header, e.g. `1.14-0`. */
  formatVersion?: string;
  /** `Dumped by pg_dump version`, e.g. `15.18`. */
  dumpedBy?: string;
  /** `Dumped from database version`, e.g. `15.18`. */
  dumpedFrom?: string;
  /** Each entry without its ids and its owner: `TABLE DATA public customers`. */
  entries: Set<string>;
}

const ENTRY = /^\d+; \d+ \d+ (.+)$/;

export function parseToc(listing: string): ArchiveToc {
  const toc: ArchiveToc = { entries: new Set() };
  for (const line of listing.split('\n')) {
    const entry = ENTRY.exec(line);
    // The owner ends the line (role names with spaces are not supported here).
    if (entry?.[1]) toc.entries.add(entry[1].slice(0, entry[1].lastIndexOf(' ')));
    else if (line.startsWith(';')) readHeaderLine(toc, line);
  }
  return toc;
}

function readHeaderLine(toc: ArchiveToc, line: string): void {
  const [, label = '', value = ''] = /^;\s+([^:]+):\s*(.*)$/.exec(line) ?? [];
  const version = value.split(' ')[0];
  if (label === 'Dump Version') toc.formatVersion = version;
  else if (label === 'Dumped by pg_dump version') toc.dumpedBy = version;
  else if (label === 'Dumped from database version') toc.dumpedFrom = version;
}

/** Whether the archive has a `kind` entry (`TABLE` or `TABLE DATA`) for the `schema.table` key. */
export function hasEntry(toc: ArchiveToc, kind: 'TABLE' | 'TABLE DATA', key: string): boolean {
  // pg_restore --list prints names unquoted, with line breaks as spaces (its sanitize_line).
  const listed = (name: string) => name.replace(/[\r\n]/g, ' ');
  return keyNames(key).some(([schema, table]) =>
    toc.entries.has(`${kind} ${listed(schema)} ${listed(table)}`),
  );
}

/** `"my schema"."a.b"` → [`my schema`, `a.b`]: an identifier as quote_ident writes it. */
const QUOTED_KEY = /^("(?:[^"]|"")*"|[^".]+)\.("(?:[^"]|"")*"|[^".]+)$/;

/**
 * The schema and table a row-count key names. Keys are written as quote_ident writes names; a
 * manifest from before that wrote them bare, so such a key may split at any of its dots.
 */
export function keyNames(key: string): [string, string][] {
  const quoted = QUOTED_KEY.exec(key);
  if (quoted?.[1] && quoted[2]) {
    return [[unquote(quoted[1]), unquote(quoted[2])]];
  }
  const out: [string, string][] = [];
  for (let at = key.indexOf('.'); at > 0; at = key.indexOf('.', at + 1)) {
    out.push([key.slice(0, at), key.slice(at + 1)]);
  }
  return out;
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}

/** A key as manifests before quoted keys wrote it: `schema.table`, names bare. */
export function bareKey(key: string): string {
  const names = keyNames(key);
  return names.length === 1 && names[0] ? names[0].join('.') : key;
}
