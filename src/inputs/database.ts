/**
 * The `database-url` input, parsed once into the one connection every guard checks and every
 * program uses: libpq would also obey query parameters (`dbname`, `user`, `options`, `service`…)
 * that no guard sees, so only parameters that cannot change which database is reached are kept.
 */
import os from 'node:os';
import { InputError } from '../core/errors.js';
import type { DatabaseTarget } from '../core/settings.js';
import { withDisplay } from '../postgres/database-url.js';
import { tlsChoice } from '../postgres/libpq-tls.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';

const ACCEPTED = 'use postgresql://user:password@host:5432/database';

/**
 * libpq parameters that only shape how the connection is made (TLS, timeouts, the name shown in
 * pg_stat_activity), never where it goes, as whom, or what the session does.
 */
const SAFE_PARAMETERS: ReadonlySet<string> = new Set([
  'application_name',
  'connect_timeout',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslcrl',
  'sslnegotiation',
  'channel_binding',
  'gssencmode',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
]);

/** Parameters refused for a reason of their own, named in the one line that refuses them. */
const REFUSED_PARAMETERS: Readonly<Record<string, string>> = {
  sslpassword:
    'would show in the process list of pg_dump and pg_restore, which take the connection on their command line; use a key file without a passphrase, readable only by the user that runs the backup',
};

/** `host` and `port` may come as parameters (a socket folder has no URL spelling) but not twice. */
const PLACE_PARAMETERS = ['host', 'port'] as const;

export interface DatabaseInput {
  target: DatabaseTarget;
  /** Every spelling of the password (decoded, as written, as encoded) and the whole URL. */
  secrets: string[];
}

export function readDatabaseUrl(
  inputs: Inputs,
  name: InputName,
  { databaseOptional = false } = {},
): DatabaseInput {
  const value = inputs.text(name);
  if (value === '') throw new InputError(name, `is required; ${ACCEPTED}`);
  // The value may hold a password, so no message below quotes any part of it.
  const fail: Fail = (what) => {
    throw new InputError(name, `${what}; ${ACCEPTED}`);
  };
  const { url, authority } = splitUrl(value, fail);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    fail(`has the scheme "${url.protocol}"`);
  }
  if (url.hash !== '') fail('has a "#" part (write a "#" in the database name as %23)');
  const params = readParameters(url, fail);
  try {
    tlsChoice(params, inputs.env);
  } catch (error) {
    throw new InputError(name, (error as Error).message);
  }
  const host = placeOf('host', decode(authority.host, fail), params, fail);
  if (host === '') fail('names no host');
  // libpq tries each host of a list in turn; the pg driver, which runs the checks, takes one.
  if (host.includes(',')) fail('names several hosts; give one');
  const portText = placeOf('port', authority.port, params, fail) || '5432';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    fail('has a port outside 1-65535');
  }
  const database = decode(url.pathname.replace(/^\//, ''), fail);
  if (database === '' && !databaseOptional) fail('names no database');
  const password = authority.password === undefined ? undefined : decode(authority.password, fail);
  const target = withDisplay({
    scheme: url.protocol,
    host,
    port: Number(portText),
    // Named here, not left to each client's default (the pg driver and libpq differ on PGUSER).
    user: authority.user === '' ? localUser(fail) : decode(authority.user, fail),
    password,
    database: database || 'postgres',
    params,
  });
  return {
    target,
    secrets: password === undefined ? [] : passwordForms(value, encoded(password), password),
  };
}

/** A URL holding `password` as the WHATWG parser encodes it: another spelling to mask. */
function encoded(password: string): URL {
  const url = new URL('postgresql://host');
  url.password = password;
  return url;
}

type Fail = (what: string) => never;

/** The URL's user, password, host and port as written (still %-encoded). */
interface Authority {
  user: string;
  password?: string;
  host: string;
  port: string;
}

/**
 * The authority read as libpq reads it (RFC 3986 with libpq's additions: `user@` with no host,
 * `h1:5432,h2:5433`), the rest by the WHATWG parser: it refuses both, so it is given a stand-in
 * host. The userinfo ends at the first `@`, as in libpq.
 */
function splitUrl(value: string, fail: Fail): { url: URL; authority: Authority } {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/s.exec(value);
  if (!match) return fail('is not a valid URL');
  const [, scheme = '', written = '', rest = ''] = match;
  const at = written.indexOf('@');
  const userinfo = at < 0 ? undefined : written.slice(0, at);
  const hostspec = written.slice(at + 1);
  let url: URL;
  try {
    url = new URL(`${scheme}//host${rest}`);
  } catch {
    return fail('is not a valid URL');
  }
  if (hostspec.includes(',')) fail('names several hosts; give one');
  const place = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(hostspec);
  if (!place) return fail('is not a valid URL');
  const colon = userinfo?.indexOf(':') ?? -1;
  return {
    url,
    authority: {
      user: colon < 0 ? (userinfo ?? '') : (userinfo ?? '').slice(0, colon),
      ...(colon < 0 || userinfo?.length === colon + 1
        ? {}
        : { password: userinfo?.slice(colon + 1) }),
      host: (place[1] ?? '').replace(/^\[(.*)\]$/, '$1'),
      port: place[2] ?? '',
    },
  };
}

function readParameters(url: URL, fail: Fail): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    const refused = REFUSED_PARAMETERS[key];
    if (refused !== undefined) fail(`has the parameter "${key}", which ${refused}`);
    if (!SAFE_PARAMETERS.has(key) && !(PLACE_PARAMETERS as readonly string[]).includes(key)) {
      fail(
        `has the parameter "${key}", which could change the database, role or session the programs use; put the user, password and database in the URL itself, and keep only ${[...SAFE_PARAMETERS].join(', ')}`,
      );
    }
    if (key in params) fail(`gives the parameter "${key}" twice`);
    params[key] = value;
  }
  return params;
}

/** The host or port, from the URL's authority or from its parameter, but not from both. */
function placeOf(
  key: (typeof PLACE_PARAMETERS)[number],
  fromAuthority: string,
  params: Record<string, string>,
  fail: Fail,
): string {
  const fromParameter = params[key];
  delete params[key];
  if (fromParameter === undefined) return fromAuthority;
  if (fromAuthority !== '') fail(`gives the ${key} twice (in the URL and as ?${key}=)`);
  return fromParameter;
}

function localUser(fail: Fail): string {
  try {
    return os.userInfo().username;
  } catch {
    return fail("names no user, and this machine's user has no name");
  }
}

function decode(text: string, fail: Fail): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('has a malformed %-escape');
  }
}

/** The password as given, as the URL re-encoded it, and decoded: any of them could be printed. */
export function passwordForms(value: string, url: URL, password: string): string[] {
  const written = /^[^:]+:\/\/[^:@/]*:([^@/]*)@/.exec(value)?.[1];
  const forms = [password, url.password, encodeURIComponent(password), written, value];
  return [...new Set(forms.filter((form): form is string => Boolean(form)))];
}
