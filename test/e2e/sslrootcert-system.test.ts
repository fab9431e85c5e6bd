/**
 * `sslrootcert=system` with client programs older than 16 (found by the hostile review of issue
 * 27, item 11): libpq 16 reads it as the system's trusted roots and makes verify-full the default
 * (PostgreSQL 16 release notes; libpq "Parameter Key Words"); libpq 15 reads a file named "system"
 * and, left at prefer, carries the data unverified while the driver verifies. The programs get
 * the mode named, so libpq 15 (this machine's pg_dump and psql) refuses rather than fall back.
 *
 * Covers: src/process/programs.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { libpqEnv } from '../../src/process/programs.js';
import type { DatabaseTarget } from '../../src/core/settings.js';
import { testDatabaseUrl } from '../support/env.js';

const run = promisify(execFile);

/** The test server (plain TCP, no TLS), as a target whose URL names sslrootcert=system. */
function target(params: Record<string, string>): { target: DatabaseTarget; conninfo: string } {
  const url = new URL(testDatabaseUrl());
  const conninfo = `host=${url.hostname} port=${url.port} user=${decodeURIComponent(url.username)} dbname=${url.pathname.slice(1) || 'postgres'} ${Object.entries(
    params,
  )
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')}`;
  return {
    target: {
      host: url.hostname,
      port: Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
      params,
      display: '',
    },
    conninfo,
  };
}

/** What libpq 15's psql does with the environment the product gives its programs. */
async function psql(params: Record<string, string>, base: NodeJS.ProcessEnv = {}) {
  const { target: given, conninfo } = target(params);
  const env = libpqEnv(given, { PATH: process.env.PATH, ...base });
  return run('psql', [conninfo, '-Atc', 'SELECT 1'], { env }).then(
    () => 'connected',
    (error: { stderr: string }) => error.stderr,
  );
}

describe('sslrootcert=system and a libpq older than 16', () => {
  it('never connects unverified: the programs are told verify-full', async () => {
    expect(await psql({ sslrootcert: 'system' })).toMatch(/root certificate file "system"|SSL/);
    expect(await psql({}, { PGSSLROOTCERT: 'system' })).toMatch(
      /root certificate file "system"|SSL/,
    );
  });

  it('leaves every other connection as it was', async () => {
    expect(await psql({})).toBe('connected');
    expect(await psql({ sslmode: 'prefer' })).toBe('connected');
  });
});
