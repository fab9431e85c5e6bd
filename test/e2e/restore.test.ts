/**
 * restore: a chosen backup into a real target, guarded by confirm and by clean for a non-empty target.
 *
 * Covers: src/modes/restore.ts, src/restore/restore-database.ts, src/restore/owners.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums } from '../../scripts/lib/sample-db.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { freshDatabase, sampleSource, type FreshDatabase } from '../support/db.js';

const sample = sampleSource('restore_src', 600);
let target: FreshDatabase;
let store: string;
let backupId: string;

beforeAll(async () => {
  target = await freshDatabase('restore_target');
  store = path.join(sample.work, 'store');
  const made = await runAction({ storage: store, 'database-url': sample.db.url, name: 'app' });
  expect(made.code, made.stdout).toBe(0);
  backupId = made.outputs['backup-id'] ?? '';
});

afterAll(async () => {
  await target.drop();
});

const restore = (inputs: Record<string, string>) =>
  runAction({
    mode: 'restore',
    storage: store,
    name: 'app',
    'database-url': target.url,
    ...inputs,
  });

async function tableNames(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query(
    `SELECT 1 FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  );
  await client.end();
  return rows.length;
}

describe('restore', () => {
  it('refuses without confirm, or with a confirm that is not the target’s name, before any work', async () => {
    for (const confirm of ['', 'production']) {
      const run = await restore({ confirm });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(new RegExp(`^Input "confirm": .*${target.name}`));
    }
    expect(await tableNames(target.url)).toBe(0);
  });

  it('restores a chosen backup into an empty target; the data equals the source', async () => {
    const run = await restore({ confirm: target.name, 'backup-id': backupId });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['backup-id']).toBe(backupId);
    expect(Number(run.outputs['restored-tables'])).toBeGreaterThan(5);
    expect(run.summary).toContain('no (the target was empty)');
    expect(await tableChecksums(target.url)).toEqual(await tableChecksums(sample.db.url));
  });

  it('refuses a non-empty target unless clean, then drops and recreates its objects', async () => {
    const refused = await restore({ confirm: target.name });
    expect(refused.code).not.toBe(0);
    expect(lastErrorLine(refused)).toMatch(/is not empty \(\d+ tables\); set clean: true/);

    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      await client.query('UPDATE public.customers SET name = upper(name)');
    } finally {
      await client.end();
    }
    expect(await tableChecksums(target.url)).not.toEqual(await tableChecksums(sample.db.url));

    const cleaned = await restore({ confirm: target.name, clean: 'true' });
    expect(cleaned.code, cleaned.stdout).toBe(0);
    expect(cleaned.summary).toMatch(/Replaced whole \| yes/);
    expect(cleaned.summary).toMatch(/Target now \| replaced whole by the backup/);
    expect(await tableChecksums(target.url)).toEqual(await tableChecksums(sample.db.url));
  });

  it('names a backup id that does not exist', async () => {
    const run = await restore({
      confirm: target.name,
      clean: 'true',
      'backup-id': '20200101T000000Z-000000',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/^no backup 20200101T000000Z-000000 in set "app"/);
  });

  it('keeps owners and grants when the target has the roles', async () => {
    const owned = await freshDatabase('restore_owned');
    const copy = await freshDatabase('restore_owned_copy');
    const ownedStore = await mkdtemp(path.join(os.tmpdir(), 'restore-owned-'));
    const admin = new pg.Client({ connectionString: owned.url });
    await admin.connect();
    try {
      // Roles are the cluster's, shared by both databases, as on a real server.
      await admin.query(
        `DO $$ BEGIN CREATE ROLE restore_owner_role; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      );
      await admin.query(`CREATE TABLE public.owned (id int); INSERT INTO public.owned VALUES (1)`);
      await admin.query(`ALTER TABLE public.owned OWNER TO restore_owner_role`);
      await admin.query(`GRANT SELECT ON public.owned TO PUBLIC`);
      const made = await runAction({ storage: ownedStore, 'database-url': owned.url, name: 'o' });
      expect(made.code, made.stdout).toBe(0);
      const run = await runAction({
        mode: 'restore',
        storage: ownedStore,
        name: 'o',
        'database-url': copy.url,
        confirm: copy.name,
      });
      expect(run.code, run.stdout).toBe(0);
      const check = new pg.Client({ connectionString: copy.url });
      await check.connect();
      const { rows } = await check.query(
        `SELECT tableowner, has_table_privilege('public', 'public.owned', 'SELECT') AS granted
         FROM pg_tables WHERE tablename = 'owned'`,
      );
      await check.end();
      expect(rows).toEqual([{ tableowner: 'restore_owner_role', granted: true }]);
    } finally {
      await admin.end();
      await Promise.all([owned.drop(), copy.drop()]);
      await rm(ownedStore, { recursive: true, force: true });
    }
  });
});
