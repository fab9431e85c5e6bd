// The bench's flags: `--name value`, `--name=value`, or `--name` alone for a switch.
import path from 'node:path';

export interface Options {
  /** The database's size before the runs, in MB. */
  sizeMb: number;
  /** Rounds of each run; the default is the bench's own (3, or 15 for --startup). */
  rounds?: number;
  /** How many backups the store request counts are made on. */
  backups: number;
  /** The command-line bundle that is timed. */
  cli: string;
  skipRequests: boolean;
  skipDouble: boolean;
  /** Write the tables into docs/benchmarks.md (`--docs`, or `--readme` as before). */
  docs: boolean;
  /** Print (and with `docs` write) the tables of the last results again, measuring nothing. */
  render: boolean;
  /** Time the single executable's start against the bundle's instead (startup.ts). */
  startup: boolean;
  /** An executable already built (npm run sea) for --startup; by default it is built. */
  executable?: string;
  /** Time the copy mode against a bare GetObject → PutObject stream instead (copy.ts). */
  copy: boolean;
  /** The size of the object the copy bench copies, in MB (default 1024). */
  objectMb?: number;
  /** Time restore-tests of a server backup with jobs 1 and 2 instead (servers.ts). */
  servers: boolean;
  /** How many databases the servers bench makes (default 100). */
  databases?: number;
  /** Time zstd levels against peers' pg_dump -Fc on three databases instead (levels.ts). */
  levels: boolean;
  /** Time restore and restore-test against pg_restore --jobs 2 instead (restores.ts). */
  restore: boolean;
  /** An archive of PostgreSQL's regression database for --levels (scripts/regression-db.sh). */
  regression?: string;
}

const VALUES = [
  'size-mb',
  'rounds',
  'backups',
  'cli',
  'executable',
  'object-mb',
  'databases',
  'regression',
] as const;
const SWITCHES = [
  'skip-requests',
  'skip-double',
  'readme',
  'docs',
  'render',
  'startup',
  'copy',
  'servers',
  'levels',
  'restore',
] as const;
type Flag = (typeof VALUES)[number] | (typeof SWITCHES)[number];

const isFlag = (name: string): name is Flag =>
  (VALUES as readonly string[]).includes(name) || (SWITCHES as readonly string[]).includes(name);

export function parseOptions(argv: readonly string[]): Options {
  const given = new Map<Flag, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`bench: unexpected argument ${arg}`);
    const [name = '', inline] = arg.slice(2).split('=', 2);
    if (!isFlag(name)) {
      throw new Error(
        `bench: unknown flag --${name}; the flags are ${[...VALUES, ...SWITCHES].map((f) => `--${f}`).join(', ')}`,
      );
    }
    const next = argv[i + 1];
    if (inline !== undefined) given.set(name, inline);
    else if (next !== undefined && !next.startsWith('--')) given.set(name, argv[++i] ?? '');
    else given.set(name, true);
  }
  function count(name: (typeof VALUES)[number], fallback: number): number;
  function count(name: (typeof VALUES)[number]): number | undefined;
  function count(name: (typeof VALUES)[number], fallback?: number): number | undefined {
    const value = given.get(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (value === true || !(n > 0)) throw new Error(`bench: --${name} takes a positive number`);
    return n;
  }
  const cli = given.get('cli');
  const executable = given.get('executable');
  const regression = given.get('regression');
  return {
    sizeMb: count('size-mb', 300),
    rounds: count('rounds'),
    backups: count('backups', 20_000),
    cli: path.resolve(typeof cli === 'string' ? cli : 'dist/cli/index.js'),
    skipRequests: given.has('skip-requests'),
    skipDouble: given.has('skip-double'),
    docs: given.has('docs') || given.has('readme'),
    render: given.has('render'),
    startup: given.has('startup'),
    copy: given.has('copy'),
    objectMb: count('object-mb'),
    servers: given.has('servers'),
    levels: given.has('levels'),
    restore: given.has('restore'),
    databases: count('databases'),
    ...(typeof executable === 'string' ? { executable: path.resolve(executable) } : {}),
    ...(typeof regression === 'string' ? { regression: path.resolve(regression) } : {}),
  };
}
