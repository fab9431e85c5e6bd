/**
 * `pg-dump-args` read the way pg_dump's getopt_long reads them, so a guard holds for every
 * spelling: any unambiguous prefix of a long option (`--fil=x` is `--file=x`), short options with
 * their value attached or in the next argument (`-fx`, `-f x`), and short flags run together
 * (`-vFp`). Pure.
 */

interface PgDumpOption {
  long: string;
  short?: string;
  /** Whether it takes a value (none of pg_dump's options takes an optional one). */
  value: boolean;
}

const option = (long: string, value: boolean, short?: string): PgDumpOption => ({
  long,
  value,
  short,
});

/**
 * Every long option of pg_dump 10 to 18, the union over those majors: a prefix that is unique
 * here is unique, or unknown, to any of them, so it never means another option to pg_dump.
 */
const OPTIONS: readonly PgDumpOption[] = [
  option('data-only', false, 'a'),
  option('blobs', false, 'b'),
  option('large-objects', false, 'b'),
  option('no-blobs', false, 'B'),
  option('no-large-objects', false, 'B'),
  option('clean', false, 'c'),
  option('create', false, 'C'),
  option('dbname', true, 'd'),
  option('extension', true, 'e'),
  option('encoding', true, 'E'),
  option('file', true, 'f'),
  option('format', true, 'F'),
  option('host', true, 'h'),
  option('jobs', true, 'j'),
  option('schema', true, 'n'),
  option('exclude-schema', true, 'N'),
  option('oids', false, 'o'),
  option('no-owner', false, 'O'),
  option('port', true, 'p'),
  option('no-reconnect', false, 'R'),
  option('schema-only', false, 's'),
  option('superuser', true, 'S'),
  option('table', true, 't'),
  option('exclude-table', true, 'T'),
  option('username', true, 'U'),
  option('verbose', false, 'v'),
  option('version', false, 'V'),
  option('no-password', false, 'w'),
  option('password', false, 'W'),
  option('no-privileges', false, 'x'),
  option('no-acl', false, 'x'),
  option('compress', true, 'Z'),
  option('help', false, '?'),
  option('attribute-inserts', false),
  option('binary-upgrade', false),
  option('column-inserts', false),
  option('disable-dollar-quoting', false),
  option('disable-triggers', false),
  option('enable-row-security', false),
  option('exclude-extension', true),
  option('exclude-table-and-children', true),
  option('exclude-table-data', true),
  option('exclude-table-data-and-children', true),
  option('extra-float-digits', true),
  option('filter', true),
  option('if-exists', false),
  option('include-foreign-data', true),
  option('inserts', false),
  option('load-via-partition-root', false),
  option('lock-wait-timeout', true),
  option('no-comments', false),
  option('no-data', false),
  option('no-policies', false),
  option('no-publications', false),
  option('no-schema', false),
  option('no-security-labels', false),
  option('no-statistics', false),
  option('no-subscriptions', false),
  option('no-sync', false),
  option('no-synchronized-snapshots', false),
  option('no-table-access-method', false),
  option('no-tablespaces', false),
  option('no-toast-compression', false),
  option('no-unlogged-table-data', false),
  option('on-conflict-do-nothing', false),
  option('quote-all-identifiers', false),
  option('restrict-key', true),
  option('role', true),
  option('rows-per-insert', true),
  option('section', true),
  option('sequence-data', false),
  option('serializable-deferrable', false),
  option('snapshot', true),
  option('statistics', false),
  option('statistics-only', false),
  option('strict-names', false),
  option('sync-method', true),
  option('table-and-children', true),
  option('use-set-session-authorization', false),
  option('with-data', false),
  option('with-schema', false),
  option('with-statistics', false),
];

/**
 * What backup-action decides itself: where the archive goes and in what format (custom, to its
 * own stream), which server and database (database-url), the snapshot the row counts share;
 * and what would make pg_dump print something else than an archive or wait for a prompt.
 */
const REFUSED: ReadonlySet<string> = new Set([
  'file',
  'format',
  'jobs',
  'dbname',
  'host',
  'port',
  'username',
  'snapshot',
  'password',
  'version',
  'help',
]);

/** One argument as pg_dump understands it. */
export interface ResolvedArgument {
  /** As the user wrote it. */
  given: string;
  option?: PgDumpOption;
  value?: string;
  problem?: string;
}

/** Resolves the arguments as pg_dump would; the first one it refuses, described, or undefined. */
export function refusedPgDumpArgument(args: readonly string[]): string | undefined {
  for (const resolved of resolvePgDumpArgs(args)) {
    if (resolved.problem) return `"${resolved.given}" ${resolved.problem}`;
    const name = resolved.option?.long;
    if (name && REFUSED.has(name)) {
      const spelled = resolved.given === `--${name}` ? '' : ` (pg_dump reads it as --${name})`;
      return `"${resolved.given}"${spelled} is set by backup-action`;
    }
  }
  return undefined;
}

export function resolvePgDumpArgs(args: readonly string[]): ResolvedArgument[] {
  const out: ResolvedArgument[] = [];
  for (let at = 0; at < args.length; at += 1) {
    const given = args[at] ?? '';
    // The next argument, when the option takes a value and none was attached.
    const next = () => {
      at += 1;
      return args[at];
    };
    if (given === '--') {
      out.push({ given, problem: 'ends pg_dump’s options: what follows would name the database' });
    } else if (given.startsWith('--')) out.push(resolveLong(given, next));
    else if (given.startsWith('-') && given.length > 1) out.push(...resolveShort(given, next));
    else {
      out.push({ given, problem: 'is not an option: pg_dump would take it as the database' });
    }
  }
  return out;
}

function resolveLong(given: string, next: () => string | undefined): ResolvedArgument {
  const [name = '', ...rest] = given.slice(2).split('=');
  const attached = rest.length > 0 ? rest.join('=') : undefined;
  const exact = OPTIONS.find((candidate) => candidate.long === name);
  const matches = exact ? [exact] : OPTIONS.filter((candidate) => candidate.long.startsWith(name));
  const meanings = new Set(matches.map((match) => match.short ?? match.long));
  if (matches.length === 0) return { given, problem: 'is not a pg_dump option' };
  const chosen = matches[0];
  if (!chosen || meanings.size > 1) {
    const names = matches.map((match) => `--${match.long}`).join(', ');
    return { given, problem: `is ambiguous to pg_dump (${names})` };
  }
  if (!chosen.value) {
    if (attached !== undefined) return { given, problem: 'takes no value' };
    return { given, option: chosen };
  }
  return { given, option: chosen, value: attached ?? next() };
}

function resolveShort(given: string, next: () => string | undefined): ResolvedArgument[] {
  const out: ResolvedArgument[] = [];
  for (let at = 1; at < given.length; at += 1) {
    const letter = given[at];
    const found = OPTIONS.find((candidate) => candidate.short === letter);
    if (!found) return [...out, { given, problem: `has -${letter}, not a pg_dump option` }];
    if (found.value) {
      const attached = given.slice(at + 1);
      return [...out, { given, option: found, value: attached === '' ? next() : attached }];
    }
    out.push({ given, option: found });
  }
  return out;
}
