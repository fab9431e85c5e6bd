/**
 * A parsed database connection in the forms its users need: printable (the password as `***`),
 * for another database on the same server, and as the libpq string the programs take.
 */
import type { DatabaseTarget } from '../core/settings.js';

type DatabaseParts = Omit<DatabaseTarget, 'display'> & { scheme?: string };

/** The target with its printable form: the password shown as `***`. */
export function withDisplay({ scheme = 'postgresql:', ...parts }: DatabaseParts): DatabaseTarget {
  const host = parts.host.startsWith('/')
    ? encodeURIComponent(parts.host)
    : parts.host.includes(':')
      ? `[${parts.host}]`
      : parts.host;
  const auth = `${encodeURIComponent(parts.user)}${parts.password === undefined ? '' : ':***'}@`;
  const query = new URLSearchParams(parts.params).toString();
  const display = `${scheme}//${auth}${host}:${parts.port}/${encodeURIComponent(parts.database)}${query ? `?${query}` : ''}`;
  return { ...parts, display };
}

/** The same server with another database, e.g. the scratch database of a restore test. */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  const { display, ...parts } = target;
  const scheme = /^[a-z]+:/.exec(display)?.[0];
  return withDisplay({ ...parts, database, scheme });
}

/**
 * The connection as one libpq keyword/value string, every value quoted: pg_dump and pg_restore
 * take it as `--dbname` and cannot read a database named `a=b` or `postgres://x` as another
 * connection string. The password is not in it (it reaches them through PGPASSWORD).
 */
export function connectionString(target: DatabaseTarget): string {
  const pairs: [string, string | number][] = [
    ['host', target.host],
    ['port', target.port],
    ['user', target.user],
    ['dbname', target.database],
    ...Object.entries(target.params),
  ];
  return pairs.map(([key, value]) => `${key}=${quoteValue(String(value))}`).join(' ');
}

function quoteValue(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}
