/**
 * docs/storage.md's restore by hand of a whole-server backup, run exactly as written (bash, age,
 * zstd, jq, psql, createdb, pg_restore) into a second, empty cluster. The backup is laid out by the
 * product's own layout and manifest code (keys, file names, a manifest that parses as a server
 * backup's), its objects made by pg_dump and pg_dumpall through zstd and age.
 *
 * Covers: docs/storage.md, src/core/layout.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { databaseObjectKey, globalsObjectKey, manifestKey } from '../../src/core/layout.js';
import { parseManifest, type ServerManifest } from '../../src/core/manifest.js';
import { libpqEnv, PAGE_ID, storagePageSteps } from '../support/by-hand.js';

const run = promisify(execFile);
/** The page's own example: its commands name this set (and PAGE_ID). */
const NAME = 'db1';
const ID = PAGE_ID;
const DATABASES = ['shop', 'Zürich "Kunden"'];

let source: PgCluster;
let target: PgCluster;
let dir: string;

/** Runs `command` on the source, its stdout through zstd and age into the file of `key`. */
async function store(command: string, key: string, recipient: string, database = 'postgres') {
  const file = path.join(dir, key);
  await mkdir(path.dirname(file), { recursive: true });
  await run('bash', ['-o', 'pipefail', '-c', `${command} | zstd -q | age -r "$R" > "$OUT"`], {
    env: { ...process.env, ...libpqEnv(source), PGDATABASE: database, R: recipient, OUT: file },
  });
  const bytes = await readFile(file);
  return { key, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'restore-by-hand-'));
  await withClient(source.url, async (c) => {
    await c.query(`CREATE ROLE app LOGIN PASSWORD 'app-secret'`);
    await c.query('CREATE ROLE reader');
    await c.query('GRANT reader TO app');
    await c.query('CREATE DATABASE shop OWNER app');
    await c.query(`CREATE DATABASE "Zürich ""Kunden"""`);
  });
  await withClient(withDatabase(source.url, 'shop'), async (c) => {
    await c.query('SET ROLE app');
    await c.query('CREATE TABLE orders AS SELECT generate_series(1, 250) AS id');
    await c.query('GRANT SELECT ON orders TO reader');
  });
  await withClient(withDatabase(source.url, DATABASES[1]!), (c) =>
    c.query(`CREATE TABLE "Kontakte" AS SELECT generate_series(1, 7) AS id`),
  );

  const identity = await generateIdentity();
  await writeFile(path.join(dir, 'key.txt'), `${identity}\n`, { mode: 0o600 });
  const recipient = await identityToRecipient(identity);
  const databases = [];
  for (const name of DATABASES) {
    const key = databaseObjectKey(NAME, ID, name, 'zstd', 'age');
    databases.push({ name, object: await store('pg_dump -Fc -Z0', key, recipient, name) });
  }
  const globals = await store(
    'pg_dumpall --globals-only',
    globalsObjectKey(NAME, ID, 'zstd', 'age'),
    recipient,
  );
  const manifest: ServerManifest = {
    version: 1,
    id: ID,
    name: NAME,
    createdAt: '2026-11-22T03:17:00Z',
    completedAt: '2026-11-22T03:17:09Z',
    compression: 'zstd',
    encryption: 'age',
    tool: { name: 'backup-action', version: 'test' },
    source: { kind: 'server' },
    format: 'pg_dump-custom',
    databases,
    globals: {
      object: globals,
      roles: ['app', 'postgres', 'reader'],
      rolePasswords: true,
    },
  };
  const text = JSON.stringify(manifest, null, 2);
  parseManifest(text, manifestKey(NAME, ID), NAME);
  await writeFile(path.join(dir, manifestKey(NAME, ID)), text);
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("docs/storage.md's restore by hand brings back every database under its exact name, with its owner, grants and the roles", async () => {
  const steps = (await storagePageSteps('### A server backup')).replace(/^aws s3 cp .*\n/m, '');
  expect(steps).toContain(`id=${ID}`);
  const { stderr } = await run('bash', ['-c', steps], {
    cwd: dir,
    env: { ...process.env, ...libpqEnv(target) },
  });
  expect(stderr).toBe('');

  const names = await withClient(target.url, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE NOT datistemplate',
    );
    return rows.map((r) => r.datname).sort();
  });
  expect(names).toEqual(['postgres', ...DATABASES].sort());
  const shop = await withClient(withDatabase(target.url, 'shop'), async (c) => {
    const { rows } = await c.query(
      `SELECT count(*)::int AS rows, pg_get_userbyid(relowner) AS owner,
              has_table_privilege('reader', 'orders', 'SELECT') AS granted,
              pg_has_role('app', 'reader', 'MEMBER') AS member
         FROM orders, pg_class WHERE relname = 'orders' GROUP BY relowner`,
    );
    return rows[0];
  });
  expect(shop).toEqual({ rows: 250, owner: 'app', granted: true, member: true });
  const kontakte = await withClient(withDatabase(target.url, DATABASES[1]!), (c) =>
    c.query('SELECT count(*)::int AS n FROM "Kontakte"'),
  );
  expect(kontakte.rows[0]).toEqual({ n: 7 });
  // The roles came with the source's passwords, but not the role the steps connect as: the
  // connections above, after the roles were applied, still used the target's own password.
  const app = new URL(withDatabase(target.url, 'shop'));
  app.username = 'app';
  app.password = 'app-secret';
  await withClient(app.toString(), (c) => c.query('SELECT 1'));
});
