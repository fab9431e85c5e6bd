/**
 * Databases that whole-server backups used to get wrong (issue 27, items 9 and 12), as users run
 * them: the bundled action against a cluster of its own holding databases named with a line
 * break (which pg_dump dumps but pg_dumpall and pg_restore --create refuse to write), one named
 * with a tab, and a template database owned by a role whose name holds a line break.
 *
 * Covers: src/core/database-names.ts, src/postgres/server-databases.ts, src/inputs/backup.ts,
 * src/postgres/database-statements.ts, src/postgres/restore.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { lastErrorLine, runAction, type ActionRun } from '../support/action.js';
import { filesUnder } from '../support/listing.js';
import { pg18Toolchain } from '../support/pg18.js';
import { requireInCI } from '../support/require-in-ci.js';

const NEWLINE = 'nl\ndb';
const RETURN = 'cr\rdb';
const TAB = 'tab\tdb';
/** A user's template database, owned by a role whose name holds a line break. */
const TEMPLATE = 'tpl';
const OWNER = 'tpl\nowner';
/** Each name with a line break left out by a pattern: `?` matches the line break. */
const LEAVE_OUT = 'nl?db\ncr?db';

let cluster: PgCluster;
let work: string;

/** A template database holding 3 rows, owned by OWNER, on `server`. */
async function makeTemplate(server: string): Promise<void> {
  const ident = pg.escapeIdentifier;
  await withClient(server, async (client) => {
    await client.query(`CREATE ROLE ${ident(OWNER)} NOLOGIN`);
    await client.query(`CREATE DATABASE ${TEMPLATE} OWNER ${ident(OWNER)}`);
  });
  await withClient(withDatabase(server, TEMPLATE), (client) =>
    client.query(`CREATE TABLE seed AS SELECT g AS id FROM generate_series(1, 3) g`),
  );
  await withClient(server, (client) =>
    client.query(`ALTER DATABASE ${TEMPLATE} IS_TEMPLATE = true`),
  );
}

beforeAll(async () => {
  cluster = await startCluster();
  work = await mkdtemp(path.join(os.tmpdir(), 'database-names-'));
  await withClient(cluster.url, async (client) => {
    for (const name of [NEWLINE, RETURN, TAB, 'shop']) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    }
  });
  await withClient(withDatabase(cluster.url, NEWLINE), (client) =>
    client.query('CREATE TABLE t AS SELECT 1 AS id'),
  );
  await makeTemplate(cluster.url);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const backup = (store: string, inputs: Record<string, string>) =>
  runAction({ storage: store, name: 'srv', 'database-url': cluster.url, ...inputs });

async function databasesOf(run: ActionRun, store: string): Promise<string[]> {
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const manifest = JSON.parse(
    await readFile(path.join(store, run.outputs['manifest-key'] ?? ''), 'utf8'),
  ) as { databases: { name: string }[] };
  return manifest.databases.map((database) => database.name).sort();
}

/** No log line starts with the part of a name after its line break (a split, forgeable line). */
function printedWhole(run: ActionRun): void {
  expect(run.stdout.split('\n').filter((line) => /^db"?/.test(line))).toEqual([]);
}

describe('a database whose name holds a line break (issue 27, item 9)', () => {
  it('databases: all fails before any work, naming each one printably; nothing is stored', async () => {
    const store = path.join(work, 'refused');
    const run = await backup(store, { databases: 'all' });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^Input "databases": "cr\\rdb", "nl\\ndb" cannot be backed up: its name holds a line break, which pg_dumpall and pg_restore --create refuse to write .*exclude-databases/,
    );
    printedWhole(run);
    expect(await filesUnder(store)).toEqual([]);
  }, 60_000);

  it('a backup of that one database fails in one line naming database-url', async () => {
    const store = path.join(work, 'one');
    const run = await runAction({
      storage: store,
      name: 'one',
      'database-url': withDatabase(cluster.url, NEWLINE),
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^Input "database-url": names the database "nl\\ndb", which cannot be backed up: /,
    );
    expect(await filesUnder(store)).toEqual([]);
  }, 60_000);
});

describe('template databases (issue 27, item 12)', () => {
  const store = () => path.join(work, 'templates');

  it('databases: all takes a user’s template, never template0 or template1; a tab in a name passes', async () => {
    const run = await backup(store(), { databases: 'all', 'exclude-databases': LEAVE_OUT });
    expect(await databasesOf(run, store())).toEqual(['postgres', 'shop', TAB, TEMPLATE].sort());
    printedWhole(run);
  }, 60_000);

  it('a template named in databases is backed up; template1 named is refused as the server’s own', async () => {
    const named = path.join(work, 'named');
    expect(await databasesOf(await backup(named, { databases: TEMPLATE }), named)).toEqual([
      TEMPLATE,
    ]);
    const own = await backup(named, { databases: 'template1' });
    expect(own.code).not.toBe(0);
    expect(lastErrorLine(own)).toMatch(
      /^Input "databases": "template1" matches no database .*template0 and template1 are the server’s own/,
    );
  }, 60_000);

  it('restore-test restores the template and leaves nothing behind', async () => {
    const before = await databasesNow(cluster.url);
    const run = await runAction({
      mode: 'restore-test',
      storage: store(),
      name: 'srv',
      'database-url': cluster.url,
      'restore-globals': 'true',
      checks: `${TEMPLATE}: public.seed >= 3`,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/tpl: 1 tables, 3 rows, matched/);
    expect(await databasesNow(cluster.url)).toEqual(before);
  }, 120_000);

  it('restore brings it back a template, owned as it was; clean replaces it and drops the old one', async () => {
    const restore = (extra: Record<string, string>) =>
      runAction({
        mode: 'restore',
        storage: store(),
        name: 'srv',
        'database-url': cluster.url,
        databases: TEMPLATE,
        'target-database': `${TEMPLATE}=tpl_copy`,
        confirm: 'tpl_copy',
        ...extra,
      });
    const first = await restore({});
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await templateState(cluster.url, 'tpl_copy')).toEqual({ template: true, owner: OWNER });
    const again = await restore({ clean: 'true' });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/could not be dropped/);
    expect(await templateState(cluster.url, 'tpl_copy')).toEqual({ template: true, owner: OWNER });
    expect((await databasesNow(cluster.url)).filter((name) => name.startsWith('tpl_copy'))).toEqual(
      ['tpl_copy'],
    );
  }, 120_000);
});

// Found by the hostile review of issue 27: a clean restore onto template1 made it an ordinary
// database and dropped it, and CREATE DATABASE copied the restored one from then on.
describe('the server’s own templates', () => {
  it('a restore never replaces template1, even with clean: one line naming database-url', async () => {
    const at = path.join(work, 'own-template');
    const made = await runAction({
      storage: at,
      name: 'shop',
      'database-url': withDatabase(cluster.url, 'shop'),
    });
    expect(made.code, made.stdout + made.stderr).toBe(0);
    const run = await runAction({
      mode: 'restore',
      storage: at,
      name: 'shop',
      'database-url': withDatabase(cluster.url, 'template1'),
      clean: 'true',
      confirm: 'template1',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe(
      `Input "database-url": "template1" is one of the server's own templates (template0, template1), which no restore replaces; restore into another database`,
    );
    const template = await withClient(cluster.url, (client) =>
      client.query<{ datistemplate: boolean }>(
        `SELECT datistemplate FROM pg_database WHERE datname = 'template1'`,
      ),
    );
    expect(template.rows).toEqual([{ datistemplate: true }]);
    expect(
      (await databasesNow(cluster.url)).filter((name) => name.startsWith('template1_')),
    ).toEqual([]);
  }, 120_000);
});

const pg18 = pg18Toolchain();

describe.skipIf(requireInCI(pg18.missing))('a PostgreSQL 18 server', () => {
  it('refuses a line break in a name, backs up a template and restores it a template', async () => {
    const server = await startCluster({ bindir: pg18.serverBin });
    try {
      await withClient(server.url, (client) =>
        client.query(`CREATE DATABASE ${pg.escapeIdentifier(NEWLINE)}`),
      );
      await makeTemplate(server.url);
      const store = path.join(work, 'eighteen');
      const common = { 'database-url': server.url, 'pg-bin-dir': pg18.clientBin };
      const refused = await backup(store, { ...common, databases: 'all' });
      expect(lastErrorLine(refused)).toMatch(/^Input "databases": "nl\\ndb" cannot be backed up/);
      const run = await backup(store, {
        ...common,
        databases: 'all',
        'exclude-databases': 'nl?db',
      });
      expect(await databasesOf(run, store)).toEqual(['postgres', TEMPLATE]);
      const restored = await runAction({
        mode: 'restore',
        storage: store,
        name: 'srv',
        ...common,
        databases: TEMPLATE,
        'target-database': `${TEMPLATE}=tpl_copy`,
        confirm: 'tpl_copy',
      });
      expect(restored.code, restored.stdout + restored.stderr).toBe(0);
      expect(await templateState(server.url, 'tpl_copy')).toEqual({ template: true, owner: OWNER });
    } finally {
      await server.stop();
    }
  }, 180_000);
});

async function databasesNow(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ n: string }>('SELECT datname AS n FROM pg_database');
    return rows.map((row) => row.n).sort();
  });
}

async function templateState(
  url: string,
  database: string,
): Promise<{ template: boolean; owner: string } | undefined> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ template: boolean; owner: string }>(
      `SELECT datistemplate AS template, pg_get_userbyid(datdba) AS owner
         FROM pg_database WHERE datname = $1`,
      [database],
    );
    return rows[0];
  });
}
