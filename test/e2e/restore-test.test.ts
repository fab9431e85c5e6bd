/**
 * restore-test end to end: real backups restored into scratch databases on a real server, the
 * manifest's counts compared, user checks run, and the scratch database gone afterwards every time.
 *
 * Covers: src/modes/restore-test.ts, src/restore/scratch-test.ts, src/restore/checks.ts,
 * src/restore/archive.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tableRowCounts } from '../../scripts/lib/sample-db.js';
import { lastErrorLine, runAction, signalOnceShown } from '../support/action.js';
import { freshDatabase, sampleSource } from '../support/db.js';
import { failingProgram } from '../support/failing-program.js';
import { S3_ENV, testDatabaseUrl, testS3Bucket, testS3Endpoint } from '../support/env.js';

const sample = sampleSource('rt_src', 1000);

/** Scratch databases of a set still on the server. */
async function scratchDatabases(set: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
      [`restore_test_${set.replace(/[^a-z0-9_]/g, '_')}_%`],
    );
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

async function backupTo(set: string, extra: Record<string, string> = {}) {
  const store = path.join(sample.work, set);
  const run = await runAction({
    storage: store,
    'database-url': sample.db.url,
    name: set,
    ...extra,
  });
  expect(run.code, run.stdout).toBe(0);
  return { store, run };
}

const restoreTest = (store: string, set: string, extra: Record<string, string> = {}, env = {}) =>
  runAction(
    {
      mode: 'restore-test',
      storage: store,
      name: set,
      'database-url': testDatabaseUrl(),
      ...extra,
    },
    { env },
  );

describe('a good backup passes', () => {
  it('restores, matches every table’s count, runs checks, reports the recovery time, drops the scratch database', async () => {
    const { store } = await backupTo('rt_plain');
    const run = await restoreTest(store, 'rt_plain', {
      checks: 'sales.orders >= 1000\nSELECT count(*) = 100 FROM public.customers',
      jobs: '2',
    });
    expect(run.code, run.stdout).toBe(0);
    const tables = Object.keys(await tableRowCounts(sample.db.url)).length;
    expect(Number(run.outputs['restored-tables'])).toBe(tables);
    expect(Number(run.outputs['restore-seconds'])).toBeGreaterThan(0);
    expect(run.summary).toContain('#### Recovery time');
    expect(run.summary).toMatch(/\| download, verify, decrypt, decompress \| [\d.]+ s \|/);
    expect(run.summary).toMatch(/\| public\.customers \| 100 \| 100 \| ✅ \|/);
    expect(run.summary).toMatch(/\| sales\.orders >= 1000 \| 1000 \| ✅ pass \|/);
    expect(run.summary).toMatch(
      /\| SELECT count\(\*\) = 100 FROM public\.customers \| true \| ✅ pass \|/,
    );
    expect(await scratchDatabases('rt_plain')).toEqual([]);
  });

  it('decompresses with Node’s zstd when BACKUP_ACTION_ZSTD=node', async () => {
    const { store } = await backupTo('rt_nodezstd');
    const run = await restoreTest(store, 'rt_nodezstd', {}, { BACKUP_ACTION_ZSTD: 'node' });
    expect(run.code, run.stdout).toBe(0);
    const tables = Object.keys(await tableRowCounts(sample.db.url)).length;
    expect(Number(run.outputs['restored-tables'])).toBe(tables);
  });

  it('restores an age-encrypted backup from S3', async () => {
    const identity = await generateIdentity();
    const s3 = {
      storage: `s3://${testS3Bucket()}/rt-${process.pid}`,
      's3-endpoint': testS3Endpoint(),
    };
    const made = await runAction(
      {
        ...s3,
        'database-url': sample.db.url,
        name: 'rt_age',
        'age-recipients': await identityToRecipient(identity),
      },
      { env: S3_ENV },
    );
    expect(made.code, made.stdout).toBe(0);
    const run = await restoreTest(
      s3.storage,
      'rt_age',
      { ...s3, 'age-identity': identity },
      S3_ENV,
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['backup-id']).toBe(made.outputs['backup-id']);
    expect(await scratchDatabases('rt_age')).toEqual([]);
  });

  it('restore-globals (the reusable workflows pass it) on a one-database backup is no mistake', async () => {
    const { store } = await backupTo('rt_globals');
    const run = await restoreTest(store, 'rt_globals', { 'restore-globals': 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/restore-globals: backup \S+ is of one database and holds no roles/);
    expect(await scratchDatabases('rt_globals')).toEqual([]);
  });

  it('keep-database keeps the scratch database and names it', async () => {
    const { store } = await backupTo('rt_keep');
    const run = await restoreTest(store, 'rt_keep', { 'keep-database': 'true' });
    expect(run.code, run.stdout).toBe(0);
    const kept = await scratchDatabases('rt_keep');
    expect(kept).toHaveLength(1);
    expect(run.stdout).toContain(`the scratch database ${kept[0]} was kept`);
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    await client.query(`DROP DATABASE "${kept[0]}" WITH (FORCE)`);
    await client.end();
  });
});

describe('a bad backup fails, and leaves no scratch database', () => {
  it('a table emptied after the manifest was written fails, naming it with expected and found', async () => {
    const { store, run: made } = await backupTo('rt_forged');
    const manifestFile = path.join(store, made.outputs['manifest-key'] ?? '');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.rowCounts['public.customers'] = 4321;
    await writeFile(manifestFile, JSON.stringify(manifest));
    const run = await restoreTest(store, 'rt_forged');
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toBe(
      '1 table(s) differ from the manifest: public.customers: expected 4321, found 100',
    );
    expect(run.summary).toMatch(/\| public\.customers \| 4,321 \| 100 \| ❌ \|/);
    expect(await scratchDatabases('rt_forged')).toEqual([]);
  });

  it('a failing check fails; a check that is not one boolean fails with why', async () => {
    const { store } = await backupTo('rt_checks');
    const run = await restoreTest(store, 'rt_checks', {
      checks: 'sales.orders >= 5000\nSELECT count(*) FROM sales.orders\nSELECT true',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^2 check\(s\) failed: sales\.orders >= 5000 \(1000\), SELECT count\(\*\) FROM sales\.orders \(returned "1000", not a boolean\)$/,
    );
    expect(run.summary).toMatch(/\| SELECT true \| true \| ✅ pass \|/);
    expect(await scratchDatabases('rt_checks')).toEqual([]);
  });

  it('a corrupted object fails naming the checksum before anything is restored; even keep-database keeps nothing', async () => {
    const { store, run: made } = await backupTo('rt_corrupt');
    const object = path.join(store, made.outputs['backup-key'] ?? '');
    const bytes = await readFile(object);
    bytes.writeUInt8(bytes.readUInt8(200) ^ 0xff, 200);
    await writeFile(object, bytes);
    const run = await restoreTest(store, 'rt_corrupt', { 'keep-database': 'true' });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^sha256 of rt_corrupt\/.* is [0-9a-f]{64}, but its manifest records/,
    );
    expect(run.stdout).not.toContain('restoring into scratch database');
    expect(await scratchDatabases('rt_corrupt')).toEqual([]);
  });

  it('a zstd program that fails while decompressing fails the run naming zstd', async () => {
    const { store } = await backupTo('rt_badzstd');
    const PATH = await failingProgram(path.join(sample.work, 'failing-zstd'), 'zstd', {
      reads: 'all',
      code: 5,
      message: 'zstd: simulated write error',
    });
    const run = await restoreTest(store, 'rt_badzstd', {}, { PATH });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run), run.stdout + run.stderr).toMatch(
      /zstd exited with code 5: zstd: simulated write error/,
    );
    expect(run.stdout).not.toContain('restoring into scratch database');
    expect(await scratchDatabases('rt_badzstd')).toEqual([]);
  });

  it('an unreachable server fails before anything is downloaded', async () => {
    const { store } = await backupTo('rt_unreachable');
    const url = new URL(testDatabaseUrl());
    url.port = '1';
    // A refused connection passes (retries would run it again, as backup does): once is enough here.
    const run = await restoreTest(store, 'rt_unreachable', {
      'database-url': url.href,
      retries: '0',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^cannot connect to postgres(ql)?:\/\/postgres:\*\*\*@127\.0\.0\.1:1\//,
    );
  });

  it('an interrupted restore-test still drops the scratch database', async () => {
    const big = await freshDatabase('rt_big');
    try {
      const client = new pg.Client({ connectionString: big.url });
      await client.connect();
      await client.query(
        `CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 6) AS text FROM generate_series(1, 600000) g`,
      );
      await client.end();
      const store = path.join(sample.work, 'rt_interrupted');
      const made = await runAction({
        storage: store,
        'database-url': big.url,
        name: 'rt_interrupted',
      });
      expect(made.code, made.stdout).toBe(0);
      const run = await runAction(
        {
          mode: 'restore-test',
          storage: store,
          name: 'rt_interrupted',
          'database-url': testDatabaseUrl(),
        },
        {
          // Cancel the way GitHub does, once pg_restore is at work in the scratch database.
          onStart: signalOnceShown('restoring into scratch database', 'SIGINT', 300),
        },
      );
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
      expect(run.stdout).toContain('restoring into scratch database');
      expect(await scratchDatabases('rt_interrupted')).toEqual([]);
    } finally {
      await big.drop();
    }
  });
});

describe('what the backup holds', () => {
  it('tables that pg-dump-args left out, or left the rows of, are reported, not failed', async () => {
    const { store } = await backupTo('rt_partial', {
      'pg-dump-args': '--exclude-table=inventory.stock\n--exclude-table-data=sales.order_lines',
    });
    const run = await restoreTest(store, 'rt_partial');
    expect(run.code, run.stdout).toBe(0);
    // The backup counted neither (it never scans what the dump leaves out).
    expect(run.summary).not.toContain('inventory.stock');
    expect(run.summary).toMatch(/\| sales\.order_lines \| — \| 0 \| rows not in the dump \|/);
    expect(run.summary).toMatch(/\| public\.customers \| 100 \| 100 \| ✅ \|/);
    expect(await scratchDatabases('rt_partial')).toEqual([]);
  });

  it('a hand-edited rowCounts naming `constructor`, `__proto__` or a table the archive lacks is a corrupt manifest (issue 27, item 13)', async () => {
    const { store, run: made } = await backupTo('rt_forged_counts');
    const key = made.outputs['manifest-key']!;
    const file = path.join(store, key);
    const edited = (await readFile(file, 'utf8')).replace(
      '"rowCounts": {',
      '"rowCounts": {"constructor": 1, "__proto__": 2, "public.ghost": 3, ',
    );
    expect(edited).toContain('"public.ghost": 3');
    await writeFile(file, edited);
    const run = await restoreTest(store, 'rt_forged_counts');
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toContain(
      `corrupt manifest ${key}: rowCounts counts 3 table(s) the archive does not hold: __proto__, constructor, public.ghost`,
    );
    expect(run.summary).not.toContain('NaN');
    expect(await scratchDatabases('rt_forged_counts')).toEqual([]);
  });

  it('a check cannot end its read-only transaction to change the restored database', async () => {
    const { store } = await backupTo('rt_escape');
    const lines = (await tableRowCounts(sample.db.url))['sales.order_lines'];
    const run = await restoreTest(store, 'rt_escape', {
      checks: `SELECT true; COMMIT; DELETE FROM sales.order_lines; SELECT true\nsales.order_lines = ${lines}`,
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /^1 check\(s\) failed: SELECT true; COMMIT; DELETE FROM sales\.order_lines; SELECT true \(/,
    );
    expect(run.summary).toContain(`| sales.order_lines = ${lines} | ${lines} | ✅ pass |`);
    expect(await scratchDatabases('rt_escape')).toEqual([]);
  });
});
