/**
 * database-url: the database every program and the driver reach is exactly the one the guards
 * checked, whatever the URL's parameters, the inherited PG* variables or the database's name.
 *
 * Covers: src/inputs/database.ts, src/postgres/database-url.ts, src/process/programs.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { readDatabaseUrl } from '../../src/inputs/database.js';
import { connectionString, withDatabase } from '../../src/postgres/database-url.js';
import { Inputs } from '../../src/inputs/reader.js';
import { libpqEnv } from '../../src/process/programs.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { testDatabaseUrl } from '../support/env.js';

const read = (value: string, options?: { databaseOptional?: boolean }) =>
  readDatabaseUrl(
    new Inputs((name) => (name === 'database-url' ? value : '')),
    'database-url',
    options,
  );

describe('reading database-url', () => {
  it('parses the URL once into its parts, decoding each part on its own', () => {
    const { target, secrets } = read(
      'postgresql://app:p%40ss%2Fw%3Ford@db.example.com:6543/a%3Db%20%3B%24%2F%3F%23?sslmode=require',
    );
    expect(target).toMatchObject({
      host: 'db.example.com',
      port: 6543,
      user: 'app',
      password: 'p@ss/w?ord',
      database: 'a=b ;$/?#',
      params: { sslmode: 'require' },
    });
    expect(target.display).not.toContain('p%40ss');
    // The decoded password and the spelling the URL used are both masked.
    expect(secrets).toEqual(expect.arrayContaining(['p@ss/w?ord', 'p%40ss%2Fw%3Ford']));
  });

  it('takes a socket folder or an IPv6 address as the host, and defaults the port', () => {
    for (const url of [
      'postgresql:///db?host=/var/run/postgresql',
      'postgresql://u@%2Fvar%2Frun%2Fpostgresql/db',
      // libpq's own spelling: a user, no host, the socket folder as a parameter (issue 27, item 14).
      'postgresql://u@/db?host=/var/run/postgresql',
      'postgresql://u:pw@:5432/db?host=%2Fvar%2Frun%2Fpostgresql',
    ]) {
      expect(read(url).target).toMatchObject({
        host: '/var/run/postgresql',
        port: 5432,
        database: 'db',
      });
    }
    expect(read('postgresql://u@[::1]:5433/db').target).toMatchObject({ host: '::1', port: 5433 });
  });

  it.each([
    ['dbname', 'postgresql://u:pw@h/scratch?dbname=other'],
    ['user', 'postgresql://u:pw@h/db?user=postgres'],
    ['password', 'postgresql://u@h/db?password=s3cret-in-query'],
    ['options', 'postgresql://u:pw@h/db?options=-c%20search_path%3Devil'],
    ['service', 'postgresql://u:pw@h/db?service=prod'],
    ['servicefile', 'postgresql://u:pw@h/db?servicefile=/tmp/s'],
    ['hostaddr', 'postgresql://u:pw@h/db?hostaddr=10.0.0.9'],
    ['passfile', 'postgresql://u:pw@h/db?passfile=/tmp/p'],
    ['target_session_attrs', 'postgresql://u:pw@h/db?target_session_attrs=any'],
    ['replication', 'postgresql://u:pw@h/db?replication=database'],
  ])('refuses the parameter %s in one line that quotes no value', (key, url) => {
    let error: unknown;
    try {
      read(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^Input "database-url": has the parameter "${key}"`));
    expect(message).not.toContain('s3cret');
    expect(message.split('\n')).toHaveLength(1);
  });

  it.each([
    ['the host twice', 'postgresql://u@h/db?host=/tmp', /gives the host twice/],
    ['the port twice', 'postgresql://u@h:5432/db?port=5433', /gives the port twice/],
    ['a parameter twice', 'postgresql://u@h/db?sslmode=disable&sslmode=require', /twice/],
    ['several hosts', 'postgresql://u@h1,h2/db', /several hosts/],
    ['several hosts with ports', 'postgresql://u@h1:5432,h2:5433/db', /several hosts/],
    ['several IPv6 hosts', 'postgresql://[::1],[::2]:5433/db', /several hosts/],
    ['several hosts as a parameter', 'postgresql://u@/db?host=/tmp,/run', /several hosts/],
    ['a port out of range', 'postgresql://u@h:99999/db', /port outside/],
    ['no host at all', 'postgresql://u@/db', /names no host/],
    ['a # part', 'postgresql://u@h/a#b', /"#"/],
    ['a malformed escape', 'postgresql://u@h/a%zz', /malformed/],
  ])('refuses %s', (_what, url, reason) => {
    expect(() => read(url)).toThrow(reason);
  });

  it('gives programs a connection string they cannot read as another one, without the password', () => {
    const { target } = read('postgresql://u:pw@h/x%27%20dbname%3Dpostgres%20%5C');
    const text = connectionString(target);
    expect(text).toBe(`host='h' port='5432' user='u' dbname='x\\' dbname=postgres \\\\'`);
    expect(text).not.toContain('pw');
    expect(connectionString(withDatabase(target, 'b=c'))).toContain(`dbname='b=c'`);
  });

  it('passes the password through PGPASSWORD and drops PG* variables that could redirect', () => {
    const { target } = read('postgresql://u:pw@h/db');
    const env = libpqEnv(target, {
      PATH: '/bin',
      PGPASSWORD: 'inherited',
      PGSERVICE: 'prod',
      PGOPTIONS: '-c x=y',
      PGHOSTADDR: '10.0.0.9',
      PGDATABASE: 'other',
      PGSSLMODE: 'require',
      PGPASSFILE: '/p',
    });
    expect(env).toEqual({ PATH: '/bin', PGPASSWORD: 'pw', PGSSLMODE: 'require', PGPASSFILE: '/p' });
  });
});

/** A connection to `database` on the test server, made without any URL decoding. */
function client(database: string): pg.Client {
  const server = new URL(testDatabaseUrl());
  return new pg.Client({
    host: server.hostname,
    port: Number(server.port),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
    database,
  });
}

async function onServer<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = client(database);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const urlOf = (database: string) => {
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.href;
};

const suffix = `${process.pid}`;
const SOURCE = `src a=b;$/?#'"\\ ${suffix}`;
const TARGET = `dst postgres://x?y=z#w ${suffix}`;
const DECOY = `decoy_${suffix}`;
let store: string;

beforeAll(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'connection-store-'));
  await onServer('postgres', async (c) => {
    for (const name of [SOURCE, TARGET, DECOY]) {
      await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    }
  });
  await onServer(SOURCE, (c) =>
    c.query(
      `CREATE TABLE "odd.name" (id int PRIMARY KEY); INSERT INTO "odd.name" SELECT generate_series(1, 250)`,
    ),
  );
});

afterAll(async () => {
  await onServer('postgres', async (c) => {
    for (const name of [SOURCE, TARGET, DECOY]) {
      await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    }
  });
  await rm(store, { recursive: true, force: true });
});

describe('database-url through a socket folder, spelled as libpq documents it', () => {
  it('backs up and restore-tests with postgresql://user:password@/database?host=<folder>&port=<port>', async () => {
    const { folder, port } = await onServer('postgres', async (c) => ({
      folder:
        (
          (await c.query<{ d: string }>("SELECT current_setting('unix_socket_directories') AS d"))
            .rows[0]?.d ?? ''
        ).split(',')[0] ?? '',
      port: (await c.query<{ p: string }>("SELECT current_setting('port') AS p")).rows[0]?.p ?? '',
    }));
    expect(
      existsSync(path.join(folder, `.s.PGSQL.${port}`)),
      `the test server's socket in ${folder}`,
    ).toBe(true);
    const server = new URL(testDatabaseUrl());
    const socketUrl = (database: string) =>
      `postgresql://${server.username}:${server.password}@/${encodeURIComponent(database)}?host=${encodeURIComponent(folder)}&port=${port}`;
    const made = await runAction({
      storage: store,
      name: 'socket',
      'database-url': socketUrl(SOURCE),
    });
    expect(made.code, made.stdout + made.stderr).toBe(0);
    const tested = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'socket',
      'database-url': socketUrl('postgres'),
    });
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(tested.outputs['restored-tables']).toBe('1');
  }, 120_000);
});

const tablesIn = (database: string) =>
  onServer(database, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`,
    );
    return rows[0]?.n ?? 0;
  });

describe('the database the programs reach', () => {
  it('backs up, restore-tests and restores databases whose names hold = ; $ / ? # quotes and spaces', async () => {
    const made = await runAction({ storage: store, name: 'odd', 'database-url': urlOf(SOURCE) });
    expect(made.code, made.stdout).toBe(0);
    expect(made.outputs['backup-id']).toMatch(/^\d{8}T/);

    const tested = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'odd',
      'database-url': urlOf('postgres'),
      jobs: '2',
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['restored-tables']).toBe('1');

    const restored = await runAction({
      mode: 'restore',
      storage: store,
      name: 'odd',
      'database-url': urlOf(TARGET),
      confirm: TARGET,
      jobs: '2',
    });
    expect(restored.code, restored.stdout).toBe(0);
    const count = await onServer(TARGET, (c) =>
      c.query('SELECT count(*)::int AS n FROM "odd.name"'),
    );
    expect(count.rows[0]).toEqual({ n: 250 });
  });

  it('refuses a URL whose parameters would send a restore elsewhere, before touching anything', async () => {
    const run = await runAction({
      mode: 'restore',
      storage: store,
      name: 'odd',
      'database-url': `${urlOf(TARGET)}?dbname=${encodeURIComponent(DECOY)}`,
      confirm: TARGET,
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/^Input "database-url": has the parameter "dbname"/);
    const scratch = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'odd',
      'database-url': `${urlOf('postgres')}?dbname=${encodeURIComponent(DECOY)}`,
    });
    expect(lastErrorLine(scratch)).toMatch(/^Input "database-url": has the parameter "dbname"/);
    expect(await tablesIn(DECOY)).toBe(0);
  });

  it('never puts a ?password= on a command line, nor prints it', async () => {
    const url = new URL(urlOf(SOURCE));
    const password = decodeURIComponent(url.password);
    url.password = '';
    url.searchParams.set('password', password);
    const run = await runAction({ storage: store, name: 'odd', 'database-url': url.href });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/has the parameter "password"/);
    expect(run.everything).not.toContain(password);
  });

  it('is not redirected or changed by inherited PG* variables', async () => {
    const env = {
      // Each of these, obeyed, would fail the run or send it elsewhere.
      PGOPTIONS: '-c default_transaction_read_only=on',
      PGHOSTADDR: '127.0.0.3',
      PGSERVICE: 'nowhere',
      PGDATABASE: DECOY,
      PGREPLICATION: 'database',
    };
    const made = await runAction(
      { storage: store, name: 'odd', 'database-url': urlOf(SOURCE) },
      { env },
    );
    expect(made.code, made.stdout).toBe(0);
    const tested = await runAction(
      { mode: 'restore-test', storage: store, name: 'odd', 'database-url': urlOf('postgres') },
      { env },
    );
    expect(tested.code, tested.stdout).toBe(0);
    expect(await tablesIn(DECOY)).toBe(0);
  });
});
