/**
 * restore-test and restore of whole-server backups, end to end: a real `databases: all` backup
 * (age-encrypted) of a cluster of its own with several databases and roles, restored by the
 * bundled action into a second, empty cluster (restore-globals: owners and grants as the source,
 * nothing left behind) and into the shared test server (no owners).
 *
 * Covers: src/kinds/server/restore.ts, src/kinds/server/restore-test.ts,
 * src/restore/globals.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { lastErrorLine, runAction, signalOnceShown } from '../support/action.js';
import { testDatabaseUrl } from '../support/env.js';
import { filesUnder } from '../support/listing.js';
import {
  OPS_ROLE,
  SERVER_DATABASES as DB,
  startServerCluster,
  type ServerCluster,
} from '../support/server-cluster.js';

let source: ServerCluster;
let empty: PgCluster;
let work: string;
let store: string;
let identity: string;

/** `"Crm ""Ünï"" data": …`: a check naming a database whose name holds `"` and spaces. */
const CRM = `"${DB.crm.replace(/"/g, '""')}"`;

beforeAll(async () => {
  [source, empty] = await Promise.all([startServerCluster(), startCluster()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'server-restore-'));
  store = path.join(work, 'store');
  identity = await generateIdentity();
  const backup = await runAction({
    storage: store,
    name: 'srv',
    'database-url': source.url,
    databases: 'all',
    'age-recipients': await identityToRecipient(identity),
  });
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), empty?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

const restoreTest = (url: string, extra: Record<string, string> = {}) =>
  runAction({
    mode: 'restore-test',
    storage: store,
    name: 'srv',
    'database-url': url,
    'age-identity': identity,
    ...extra,
  });

const restore = (extra: Record<string, string>) =>
  runAction({
    mode: 'restore',
    storage: store,
    name: 'srv',
    'database-url': empty.url,
    'age-identity': identity,
    ...extra,
  });

/** What a cluster holds that a run could leave behind: its databases and its roles. */
async function holdings(url: string): Promise<{ databases: string[]; roles: string[] }> {
  return withClient(url, async (client) => {
    const { rows: databases } = await client.query<{ n: string }>(
      'SELECT datname AS n FROM pg_database ORDER BY 1',
    );
    const { rows: roles } = await client.query<{ n: string }>(
      'SELECT rolname AS n FROM pg_roles ORDER BY 1',
    );
    return { databases: databases.map((r) => r.n), roles: roles.map((r) => r.n) };
  });
}

/** A copy of the store whose shop object has one byte flipped. */
async function damagedStore(): Promise<string> {
  const damaged = path.join(work, 'damaged');
  if (existsSync(damaged)) return damaged;
  await cp(store, damaged, { recursive: true });
  const [object] = (await filesUnder(damaged)).filter((file) =>
    /\/shop\.dump\.zst\.age$/.test(file),
  );
  expect(object).toBeDefined();
  const file = path.join(damaged, object ?? '');
  const bytes = await readFile(file);
  bytes[bytes.length - 40] = (bytes[bytes.length - 40] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
  return damaged;
}

/** Owners and grants as a user checks them: the database's owner, a table's, a role's privilege. */
const OWNERS_CHECK = `app_data: SELECT (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) = 'app_owner' AND (SELECT tableowner FROM pg_tables WHERE tablename = 'accounts') = 'app_owner' AND has_table_privilege('app_reader', 'public.accounts', 'SELECT') AND pg_has_role('app_owner', 'app_reader', 'MEMBER') AND pg_has_role('${OPS_ROLE}', 'app_reader', 'MEMBER')`;

describe('restore-test of a server backup', () => {
  it('with restore-globals on an empty cluster: every database with its owners and grants, counts matched, nothing left behind', async () => {
    // The source holds what the check asserts of the restored copies.
    await withClient(withDatabase(source.url, DB.app), async (client) => {
      const check = OWNERS_CHECK.slice('app_data: '.length);
      expect((await client.query(check)).rows[0]).toEqual({ '?column?': true });
    });
    const before = await holdings(empty.url);
    const run = await restoreTest(empty.url, {
      'restore-globals': 'true',
      checks: [
        'shop: public.orders >= 500',
        `${CRM}: SELECT count(*) = 120 FROM "Sälës"."Contacts"`,
        OWNERS_CHECK,
      ].join('\n'),
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // orders, customers, Contacts, accounts: every table of the connectable databases.
    expect(Number(run.outputs['restored-tables'])).toBe(4);
    expect(Number(run.outputs['restore-seconds'])).toBeGreaterThan(0);
    expect(run.summary).toMatch(/\| shop \| 2 \| 540 \| ✅ \| [\d.]+ s \|/);
    expect(run.summary).toMatch(/\| Crm "Ünï" data \| 1 \| 120 \| ✅ \| [\d.]+ s \|/);
    expect(run.summary).toMatch(/\| app_data \| 1 \| 75 \| ✅ \| [\d.]+ s \|/);
    expect(run.summary).toMatch(/app_data: SELECT .* \| true \| ✅ pass \|/);
    expect(run.summary).toMatch(
      /Roles \| 4 created \("Ops Tëam", "app_owner", "app_reader", "reader_admin"\); left as they were: "postgres"/,
    );
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('cancelled mid-way, still drops every scratch database and then the roles it made', async () => {
    const before = await holdings(empty.url);
    const run = await runAction(
      {
        mode: 'restore-test',
        storage: store,
        name: 'srv',
        'database-url': empty.url,
        'age-identity': identity,
        'restore-globals': 'true',
      },
      // Cancel the way GitHub does, while the second database is being restored.
      {
        onStart: signalOnceShown(
          'restoring into scratch database restore_test_srv_',
          'SIGINT',
          100,
        ),
      },
    );
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('a damaged database object fails the run naming it, after the others; every scratch database and role is gone', async () => {
    const damaged = await damagedStore();
    const before = await holdings(empty.url);
    // One at a time, so that the others come first (jobs 2 would stop them: test/e2e/server-parallel).
    const run = await restoreTest(empty.url, {
      storage: damaged,
      'restore-globals': 'true',
      jobs: '1',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^shop: sha256 of srv\/\S+\/shop\.dump\.zst\.age is [0-9a-f]{64}, but its manifest records/,
    );
    // shop is the last of the four: the three before it were restored (and dropped) first.
    expect(run.summary).toMatch(/\| app_data \| 1 \| 75 \| ✅ \|/);
    expect(run.summary).toMatch(/\| shop \| — \| — \|/);
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('keep-database keeps every scratch database and the roles they use, and names them', async () => {
    const before = await holdings(empty.url);
    const run = await restoreTest(empty.url, {
      'restore-globals': 'true',
      'keep-database': 'true',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const now = await holdings(empty.url);
    const scratch = now.databases.filter((name) => !before.databases.includes(name));
    const roles = now.roles.filter((name) => !before.roles.includes(name));
    expect(scratch).toHaveLength(5);
    expect(roles).toEqual([OPS_ROLE, 'app_owner', 'app_reader', 'reader_admin']);
    expect(run.summary).toContain(`${scratch.join(', ')} (kept: keep-database)`);
    expect(run.stdout).toContain(
      `the roles restore-globals made are kept with the scratch databases: "${OPS_ROLE}", "app_owner", "app_reader", "reader_admin"`,
    );
    await withClient(empty.url, async (client) => {
      for (const name of scratch) await client.query(`DROP DATABASE "${name}"`);
      const all = `"${OPS_ROLE}", app_owner, app_reader, reader_admin`;
      await client.query(`DROP OWNED BY ${all}`);
      await client.query(`DROP ROLE ${all}`);
    });
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('without restore-globals on the shared server: restored without owners, scratch databases dropped', async () => {
    const run = await restoreTest(testDatabaseUrl(), {
      checks: `app_data: SELECT (SELECT tableowner FROM pg_tables WHERE tablename = 'accounts') = current_user`,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(Number(run.outputs['restored-tables'])).toBe(4);
    expect(run.summary).toContain('not restored (restore-globals: false)');
    const left = await withClient(testDatabaseUrl(), async (client) => {
      const { rows } = await client.query(
        `SELECT datname FROM pg_database WHERE datname LIKE 'restore\\_test\\_srv\\_%'`,
      );
      return rows;
    });
    expect(left).toEqual([]);
  });

  it('restore-globals on a backup made without globals warns and tests the databases without owners', async () => {
    const bare = path.join(work, 'bare');
    const made = await runAction({
      storage: bare,
      name: 'bare',
      'database-url': source.url,
      databases: DB.shop,
      globals: 'false',
    });
    expect(made.code, made.stdout).toBe(0);
    const run = await runAction({
      mode: 'restore-test',
      storage: bare,
      name: 'bare',
      'database-url': testDatabaseUrl(),
      'restore-globals': 'true',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `::warning::restore-globals: backup ${made.outputs['backup-id']} holds no globals (made with globals: false)`,
    );
    expect(run.summary).toContain('not restored (restore-globals: false)');
  });

  it('databases narrows the test to the databases it chooses; a check on one it leaves out, or a name it holds none of, is refused first', async () => {
    const run = await restoreTest(testDatabaseUrl(), {
      databases: `${DB.shop}\napp_*`,
      checks: 'shop: public.orders >= 500',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.summary).toContain(
      '2 of 2 databases (chosen by databases, of the 5 the backup holds)',
    );
    expect(run.stdout).toContain(`${DB.shop}: testing in scratch database`);
    expect(run.stdout).toContain(`${DB.app}: testing in scratch database`);
    expect(run.stdout).not.toContain(`${DB.crm}: testing`);
    const before = await holdings(empty.url);
    const left = await restoreTest(empty.url, {
      databases: DB.shop,
      checks: `${CRM}: public.orders >= 0`,
    });
    expect(left.code).not.toBe(0);
    expect(lastErrorLine(left)).toBe(
      `Input "checks": "${CRM}: public.orders >= 0" names the database ${JSON.stringify(DB.crm)}, which databases leaves out (it chooses "shop")`,
    );
    const none = await restoreTest(empty.url, { databases: 'billing' });
    expect(lastErrorLine(none)).toMatch(
      /^Input "databases": "billing" matches no database of backup /,
    );
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('a check without its database fails before any restore, naming it; a failing check fails the run', async () => {
    const before = await holdings(empty.url);
    const unnamed = await restoreTest(empty.url, { checks: 'public.orders >= 1' });
    expect(unnamed.code).not.toBe(0);
    expect(lastErrorLine(unnamed)).toMatch(
      /^Input "checks": "public\.orders >= 1" names no database, and backup \S+ holds 5; /,
    );
    const unknown = await restoreTest(empty.url, { checks: 'billing: public.orders >= 1' });
    expect(lastErrorLine(unknown)).toMatch(
      /names the database "billing", which backup \S+ does not hold/,
    );
    const failing = await restoreTest(empty.url, {
      checks: `shop: public.orders >= 501\n${CRM}: public.orders >= 0`,
    });
    expect(failing.code).not.toBe(0);
    // Each check runs against the database it names: crm has no public.orders.
    expect(lastErrorLine(failing)).toMatch(
      /shop: 1 check\(s\) failed: shop: public\.orders >= 501 \(500\)/,
    );
    expect(lastErrorLine(failing)).toMatch(
      /Crm "Ünï" data: 1 check\(s\) failed: .*error: relation "public\.orders" does not exist/,
    );
    expect(await holdings(empty.url)).toEqual(before);
  });
});

describe('restore of a server backup', () => {
  it('refuses a confirm that misses a target, before any work', async () => {
    const before = await holdings(empty.url);
    const run = await restore({
      databases: 'shop\napp_*',
      'target-database': 'shop=shop_copy',
      'restore-globals': 'true',
      confirm: 'shop_copy',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe(
      'Input "confirm": must name every target database (one per line, or separated by commas) and no other: app_data, shop_copy',
    );
    const unmatched = await restore({ databases: 'billing_*', confirm: 'x' });
    expect(lastErrorLine(unmatched)).toMatch(
      /^Input "databases": "billing_\*" matches no database of backup/,
    );
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('restores a subset with a target mapping and the roles; an existing role is left as it is and reported; membership in it only as allowed', async () => {
    await withClient(empty.url, async (client) => {
      await client.query('CREATE ROLE app_reader CONNECTION LIMIT 7');
    });
    const run = await restore({
      databases: 'shop\napp_*',
      'target-database': 'shop=shop_copy',
      'restore-globals': 'true',
      // app_reader was there before: membership in it hands its privileges on, so only if allowed.
      'allow-privileged-roles': 'true',
      confirm: 'app_data\nshop_copy',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.summary).toMatch(/left as they were: [^|]*"app_reader"/);
    expect(run.summary).toMatch(
      /allowed by allow-privileged-roles: membership of "Ops Tëam" in "app_reader"; membership of "app_owner" in "app_reader"/,
    );
    // The globals hold password hashes: none reaches the log, the summary or the outputs.
    expect(run.everything).not.toMatch(/SCRAM-SHA-256/);
    expect(run.summary).toMatch(/\| shop \| shop_copy \(created\) \| 2 \| 540 \| restored \|/);
    expect(run.summary).toMatch(/\| app_data \| app_data \(created\) \| 1 \| 75 \| restored \|/);
    const now = await holdings(empty.url);
    expect(now.databases).toEqual(expect.arrayContaining(['shop_copy', 'app_data']));
    expect(now.databases).not.toContain('shop');
    expect(now.databases).not.toContain(DB.crm);
    await withClient(empty.url, async (client) => {
      const { rows } = await client.query(
        `SELECT rolconnlimit AS limit FROM pg_roles WHERE rolname = 'app_reader'`,
      );
      expect(rows[0]).toEqual({ limit: 7 });
    });
    await withClient(withDatabase(empty.url, DB.app), async (client) => {
      const check = OWNERS_CHECK.slice('app_data: '.length);
      expect((await client.query(check)).rows[0]).toEqual({ '?column?': true });
      const { rows } = await client.query(
        `SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS password FROM pg_authid WHERE rolname = 'app_owner'`,
      );
      expect(rows[0]).toEqual({ password: true });
    });
    await withClient(withDatabase(empty.url, 'shop_copy'), async (client) => {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM orders');
      expect(rows[0]).toEqual({ n: 500 });
    });
  });

  it('a database that fails to restore leaves no database it created', async () => {
    const before = await holdings(empty.url);
    const run = await restore({
      storage: await damagedStore(),
      databases: 'shop',
      'target-database': 'shop_damaged',
      confirm: 'shop_damaged',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/^shop: sha256 of srv\/\S+\/shop\.dump\.zst\.age is /);
    expect(run.summary).toContain('not created: the database made for it was dropped again');
    expect(await holdings(empty.url)).toEqual(before);
  });

  it('refuses the whole run when any target is not empty, naming them, before anything is restored', async () => {
    const run = await restore({
      databases: 'shop\napp_*\nCrm*',
      'target-database': 'shop=shop_copy',
      confirm: `shop_copy\napp_data\n${DB.crm}`,
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /the target databases app_data \(1 tables\), shop_copy \(2 tables\) are not empty; set clean: true/,
    );
    expect((await holdings(empty.url)).databases).not.toContain(DB.crm);
  });

  it('with clean: true replaces every non-empty target whole, and creates the missing one', async () => {
    await withClient(withDatabase(empty.url, 'shop_copy'), (client) =>
      client.query('CREATE TABLE stray (x int); INSERT INTO stray VALUES (1)'),
    );
    const run = await restore({
      databases: 'shop\napp_*\nCrm*',
      'target-database': 'shop=shop_copy',
      confirm: `shop_copy, app_data, ${DB.crm}`,
      clean: 'true',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const tables = (url: string) =>
      withClient(url, async (client) => {
        const { rows } = await client.query<{ name: string }>(
          `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
        );
        return rows.map((row) => row.name);
      });
    expect(await tables(withDatabase(empty.url, 'shop_copy'))).toEqual(
      Object.keys(source.rows[DB.shop]!).sort(),
    );
    for (const database of [DB.app, DB.crm]) {
      expect(await tables(withDatabase(empty.url, database))).toEqual(
        Object.keys(source.rows[database]!).sort(),
      );
    }
  });
});
