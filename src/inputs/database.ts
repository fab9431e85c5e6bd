/** The `database-url` input: a postgres:// URL whose password must never be printed. */
import { InputError } from '../errors.js';
import type { DatabaseTarget } from '../settings.js';
import type { Inputs } from './reader.js';

const ACCEPTED = 'use postgresql://user:password@host:5432/database';

export function readDatabaseUrl(
  inputs: Inputs,
  name: string,
  { databaseOptional = false } = {},
): DatabaseTarget {
  const value = inputs.text(name);
  if (value === '') throw new InputError(name, `is required; ${ACCEPTED}`);
  // The value may hold a password, so no message below quotes it.
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(name, `is not a valid URL; ${ACCEPTED}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InputError(name, `has the scheme "${url.protocol}"; ${ACCEPTED}`);
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new InputError(name, `names no host; ${ACCEPTED}`);
  }
  const database = safeDecode(url.pathname.replace(/^\//, ''));
  if (database === undefined) {
    throw new InputError(name, `has a malformed database name; ${ACCEPTED}`);
  }
  if (database === '' && !databaseOptional)
    throw new InputError(name, `names no database; ${ACCEPTED}`);
  const password = url.password === '' ? undefined : safeDecode(url.password);
  const display = new URL(url.href);
  if (display.password !== '') display.password = '***';
  return {
    url: url.href,
    display: display.href,
    database: database || 'postgres',
    password,
  };
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The same server with another database, e.g. the scratch database of a restore test. */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  const swap = (href: string) => {
    const url = new URL(href);
    url.pathname = `/${encodeURIComponent(database)}`;
    return url.href;
  };
  return { ...target, url: swap(target.url), display: swap(target.display), database };
}

/** The URL without its password (which reaches programs through PGPASSWORD instead). */
export function urlWithoutPassword(target: DatabaseTarget): string {
  const url = new URL(target.url);
  url.password = '';
  return url.href;
}
