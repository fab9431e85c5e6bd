/**
 * Backups made by an earlier release stay readable byte for byte: test/fixtures/store-v1 holds a
 * store made by the release its README names (one database, a whole server with its globals, a
 * directory tree; each with age recipients and with a passphrase), and the bundle of today runs
 * verify-latest (deep), restore-test, restore and retention-prune over it. What comes back is what
 * was backed up: every table's rows (by digest), the owners and grants, every file's bytes.
 *
 * Covers: src/kinds, src/core/manifest.ts.
 */
import { cp, lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { runAction, type ActionRun } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';
import { filesUnder } from '../support/listing.js';

const FIXTURE = path.resolve('test/fixtures/store-v1');
const SOURCE_TREE = path.join(FIXTURE, 'source');

interface Digest {
  rows: number;
  md5: string;
}
type Digests = Record<string, Digest>;
const expected = JSON.parse(await readFile(path.join(FIXTURE, 'expected.json'), 'utf8')) as {
  older: { db: Digests };
  newest: { db: Digests; shop: Digests; crm: Digests };
};
const identity = (await readFile(path.join(FIXTURE, 'identity.txt'), 'utf8'))
  .split('\n')
  .find((line) => line.startsWith('AGE-SECRET-KEY-'))!;
const passphrase = (await readFile(path.join(FIXTURE, 'passphrase.txt'), 'utf8')).trim();

/** The sets of the store, and the keys that open each. */
const AGE = { 'age-identity': identity };
const PASS = { 'encryption-passphrase': passphrase };
const SETS = {
  'db-age': { keys: AGE, newest: '20261207T001347Z-b7cb4c', older: '20261207T001342Z-3d9ecb' },
  'db-pass': { keys: PASS, newest: '20261207T001351Z-864c3b' },
  'srv-age': { keys: AGE, newest: '20261207T001348Z-34ebde', older: '20261207T001343Z-481e2e' },
  'srv-pass': { keys: PASS, newest: '20261207T001356Z-16d0a3' },
  'files-age': { keys: AGE, newest: '20261207T001350Z-c56c66', older: '20261207T001345Z-f97bf4' },
  'files-pass': { keys: PASS, newest: '20261207T001410Z-953d9a' },
} as const;
type SetName = keyof typeof SETS;

/** The same query make.js ran on the source, run on a restored copy. */
const DIGEST = (table: string) =>
  `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS md5 FROM ${table} t`;

async function digests(url: string, tables: string[]): Promise<Digests> {
  return withClient(url, async (client) => {
    const out: Digests = {};
    for (const table of tables) out[table] = (await client.query<Digest>(DIGEST(table))).rows[0]!;
    return out;
  });
}

let work: string;
let store: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'store-v1-'));
  // A copy: no run may change the fixture, even by mistake.
  store = path.join(work, 'store');
  await cp(path.join(FIXTURE, 'store'), store, { recursive: true });
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Every backup there is dated the day the fixture was made: a century is old enough. */
const OLD_ENOUGH = '5200w';

const run = (mode: string, set: SetName, extra: Record<string, string> = {}, at = store) =>
  runAction({
    mode,
    storage: at,
    name: set,
    ...(mode === 'retention-prune' ? {} : SETS[set].keys),
    ...extra,
  });

function succeeded(result: ActionRun): Record<string, unknown> {
  expect(result.code, result.stdout + result.stderr).toBe(0);
  expect(result.report?.ok).toBe(true);
  return (result.report?.details ?? {}) as Record<string, unknown>;
}

const manifestOf = async (set: SetName, id: string = SETS[set].newest) =>
  JSON.parse(await readFile(path.join(store, set, `${id}.manifest.json`), 'utf8')) as Record<
    string,
    unknown
  > & { createdAt: string; files?: unknown };

describe('verify-latest (deep) of the stored backups', () => {
  it.each(['db-age', 'db-pass'] as const)(
    '%s: checksum and archive of one database',
    async (set) => {
      const result = await run('verify-latest', set, { 'max-age': OLD_ENOUGH });
      const details = succeeded(result);
      const manifest = await manifestOf(set);
      expect(result.outputs['latest-id']).toBe(SETS[set].newest);
      expect(Number(result.outputs['size-bytes'])).toBe((manifest.object as { size: number }).size);
      const age = (Date.now() - Date.parse(manifest.createdAt)) / 1000;
      expect(Math.abs(Number(result.outputs['age-seconds']) - age)).toBeLessThan(300);
      expect(details.contents).toMatchObject({ tablesWithData: 2 });
      expect(result.summary).toContain('matches every stored byte');
    },
  );

  it.each(['srv-age', 'srv-pass'] as const)('%s: every database and the globals', async (set) => {
    const result = await run('verify-latest', set, { 'max-age': OLD_ENOUGH });
    const details = succeeded(result);
    expect(result.outputs['latest-id']).toBe(SETS[set].newest);
    const contents = details.contents as {
      databases: Record<string, { tablesWithData: number }>;
      globals: { roles: number };
    };
    expect(Object.keys(contents.databases).sort()).toEqual(['Crm Ünï', 'shop']);
    expect(contents.databases.shop?.tablesWithData).toBe(2);
    expect(contents.databases['Crm Ünï']?.tablesWithData).toBe(1);
    expect(contents.globals.roles).toBe(3);
  });

  it.each(['files-age', 'files-pass'] as const)('%s: every file read back', async (set) => {
    const result = await run('verify-latest', set, { 'max-age': OLD_ENOUGH });
    const details = succeeded(result);
    expect(result.outputs['latest-id']).toBe(SETS[set].newest);
    const manifest = await manifestOf(set);
    expect((details.contents as { files: unknown }).files).toEqual(manifest.files);
    expect(manifest.files).toMatchObject({ count: 9, bytes: 3071 });
  });

  it('a max-age the stored backup is older than fails, naming it', async () => {
    const age = (Date.now() - Date.parse((await manifestOf('db-age')).createdAt)) / 1000;
    const maxAge = `${Math.max(1, Math.floor(age) - 5)}s`;
    const result = await run('verify-latest', 'db-age', { 'max-age': maxAge, deep: 'false' });
    expect(result.code).toBe(1);
    expect(result.report?.error).toMatch(/^the newest backup is .* old, older than max-age /);
  });
});

describe('restore-test of the stored backups', () => {
  it.each(['db-age', 'db-pass'] as const)(
    '%s: every table restored, counts matched',
    async (set) => {
      const result = await run('restore-test', set, { 'database-url': testDatabaseUrl() });
      const details = succeeded(result);
      expect(result.outputs['backup-id']).toBe(SETS[set].newest);
      expect(result.outputs['restored-tables']).toBe('2');
      const comparison = details.comparison as { tables: { table: string; found: number }[] };
      const found = Object.fromEntries(comparison.tables.map((row) => [row.table, row.found]));
      expect(found).toEqual({ 'audit.log': 7, 'public.items': 25 });
    },
  );

  it.each([
    ['srv-age', 'true'],
    ['srv-pass', 'false'],
  ] as const)('%s (restore-globals %s): both databases, counts matched', async (set, globals) => {
    const result = await run('restore-test', set, {
      'database-url': testDatabaseUrl(),
      'restore-globals': globals,
      checks: 'shop: public.orders >= 34\n"Crm Ünï": SELECT count(*) = 12 FROM "Contacts"',
    });
    const details = succeeded(result);
    expect(result.outputs['backup-id']).toBe(SETS[set].newest);
    expect(result.outputs['restored-tables']).toBe('3');
    const databases = details.databases as {
      name: string;
      checks: { passed: boolean }[];
      comparison: { differing: unknown[] };
    }[];
    expect(databases.map((one) => one.name)).toEqual(['Crm Ünï', 'shop']);
    for (const one of databases) {
      expect(one.comparison.differing).toEqual([]);
      expect(one.checks.map((check) => check.passed)).toEqual([true]);
    }
    if (globals === 'true') {
      const roles = details.roles as { created: string[]; existing: string[]; left: string[] };
      expect(roles.created.sort()).toEqual(['fixture_owner', 'fixture_reader']);
      expect(roles.existing).toContain('postgres');
      expect(roles.left).toEqual([]);
    }
  });

  it.each(['files-age', 'files-pass'] as const)('%s: extracted, figures matched', async (set) => {
    const result = await run('restore-test', set);
    const details = succeeded(result);
    expect(result.outputs['backup-id']).toBe(SETS[set].newest);
    expect(details.files).toEqual((await manifestOf(set)).files);
  });
});

describe('restore of the stored backups', () => {
  const made: FreshDatabase[] = [];
  let cluster: PgCluster | undefined;

  afterAll(async () => {
    await Promise.all([...made.map((one) => one.drop()), cluster?.stop()]);
  });

  async function restoreDatabase(set: SetName, extra: Record<string, string> = {}) {
    const target = await freshDatabase('store_v1');
    made.push(target);
    const result = await run('restore', set, {
      'database-url': target.url,
      confirm: target.name,
      ...extra,
    });
    succeeded(result);
    expect(result.outputs['restored-tables']).toBe('2');
    return { result, found: await digests(target.url, ['items', 'audit.log']) };
  }

  it.each(['db-age', 'db-pass'] as const)('%s: the newest, row for row', async (set) => {
    const { result, found } = await restoreDatabase(set);
    expect(result.outputs['backup-id']).toBe(SETS[set].newest);
    expect(found).toEqual(expected.newest.db);
  });

  it('db-age: an older backup by its id, row for row', async () => {
    const { result, found } = await restoreDatabase('db-age', {
      'backup-id': SETS['db-age'].older,
    });
    expect(result.outputs['backup-id']).toBe(SETS['db-age'].older);
    expect(found).toEqual(expected.older.db);
  });

  it('srv-age with restore-globals into an empty cluster: data, owners and grants', async () => {
    cluster = await startCluster();
    const result = await run('restore', 'srv-age', {
      'database-url': cluster.url,
      confirm: 'shop, Crm Ünï',
      'restore-globals': 'true',
    });
    succeeded(result);
    expect(result.outputs['restored-tables']).toBe('3');
    const shop = withDatabase(cluster.url, 'shop');
    expect(await digests(shop, ['orders', 'customers'])).toEqual(expected.newest.shop);
    const crm = withDatabase(cluster.url, 'Crm Ünï');
    expect(await digests(crm, ['"Contacts"'])).toEqual(expected.newest.crm);
    const owners = await withClient(shop, async (client) => {
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT pg_get_userbyid(d.datdba) AS database, t.tableowner AS "table",
                has_table_privilege('fixture_reader', 'public.orders', 'SELECT') AS granted,
                pg_has_role('fixture_owner', 'fixture_reader', 'MEMBER') AS member
         FROM pg_database d, pg_tables t WHERE d.datname = 'shop' AND t.tablename = 'orders'`,
      );
      return rows[0];
    });
    expect(owners).toEqual({
      database: 'fixture_owner',
      table: 'fixture_owner',
      granted: true,
      member: true,
    });
  });

  it('srv-pass into databases of other names (target-database), row for row', async () => {
    cluster ??= await startCluster();
    const result = await run('restore', 'srv-pass', {
      'database-url': cluster.url,
      'target-database': 'shop=shop_pass\nCrm Ünï=crm_pass',
      confirm: 'shop_pass,crm_pass',
    });
    succeeded(result);
    expect(result.outputs['restored-tables']).toBe('3');
    const shop = withDatabase(cluster.url, 'shop_pass');
    expect(await digests(shop, ['orders', 'customers'])).toEqual(expected.newest.shop);
    const crm = withDatabase(cluster.url, 'crm_pass');
    expect(await digests(crm, ['"Contacts"'])).toEqual(expected.newest.crm);
  });

  it.each(['files-age', 'files-pass'] as const)('%s: every file, byte for byte', async (set) => {
    const target = path.join(work, `restored-${set}`);
    const result = await run('restore', set, { 'target-path': target, confirm: target });
    succeeded(result);
    expect(result.outputs['backup-id']).toBe(SETS[set].newest);
    const restored = path.join(target, 'source');
    const files = await filesUnder(SOURCE_TREE);
    expect(files).toHaveLength(5);
    expect(await filesUnder(restored)).toEqual(files);
    for (const file of files) {
      expect(await readFile(path.join(restored, file))).toEqual(
        await readFile(path.join(SOURCE_TREE, file)),
      );
    }
    const link = path.join(restored, 'docs', 'link-to-readme');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe('../readme.txt');
  });
});

describe('retention-prune of the stored backups', () => {
  it.each(Object.keys(SETS) as SetName[])(
    '%s: keep-last 1, dry run then real, on a copy',
    async (set) => {
      const copy = path.join(work, `prune-${set}`);
      await cp(store, copy, { recursive: true });
      const before = await filesUnder(copy);
      const older = 'older' in SETS[set] ? SETS[set].older : undefined;
      const dry = await run('retention-prune', set, { 'keep-last': '1', 'dry-run': 'true' }, copy);
      succeeded(dry);
      expect(dry.outputs).toMatchObject({ kept: '1', deleted: older ? '1' : '0' });
      expect(await filesUnder(copy)).toEqual(before);

      const real = await run('retention-prune', set, { 'keep-last': '1' }, copy);
      const details = succeeded(real);
      expect(real.outputs).toMatchObject({ kept: '1', deleted: older ? '1' : '0' });
      expect(details.deleted).toEqual(older ? [older] : []);
      const gone = before.filter((file) => older && file.startsWith(`${set}/${older}`));
      expect(gone.length).toBe(older ? (set.startsWith('srv') ? 4 : 2) : 0);
      expect(await filesUnder(copy)).toEqual(before.filter((file) => !gone.includes(file)));

      const after = await run('verify-latest', set, { 'max-age': OLD_ENOUGH, deep: 'false' }, copy);
      succeeded(after);
      expect(after.outputs['latest-id']).toBe(SETS[set].newest);
    },
  );
});
