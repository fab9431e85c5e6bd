/**
 * An older backup of a database whose name holds a line break (made before backups refused one):
 * restore and restore-test refuse it up front, and their one line names the way out, which
 * docs/storage.md's "A database named with a line break" shows. That block runs here exactly as
 * written (bash, age, zstd, createdb, pg_restore) on such a backup, laid out by the product's own
 * layout and manifest code, its object made by pg_dump through zstd and age: on PostgreSQL 15, and
 * on 18 where its programs are built.
 *
 * Covers: src/core/database-names.ts, docs/storage.md.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCluster,
  withClient,
  withDatabase,
  type PgCluster,
} from '../../scripts/lib/pg-cluster.js';
import { manifestKey, objectExtension, objectKey } from '../../src/core/layout.js';
import { parseManifest, serializeManifest, type Manifest } from '../../src/core/manifest.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { libpqEnv, PAGE_ID, storagePageSteps } from '../support/by-hand.js';
import { pg18Toolchain } from '../support/pg18.js';
import { requireInCI } from '../support/require-in-ci.js';

const run = promisify(execFile);
/** The page's own example: its commands name this set (and PAGE_ID). */
const NAME = 'shop';
const ID = PAGE_ID;
const DATABASE = 'nl\ndb';

let work: string;
let identity: string;

const pgEnv = (cluster: PgCluster, bin?: string) => ({
  ...process.env,
  ...(bin ? { PATH: `${bin}:${process.env.PATH ?? ''}` } : {}),
  ...libpqEnv(cluster),
});

/**
 * A store in a new folder holding one backup of DATABASE on `cluster` as backups were made before
 * they refused it: pg_dump's archive through zstd and age, and its manifest.
 */
async function olderBackup(cluster: PgCluster, label: string, bin?: string): Promise<string> {
  const store = path.join(work, label);
  const key = objectKey(NAME, ID, objectExtension('pg_dump-custom', 'zstd', 'age'));
  const file = path.join(store, key);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(path.join(store, 'key.txt'), `${identity}\n`, { mode: 0o600 });
  const dump = `pg_dump -Fc -Z0 | zstd -q | age -r "$R" > "$OUT"`;
  await run('bash', ['-o', 'pipefail', '-c', dump], {
    env: {
      ...pgEnv(cluster, bin),
      PGDATABASE: DATABASE,
      R: await identityToRecipient(identity),
      OUT: file,
    },
  });
  const bytes = await readFile(file);
  const manifest: Manifest = {
    version: 1,
    id: ID,
    name: NAME,
    createdAt: '2026-11-22T03:17:00Z',
    completedAt: '2026-11-22T03:17:09Z',
    source: { kind: 'postgres', database: DATABASE },
    format: 'pg_dump-custom',
    compression: 'zstd',
    encryption: 'age',
    object: { key, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    tool: { name: 'backup-action', version: 'older' },
  };
  const text = serializeManifest(manifest);
  parseManifest(text, manifestKey(NAME, ID), NAME);
  await writeFile(path.join(store, manifestKey(NAME, ID)), text);
  return store;
}

/** DATABASE on `cluster`, holding 5 rows in `t`. */
async function makeDatabase(cluster: PgCluster): Promise<void> {
  await withClient(cluster.url, (client) =>
    client.query(`CREATE DATABASE ${pg.escapeIdentifier(DATABASE)}`),
  );
  await withClient(withDatabase(cluster.url, DATABASE), (client) =>
    client.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 5) g'),
  );
}

/** Runs the page's block in `store` against `cluster`; the rows of `restored.t` after it. */
async function restoreByHand(cluster: PgCluster, store: string, bin?: string): Promise<number> {
  const { stderr } = await run(
    'bash',
    ['-e', '-c', await storagePageSteps('### A database named with a line break')],
    {
      cwd: store,
      env: pgEnv(cluster, bin),
    },
  );
  expect(stderr).toBe('');
  return withClient(withDatabase(cluster.url, 'restored'), async (client) => {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    return rows[0]!.n;
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'line-break-by-hand-'));
  identity = await generateIdentity();
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('an older backup of a database named with a line break, on PostgreSQL 15', () => {
  let cluster: PgCluster;
  let store: string;

  beforeAll(async () => {
    cluster = await startCluster();
    await makeDatabase(cluster);
    store = await olderBackup(cluster, 'fifteen');
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('restore and restore-test refuse it up front, naming the way out by hand', async () => {
    const common = { storage: store, name: NAME, 'age-identity': identity };
    const test = await runAction({ ...common, mode: 'restore-test', 'database-url': cluster.url });
    const restore = await runAction({
      ...common,
      mode: 'restore',
      'database-url': withDatabase(cluster.url, 'elsewhere'),
      confirm: 'elsewhere',
    });
    for (const refused of [test, restore]) {
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toBe(
        `backup ${ID} holds the database "nl\\ndb", which cannot be restored: its name holds a line break, which pg_dumpall and pg_restore --create refuse to write ("database name contains a newline or carriage return"); nothing was restored; its contents restore by hand: download its archive and run pg_restore --dbname=NEWDB on it, without --create (docs/storage.md#a-database-named-with-a-line-break)`,
      );
    }
  }, 120_000);

  it('docs/storage.md’s way out restores its contents into another database', async () => {
    expect(await restoreByHand(cluster, store)).toBe(5);
  }, 120_000);
});

const pg18 = pg18Toolchain();

describe.skipIf(requireInCI(pg18.missing))('the same on PostgreSQL 18', () => {
  it('docs/storage.md’s way out restores its contents into another database', async () => {
    const cluster = await startCluster({ bindir: pg18.serverBin });
    try {
      await makeDatabase(cluster);
      const store = await olderBackup(cluster, 'eighteen', pg18.clientBin);
      expect(await restoreByHand(cluster, store, pg18.clientBin)).toBe(5);
    } finally {
      await cluster.stop();
    }
  }, 180_000);
});
