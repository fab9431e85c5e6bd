/**
 * Whole-server backups (`databases`), as users run them: the bundled action against a cluster of
 * its own holding several databases and roles, each stored object then opened by hand with the
 * standard programs (age, zstd, pg_restore), no backup-action code.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerManifest } from '../src/core/manifest.js';
import { databaseObjectKey, globalsObjectKey } from '../src/core/layout.js';
import { lastErrorLine, runAction, type ActionRun } from './support/action.js';
import { filesUnder } from './support/listing.js';
import {
  APP_OWNER_PASSWORD,
  SERVER_DATABASES as DB,
  startServerCluster,
  type ServerCluster,
} from './support/server-cluster.js';

const exec = promisify(execFile);

let cluster: ServerCluster;
let work: string;
let identity: string;
let recipient: string;

beforeAll(async () => {
  cluster = await startServerCluster();
  work = await mkdtemp(path.join(os.tmpdir(), 'server-backup-'));
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

let stores = 0;
const newStore = () => path.join(work, `store-${++stores}`);

async function manifestOf(store: string, run: ActionRun): Promise<ServerManifest> {
  const text = await readFile(path.join(store, run.outputs['manifest-key'] ?? ''), 'utf8');
  return JSON.parse(text) as ServerManifest;
}

/** age -d, then zstd -d: the bytes a stored object holds, by hand. */
async function openByHand(file: string): Promise<Buffer> {
  const dir = await mkdtemp(path.join(work, 'by-hand-'));
  try {
    const keyFile = path.join(dir, 'key.txt');
    await writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
    await exec('age', ['-d', '-i', keyFile, '-o', path.join(dir, 'plain.zst'), file]);
    await exec('zstd', [
      '-q',
      '-d',
      '-f',
      '-o',
      path.join(dir, 'plain'),
      path.join(dir, 'plain.zst'),
    ]);
    return await readFile(path.join(dir, 'plain'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function tocOf(archive: Buffer): Promise<string> {
  const file = path.join(work, `archive-${Math.random().toString(16).slice(2)}.dump`);
  await writeFile(file, archive);
  try {
    return (await exec('pg_restore', ['--list', file])).stdout;
  } finally {
    await rm(file, { force: true });
  }
}

const CONNECTABLE = [DB.app, DB.crm, 'postgres', DB.shop].sort();

describe('databases: all, encrypted with age', () => {
  let store: string;
  let run: ActionRun;
  let manifest: ServerManifest;

  beforeAll(async () => {
    store = newStore();
    run = await runAction({
      storage: store,
      name: 'server',
      'database-url': cluster.url,
      databases: 'all',
      'age-recipients': recipient,
    });
    if (run.code === 0) manifest = await manifestOf(store, run);
  }, 120_000);

  it('publishes one manifest listing every connectable database by exact name, and the globals', async () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const id = run.outputs['backup-id'] ?? '';
    expect(manifest.source).toEqual({ kind: 'server', serverVersion: expect.any(String) });
    expect(manifest.databases.map((d) => d.name).sort()).toEqual(CONNECTABLE);
    const keys = [
      ...CONNECTABLE.map((name) => databaseObjectKey('server', id, name, 'zstd', 'age')),
      globalsObjectKey('server', id, 'zstd', 'age'),
    ];
    expect(await filesUnder(store)).toEqual([...keys, `server/${id}.manifest.json`].sort());
    expect(manifest.globals?.roles).toEqual(
      expect.arrayContaining(['app_owner', 'app_reader', 'postgres', 'reader_admin']),
    );
    expect(manifest.globals?.rolePasswords).toBe(true);
    expect(run.outputs['backup-key']).toBe(`server/${id}/`);
    const total = [...manifest.databases.map((d) => d.object), manifest.globals!.object].reduce(
      (sum, o) => sum + o.size,
      0,
    );
    expect(Number(run.outputs['size-bytes'])).toBe(total);
  });

  it('names the database it skipped because it accepts no connections', () => {
    expect(run.stdout).toMatch(/::warning::.*"archive_closed".*does not accept connections/);
    expect(manifest.databases.map((d) => d.name)).not.toContain(DB.closed);
  });

  it('records each database’s row counts in its own snapshot', () => {
    for (const [name, counts] of Object.entries(cluster.rows)) {
      expect(manifest.databases.find((d) => d.name === name)?.rowCounts).toEqual(counts);
    }
  });

  it('every database object opens by hand (age -d, zstd -d, pg_restore --list) with its tables', async () => {
    const tables: Record<string, string[]> = {
      [DB.shop]: ['orders', 'customers'],
      [DB.crm]: ['Contacts'],
      [DB.app]: ['accounts'],
    };
    for (const record of manifest.databases) {
      const toc = await tocOf(await openByHand(path.join(store, record.object.key)));
      for (const table of tables[record.name] ?? []) {
        expect(toc, record.name).toMatch(new RegExp(`TABLE DATA \\S+ ${table} `));
      }
    }
    const app = await tocOf(
      await openByHand(
        path.join(store, manifest.databases.find((d) => d.name === DB.app)!.object.key),
      ),
    );
    expect(app).toMatch(/TABLE public accounts app_owner/);
    expect(app).toMatch(/ACL public TABLE accounts/);
  });

  it('the globals open by hand as SQL: roles, the membership and a SCRAM password hash', async () => {
    const sql = (await openByHand(path.join(store, manifest.globals!.object.key))).toString('utf8');
    expect(sql).toMatch(/CREATE ROLE app_owner;/);
    expect(sql).toMatch(/CREATE ROLE app_reader;/);
    expect(sql).toMatch(/GRANT app_reader TO app_owner/);
    expect(sql).toMatch(/ALTER ROLE app_owner WITH .*PASSWORD 'SCRAM-SHA-256\$/);
    expect(sql).not.toContain(APP_OWNER_PASSWORD);
  });

  it('reports each database in a table and the facts', () => {
    expect(run.summary).toContain('| Database | Object | Size | Tables | Rows |');
    expect(run.summary).toContain(DB.crm);
    expect(run.summary).toMatch(/Role passwords/);
  });
});

describe('a list with globs and exclude-databases', () => {
  it('selects exactly the databases matched and not excluded', async () => {
    const store = newStore();
    const run = await runAction({
      storage: store,
      name: 'picked',
      'database-url': cluster.url,
      databases: 'Crm*\nshop\napp_*',
      'exclude-databases': 'app_*',
      globals: 'false',
      compression: 'none',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const manifest = await manifestOf(store, run);
    expect(manifest.databases.map((d) => d.name).sort()).toEqual([DB.crm, DB.shop].sort());
    expect(manifest.globals).toBeUndefined();
  });

  it('an entry that matches nothing fails before any work, naming it', async () => {
    const store = newStore();
    const run = await runAction({
      storage: store,
      name: 'picked',
      'database-url': cluster.url,
      databases: 'shop\nbilling_*',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/databases.*"billing_\*" matches no database/);
    expect(await filesUnder(store)).toEqual([]);
  });
});
