/**
 * The `redis-url` input: `redis://` or `rediss://` (TLS), an ACL user and password, a host and a
 * port. A Redis backup holds every logical database, so a URL that selects one (`/2`) is refused
 * rather than mistaken for a choice. TLS takes redis-cli's own options as parameters; nothing
 * else is accepted, so every program and the client reach the same server the same way.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { RedisTarget, RedisTls } from '../core/settings.js';
import { passwordForms } from './database.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';

const ACCEPTED =
  'use redis://user:password@host:6379, or rediss:// for TLS (with cacert, cert, key, sni or insecure=true as parameters)';

const TLS_FILES = ['cacert', 'cert', 'key'] as const;
const TLS_PARAMETERS: ReadonlySet<string> = new Set([...TLS_FILES, 'sni', 'insecure']);

export interface RedisInput {
  target: RedisTarget;
  /** Every spelling of the password (decoded, as written, as encoded) and the whole URL. */
  secrets: string[];
}

type Fail = (what: string) => never;

export function readRedisUrl(inputs: Inputs, name: InputName, cwd: string): RedisInput {
  const value = inputs.text(name);
  if (value === '') throw new InputError(name, `is required; ${ACCEPTED}`);
  // The value may hold a password, so no message below quotes any part of it.
  const fail: Fail = (what) => {
    throw new InputError(name, `${what}; ${ACCEPTED}`);
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('is not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    fail(`has the scheme "${url.protocol}"`);
  if (url.hash !== '') fail('has a "#" part');
  const host = decode(url.hostname, fail).replace(/^\[(.*)\]$/, '$1');
  if (host === '') fail('names no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail('has a port outside 1-65535');
  if (url.pathname !== '' && url.pathname !== '/') {
    fail(
      `selects a database (${decode(url.pathname.slice(1), fail)}), but a Redis backup and restore take every database: remove the path`,
    );
  }
  const user = url.username === '' ? undefined : decode(url.username, fail);
  const password = url.password === '' ? undefined : decode(url.password, fail);
  if (user !== undefined && password === undefined) {
    fail(`names the user ${user} without a password`);
  }
  const tls = readTls(url, cwd, fail);
  const shown = `${user === undefined ? '' : encodeURIComponent(user)}${password === undefined ? '' : ':***'}`;
  const target: RedisTarget = {
    host,
    port,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls } : {}),
    display: `${url.protocol}//${shown ? `${shown}@` : ''}${url.host}`,
  };
  return { target, secrets: password === undefined ? [] : passwordForms(value, url, password) };
}

/** The address `confirm` must name: `host:port`, as the URL wrote the host. */
export function redisAddress(target: RedisTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

function readTls(url: URL, cwd: string, fail: Fail): RedisTls | undefined {
  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!TLS_PARAMETERS.has(key)) {
      fail(`has the parameter "${key}"; only ${[...TLS_PARAMETERS].join(', ')} are accepted`);
    }
    if (params.has(key)) fail(`gives the parameter "${key}" twice`);
    params.set(key, value);
  }
  if (url.protocol === 'redis:') {
    if (params.size > 0) fail('has TLS parameters without TLS (write rediss://)');
    return undefined;
  }
  const insecure = params.get('insecure');
  if (insecure !== undefined && insecure !== 'true' && insecure !== 'false') {
    fail('has insecure that is neither true nor false');
  }
  if (params.has('cert') !== params.has('key')) fail('gives only one of cert and key (give both)');
  const tls: RedisTls = { insecure: insecure === 'true' };
  for (const key of TLS_FILES) {
    const file = params.get(key);
    if (file === undefined) continue;
    const full = path.resolve(cwd, file);
    try {
      accessSync(full, constants.R_OK);
    } catch {
      fail(`has ${key}=${file}, which cannot be read`);
    }
    tls[key] = full;
  }
  const sni = params.get('sni');
  if (sni !== undefined) tls.sni = sni;
  return tls;
}

function decode(text: string, fail: Fail): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('has a malformed %-escape');
  }
}
