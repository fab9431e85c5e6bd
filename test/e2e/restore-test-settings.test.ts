/**
 * restore-test's own steps under the backup's database-level settings. The row counts are the
 * product's own and run before those settings are applied to the scratch database; the user's
 * checks run after them and see the database as its users do. The setting is `role`: the backup's
 * owner, who is no member of the role, connects with a warning and without it (PostgreSQL applies
 * a database setting it may not take as a WARNING at connect), while the scratch server's
 * superuser, a member of every role, would count as that role, which may read no table.
 *
 * Covers: src/restore/scratch-test.ts, src/kinds/database/restore-test.ts.
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { runAction } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';

const OWNER = `rts_owner_${process.pid}`;
const LIMITED = `rts_limited_${process.pid}`;
const PASSWORD = 'owner-secret-rts';
let source: FreshDatabase;
let work: string;
let store: string;

/** The source database's URL as its owner, who is not a superuser. */
function asOwner(url: string): string {
  const owned = new URL(url);
  owned.username = OWNER;
  owned.password = PASSWORD;
  return owned.toString();
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'rts-'));
  store = path.join(work, 'store');
  source = await freshDatabase('rts_src');
  await withClient(testDatabaseUrl(), async (client) => {
    await client.query(`CREATE ROLE ${OWNER} LOGIN PASSWORD '${PASSWORD}'`);
    await client.query(`CREATE ROLE ${LIMITED} NOLOGIN`);
    await client.query(`ALTER DATABASE ${source.name} OWNER TO ${OWNER}`);
  });
  await withClient(asOwner(source.url), (client) =>
    client.query(`CREATE TABLE public.orders (id int PRIMARY KEY);
      INSERT INTO public.orders SELECT generate_series(1, 25);
      CREATE TABLE public.notes (t text);
      INSERT INTO public.notes VALUES ('a'), ('b');
      ALTER DATABASE ${source.name} SET role = '${LIMITED}'`),
  );
  // The owner's own sessions: warned at connect, and not the role.
  const owner = new pg.Client({ connectionString: asOwner(source.url) });
  const notices: string[] = [];
  owner.on('notice', (notice) => notices.push(`${notice.severity ?? ''}: ${notice.message}`));
  await owner.connect();
  try {
    const { rows } = await owner.query<{ user: string }>('SELECT current_user AS user');
    expect(rows[0]?.user).toBe(OWNER);
    expect(notices).toEqual([`WARNING: permission denied to set role "${LIMITED}"`]);
  } finally {
    await owner.end();
  }
  const made = await runAction({
    storage: store,
    name: 'rts',
    'database-url': asOwner(source.url),
  });
  expect(made.code, made.stdout).toBe(0);
}, 120_000);

afterAll(async () => {
  await source?.drop();
  await withClient(testDatabaseUrl(), async (client) => {
    await client.query(`DROP ROLE IF EXISTS ${OWNER}`);
    await client.query(`DROP ROLE IF EXISTS ${LIMITED}`);
  });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a database whose own settings make its sessions a role that may read no table', () => {
  it('is restore-tested: the row counts run before the settings, the checks after them', async () => {
    const run = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'rts',
      'database-url': testDatabaseUrl(),
      checks: `SELECT current_user = '${LIMITED}'`,
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toMatch(/Tables \/ rows.*2 \/ 27/);
    expect(run.summary).toMatch(/Database settings.*1 of 1 restored/);
    expect(run.summary).toMatch(new RegExp(`SELECT current_user = '${LIMITED}'.*true.*pass`));
  });

  it('says the settings were not restored when restore-database-settings is false', async () => {
    const run = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'rts',
      'database-url': testDatabaseUrl(),
      'restore-database-settings': 'false',
      checks: `SELECT current_user <> '${LIMITED}'`,
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toMatch(
      /Database settings.*not restored \(restore-database-settings: false\)/,
    );
  });
});
