/**
 * How often both restore modes make pg_restore read the archive besides the restore's own passes:
 * its table of contents once, with the database-level entries that only --create lists, and the
 * script of those entries (the database's owner, settings, comment and privileges) once. What
 * they read still arrives: the database's setting and comment are on the database restored into.
 *
 * Covers: src/restore/archive.ts, src/postgres/database-settings.ts, src/restore/owners.ts,
 * src/restore/scratch-test.ts, src/postgres/sql-lines.ts.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { findProgram } from '../../src/process/programs.js';
import { runAction } from '../support/action.js';
import { freshDatabase, sampleSource } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';

const sample = sampleSource('reads_src', 100);
let bin: string;
let calls: string;
let store: string;

/** The pg_restore runs since the last call, less `--version` and the restores into a database. */
async function archiveReads(): Promise<string[]> {
  const lines = (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  await rm(calls, { force: true });
  return lines.filter((line) => !/--version|--dbname=/.test(line));
}

/** What the database restored into holds of the source's setting and comment. */
async function settingAndComment(url: string) {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ setting: string[] | null; comment: string | null }>(
      `SELECT (SELECT setconfig FROM pg_db_role_setting s
                WHERE s.setdatabase = d.oid AND s.setrole = 0) AS setting,
              shobj_description(d.oid, 'pg_database') AS comment
         FROM pg_database d WHERE datname = current_database()`,
    );
    return rows[0];
  });
}

beforeAll(async () => {
  const { name } = sample.db;
  await withClient(sample.db.url, async (client) => {
    await client.query(`ALTER DATABASE ${name} SET work_mem = '8MB'`);
    await client.query(`COMMENT ON DATABASE ${name} IS 'the source'`);
  });
  // The machine's pg_restore, each of its runs written down first.
  const real = await findProgram('pg_restore');
  bin = path.join(sample.work, 'bin');
  calls = path.join(sample.work, 'pg_restore.calls');
  await mkdir(bin, { recursive: true });
  await writeFile(
    path.join(bin, 'pg_restore'),
    `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\nexec ${JSON.stringify(real.path)} "$@"\n`,
  );
  await chmod(path.join(bin, 'pg_restore'), 0o755);
  store = path.join(sample.work, 'store');
  const made = await runAction({ storage: store, name: 'reads', 'database-url': sample.db.url });
  expect(made.code, made.stdout).toBe(0);
});

describe('the archive is read once for its contents and once for its database entries', () => {
  it('restore-test', async () => {
    const run = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'reads',
      'database-url': testDatabaseUrl(),
      'pg-bin-dir': bin,
      'keep-database': 'true',
    });
    expect(run.code, run.stdout).toBe(0);
    const reads = await archiveReads();
    expect(reads.filter((line) => line.includes('--list'))).toHaveLength(1);
    expect(reads.filter((line) => line.includes('--use-list'))).toHaveLength(1);
    // The roles owners need and whether one pg_restore may restore it, from the schema script.
    expect(reads.filter((line) => line.includes('--schema-only'))).toHaveLength(1);
    expect(reads).toHaveLength(3);
    const scratch = /restore_test_reads_[0-9a-f]{6}/.exec(run.summary)?.[0];
    expect(scratch, run.summary).toBeDefined();
    const kept = withDatabaseName(scratch ?? '');
    try {
      expect(await settingAndComment(kept)).toEqual({
        setting: ['work_mem=8MB'],
        comment: expect.stringContaining('the source'),
      });
    } finally {
      await withClient(testDatabaseUrl(), (client) =>
        client.query(`DROP DATABASE IF EXISTS ${scratch ?? ''} WITH (FORCE)`),
      );
    }
  });

  it('restore', async () => {
    const target = await freshDatabase('reads_target');
    try {
      const run = await runAction({
        mode: 'restore',
        storage: store,
        name: 'reads',
        'database-url': target.url,
        confirm: target.name,
        'pg-bin-dir': bin,
      });
      expect(run.code, run.stdout).toBe(0);
      const reads = await archiveReads();
      expect(reads.filter((line) => line.includes('--list'))).toHaveLength(1);
      expect(reads.filter((line) => line.includes('--use-list'))).toHaveLength(1);
      // The roles owners need and whether one pg_restore may restore it, from the schema script.
      expect(reads.filter((line) => line.includes('--schema-only'))).toHaveLength(1);
      expect(reads).toHaveLength(3);
      expect(await settingAndComment(target.url)).toEqual({
        setting: ['work_mem=8MB'],
        comment: 'the source',
      });
    } finally {
      await target.drop();
    }
  });
});

function withDatabaseName(name: string): string {
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

describe('a database whose settings make it read-only', () => {
  it('is restore-tested: its settings are applied to the scratch database and reported', async () => {
    const source = await freshDatabase('reads_ro');
    try {
      await withClient(source.url, (client) =>
        client.query(`CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 5);
          ALTER DATABASE ${source.name} SET default_transaction_read_only = on`),
      );
      const roStore = path.join(sample.work, 'store-read-only');
      const made = await runAction({ storage: roStore, name: 'ro', 'database-url': source.url });
      expect(made.code, made.stdout).toBe(0);
      const run = await runAction({
        mode: 'restore-test',
        storage: roStore,
        name: 'ro',
        'database-url': testDatabaseUrl(),
      });
      expect(run.code, run.stdout).toBe(0);
      expect(run.summary).toMatch(/Database settings.*1 of 1 restored/);
    } finally {
      await source.drop();
    }
  });
});

describe('a comment or function body that holds a line like an owner statement', () => {
  it('does not make restore think a role is missing: owners and privileges are restored', async () => {
    const source = await freshDatabase('reads_forged');
    const target = await freshDatabase('reads_forged_into');
    try {
      await withClient(source.url, (client) =>
        client.query(`CREATE TABLE t (a int);
          COMMENT ON TABLE t IS E'harmless\nALTER TABLE public.t OWNER TO ghost_role;\n';
          CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$
          BEGIN
          EXECUTE 'x';
          END $$;
          COMMENT ON FUNCTION f() IS 'GRANT ALL ON TABLE public.t TO
GRANT ALL ON TABLE public.t TO ghost_grantee;
';`),
      );
      const forgedStore = path.join(sample.work, 'store-forged');
      const made = await runAction({
        storage: forgedStore,
        name: 'forged',
        'database-url': source.url,
      });
      expect(made.code, made.stdout).toBe(0);
      const run = await runAction({
        mode: 'restore',
        storage: forgedStore,
        name: 'forged',
        'database-url': target.url,
        confirm: target.name,
      });
      expect(run.code, run.stdout).toBe(0);
      expect(run.summary).toMatch(/Owners and privileges\s*\|?\s*restored/);
      expect(run.everything).not.toMatch(/ghost_role|ghost_grantee/);
    } finally {
      await target.drop();
      await source.drop();
    }
  });
});
