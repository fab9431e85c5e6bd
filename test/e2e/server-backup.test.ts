/**
 * Whole-server backups (`databases`), as users run them: the bundled action against a cluster of
 * its own holding several databases and roles, each stored object then opened by hand with the
 * standard programs (age, zstd, pg_restore), no backup-action code.
 *
 * Covers: src/kinds/server/backup.ts, src/postgres/server-databases.ts, src/postgres/globals.ts,
 * src/pipeline/store-all.ts.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, type ServerManifest } from '../../src/core/manifest.js';
import { databaseObjectKey, globalsObjectKey } from '../../src/core/layout.js';
import pg from 'pg';
import { startCluster, withClient } from '../../scripts/lib/pg-cluster.js';
import { pg18Toolchain } from '../support/pg18.js';
import { requireInCI } from '../support/require-in-ci.js';
import {
  lastErrorLine,
  onceShown,
  runAction,
  type ActionRun,
  type RunOptions,
} from '../support/action.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { examplePolicy } from '../support/iam.js';
import { filesUnder } from '../support/listing.js';
import {
  APP_OWNER_PASSWORD,
  OPS_ROLE,
  SERVER_DATABASES as DB,
  startServerCluster,
  type ServerCluster,
} from '../support/server-cluster.js';

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

/** A backup of this file's cluster (as its superuser, unless the inputs say) into a new store. */
async function backupInto(inputs: Record<string, string>, options?: RunOptions) {
  const store = newStore();
  const run = await runAction({ storage: store, 'database-url': cluster.url, ...inputs }, options);
  return { store, run };
}

/** The run's manifest, read as strictly as every mode reads it. */
async function manifestOf(store: string, run: ActionRun): Promise<ServerManifest> {
  const key = run.outputs['manifest-key'] ?? '';
  const manifest = parseManifest(await readFile(path.join(store, key), 'utf8'), key);
  if (!('databases' in manifest)) throw new Error(`${key} is not a server backup's manifest`);
  return manifest;
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

/** What the superuser's `all` dumps; reader_admin may not connect to DB.restricted. */
const CONNECTABLE = [DB.app, DB.crm, 'postgres', DB.restricted, DB.shop].sort();
const READER_CONNECTABLE = CONNECTABLE.filter((name) => name !== DB.restricted);

describe('databases: all, encrypted with age', () => {
  let store: string;
  let run: ActionRun;
  let manifest: ServerManifest;

  beforeAll(async () => {
    ({ store, run } = await backupInto({
      name: 'server',
      databases: 'all',
      'age-recipients': recipient,
    }));
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
    expect(sql).toContain(`GRANT app_reader TO "${OPS_ROLE}"`);
    // The manifest names exactly the roles the SQL creates.
    const created = [...sql.matchAll(/^CREATE ROLE (.+);$/gm)].map(([, name = '']) =>
      name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name,
    );
    expect([...manifest.globals!.roles].sort()).toEqual(created.sort());
    expect(created).toContain(OPS_ROLE);
  });

  it('reports each database in a table and the facts', () => {
    expect(run.summary).toContain('| Database | Object | Size | Tables | Rows |');
    expect(run.summary).toContain(DB.crm);
    expect(run.summary).toMatch(/Role passwords/);
  });
});

describe('gzip in Node, not encrypted', () => {
  it('stores the database and the globals as .gz that gzip -d opens', async () => {
    const { store, run } = await backupInto({
      name: 'gzipped',
      databases: 'shop',
      compression: 'gzip',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const manifest = await manifestOf(store, run);
    const gunzip = async (key: string) =>
      (
        await exec('gzip', ['-d', '-c', path.join(store, key)], {
          encoding: 'buffer',
          maxBuffer: 1 << 26,
        })
      ).stdout;
    expect(manifest.databases.map((d) => d.object.key)).toEqual([
      expect.stringMatching(/^gzipped\/[^/]+\/shop\.dump\.gz$/),
    ]);
    expect(await tocOf(await gunzip(manifest.databases[0]!.object.key))).toMatch(
      /TABLE DATA public orders/,
    );
    expect(manifest.globals?.object.key).toMatch(/\/globals\.sql\.gz$/);
    const sql = (await gunzip(manifest.globals!.object.key)).toString('utf8');
    expect(sql).toMatch(/^--\n-- PostgreSQL database cluster dump/);
    expect(sql).toMatch(/CREATE ROLE app_owner;/);
  });
});

describe('a list with globs and exclude-databases', () => {
  it('selects exactly the databases matched and not excluded', async () => {
    const { store, run } = await backupInto({
      name: 'picked',
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
    const { store, run } = await backupInto({
      name: 'picked',
      databases: 'shop\nbilling_*',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/databases.*"billing_\*" matches no database/);
    expect(await filesUnder(store)).toEqual([]);
  });
});

describe('a database whose dump fails', () => {
  it('fails the run naming it, publishes no manifest and leaves no object', async () => {
    // Held while the run dumps: pg_dump of shop (dumped last, after three others were stored)
    // cannot lock its table and gives up.
    const locker = new pg.Client({ connectionString: cluster.urlOf(DB.shop) });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      const { store, run } = await backupInto({
        name: 'failing',
        databases: 'all',
        'pg-dump-args': '--lock-wait-timeout=1s',
        'age-recipients': recipient,
      });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(
        /database "shop": pg_dump exited with code 1.*LOCK TABLE public\.orders/,
      );
      // The three databases dumped before it were stored, then deleted.
      expect(run.stdout).toMatch(/Database "postgres": .* stored/);
      expect(await filesUnder(store)).toEqual([]);
      // Not even the backup's folder.
      expect(await readdir(path.join(store, 'failing'))).toEqual([]);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });
});

describe('a role that cannot read pg_authid (a managed service)', () => {
  it('globals: auto backs up the roles without passwords, and says so', async () => {
    const { store, run } = await backupInto({
      name: 'managed',
      'database-url': cluster.readerUrl,
      databases: 'all',
      'age-recipients': recipient,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /::warning::.*"reader_admin" cannot read pg_authid.*set every role's password again after a restore/,
    );
    const manifest = await manifestOf(store, run);
    expect(manifest.databases.map((d) => d.name).sort()).toEqual(READER_CONNECTABLE);
    expect(manifest.globals?.rolePasswords).toBe(false);
    expect(run.stdout).toMatch(
      /::warning::skipping "service_admin": the role has no CONNECT privilege on it/,
    );
    expect(manifest.globals?.roles).toEqual(expect.arrayContaining(['app_owner', 'app_reader']));
    const sql = (await openByHand(path.join(store, manifest.globals!.object.key))).toString('utf8');
    expect(sql).toMatch(/CREATE ROLE app_owner;/);
    expect(sql).toMatch(/GRANT app_reader TO app_owner/);
    expect(sql).not.toMatch(/PASSWORD/);
    expect(run.summary).toMatch(/Role passwords \| no/);
  });

  it('a database named exactly that the role may not connect to fails the run before any work (issue 27, item 8)', async () => {
    const { store, run } = await backupInto({
      name: 'named',
      'database-url': cluster.readerUrl,
      databases: 'shop\nservice_admin',
      globals: 'false',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /databases.*"service_admin" cannot be backed up: the role has no CONNECT privilege on it/,
    );
    expect(await filesUnder(store)).toEqual([]);
  });

  it('globals: true fails with one line before any work', async () => {
    const { store, run } = await backupInto({
      name: 'managed',
      'database-url': cluster.readerUrl,
      databases: 'all',
      globals: 'true',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/globals.*"reader_admin" cannot read pg_authid/);
    expect(run.stdout).not.toMatch(/storing as/);
    expect(await filesUnder(store)).toEqual([]);
  });
});

describe('jobs: 2, to S3', () => {
  it('stores every object and the manifest under the prefix, each as recorded', async () => {
    const prefix = `server-${process.pid}`;
    const run = await runAction(
      {
        storage: `s3://${testS3Bucket()}/${prefix}`,
        's3-endpoint': testS3Endpoint(),
        name: 'server',
        'database-url': cluster.url,
        databases: 'all',
        jobs: '2',
        'age-recipients': recipient,
      },
      { env: S3_ENV },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const client = new S3Client(testS3ClientConfig());
    const listing = await client.send(
      new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
    );
    const get = async (key: string) => {
      const object = await client.send(
        new GetObjectCommand({ Bucket: testS3Bucket(), Key: `${prefix}/${key}` }),
      );
      return Buffer.from(await object.Body!.transformToByteArray());
    };
    const manifest = JSON.parse(
      (await get(run.outputs['manifest-key'] ?? '')).toString('utf8'),
    ) as ServerManifest;
    const objects = [...manifest.databases.map((d) => d.object), manifest.globals!.object];
    expect((listing.Contents ?? []).map((item) => item.Key).sort()).toEqual(
      [
        ...objects.map((o) => `${prefix}/${o.key}`),
        `${prefix}/${run.outputs['manifest-key']}`,
      ].sort(),
    );
    expect(manifest.databases.map((d) => d.name).sort()).toEqual(CONNECTABLE);
    for (const object of objects) {
      const bytes = await get(object.key);
      expect(bytes.length).toBe(object.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(object.sha256);
    }
    const crm = manifest.databases.find((d) => d.name === DB.crm)!;
    const file = path.join(work, 'crm.dump.zst.age');
    await writeFile(file, await get(crm.object.key));
    expect(await tocOf(await openByHand(file))).toMatch(/TABLE DATA Sälës Contacts/);
  });
});

/** Holds an exclusive lock on shop's orders while `use` runs: shop's pg_dump waits for it. */
async function withShopLocked<T>(use: () => Promise<T>): Promise<T> {
  const locker = new pg.Client({ connectionString: cluster.urlOf(DB.shop) });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    return await use();
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
  }
}

describe('one database fails while another is still dumping (jobs: 2)', () => {
  it('stops the other at once, fails naming the one that failed, and leaves nothing', async () => {
    // reader_admin may not read this table: app_data's dump fails straight away, while shop's
    // waits for its lock for as long as the test holds it.
    await withClient(cluster.urlOf(DB.app), (client) =>
      client.query('CREATE TABLE private_notes (id int)'),
    );
    try {
      const started = Date.now();
      const { store, run } = await withShopLocked(() =>
        backupInto({
          name: 'parallel',
          'database-url': cluster.readerUrl,
          databases: 'shop\napp_data',
          globals: 'false',
          jobs: '2',
        }),
      );
      expect(run.code).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(lastErrorLine(run)).toMatch(/database "app_data": .*permission denied/);
      expect(await filesUnder(store)).toEqual([]);
    } finally {
      await withClient(cluster.urlOf(DB.app), (client) => client.query('DROP TABLE private_notes'));
    }
  });
});

describe('a retention-prune sweeps a long backup’s first objects (issue 27, item 4)', () => {
  it('the backup finds them gone in its listing and publishes nothing; the prune dates by the store’s clock', async () => {
    const store = newStore();
    const inputs = {
      storage: store,
      'database-url': cluster.url,
      name: 'torn',
      databases: 'app_data\nshop',
      globals: 'false',
      jobs: '1',
    };
    const prune = (grace: string) =>
      runAction({
        mode: 'retention-prune',
        storage: store,
        name: 'torn',
        'keep-last': '1',
        'orphan-grace': grace,
      });
    const { backup, young, swept } = await withShopLocked(async () => {
      const backup = runAction(inputs);
      const first = await firstFile(store, /\/app_data\.dump\.zst$/);
      // Its id says now, the store says now: younger than an hour's grace, whatever else.
      const young = await prune('1h');
      // As if app_data had been stored two hours ago and shop's dump had run since.
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      await utimes(path.join(store, first), twoHoursAgo, twoHoursAgo);
      const swept = await prune('1h');
      return { backup, young, swept };
    });
    expect(young.code, young.stdout).toBe(0);
    expect(young.outputs.deleted).toBe('0');
    expect(swept.code, swept.stdout).toBe(0);
    expect(swept.stdout).toMatch(/app_data\.dump\.zst/);
    const run = await backup;
    expect(run.code, run.stdout).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(
      /1 of this backup's 2 object\(s\) are no longer in the store as stored \(torn\/\S+\/app_data\.dump\.zst\), so its manifest was not written/,
    );
    expect(await filesUnder(store)).toEqual([]);
  });
});

/** Waits until a file whose relative path matches `pattern` is in the store; its relative path. */
async function firstFile(store: string, pattern: RegExp): Promise<string> {
  for (let tries = 0; tries < 600; tries++) {
    const found = (await filesUnder(store)).find((file) => pattern.test(file));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no file matching ${pattern} in ${store} after a minute`);
}

describe('the run is cancelled mid-way', () => {
  it('SIGTERM deletes the databases already stored and publishes nothing', async () => {
    const { store, run } = await withShopLocked(() =>
      backupInto(
        {
          name: 'cancelled',
          databases: 'all',
          'age-recipients': recipient,
        },
        {
          onStart: onceShown('Database "shop": storing as', 500, (child) => child.kill('SIGTERM')),
        },
      ),
    );
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/Database "postgres": .* stored/);
    expect(lastErrorLine(run)).toBe('the run was cancelled; nothing was published');
    expect(await filesUnder(store)).toEqual([]);
  });
});

describe('under the writer policy (may not delete), the manifest refused', () => {
  it('fails for the refusal and names every object the pruner will sweep', async () => {
    const prefix = `server-writer-${process.pid}`;
    const proxy = await startFaultProxy(testS3Endpoint());
    try {
      proxy.policy = await examplePolicy('writer', testS3Bucket(), prefix);
      proxy.faults = [
        { kind: 'status', status: 400, code: 'InvalidArgument', count: 1, match: /manifest\.json/ },
      ];
      const run = await runAction(
        {
          storage: `s3://${testS3Bucket()}/${prefix}`,
          's3-endpoint': proxy.endpoint,
          name: 'server',
          'database-url': cluster.url,
          databases: 'shop\napp_data',
        },
        { env: S3_ENV },
      );
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toBe('injected');
      const warning =
        /::warning::could not delete (.+) after the failed backup \(User is not authorized to perform: s3:DeleteObject.*\); retention-prune's orphan sweep removes them once older than orphan-grace/.exec(
          run.stdout,
        );
      expect(warning?.[1]?.split(', ').sort()).toEqual(
        ['app_data.dump.zst', 'globals.sql.zst', 'shop.dump.zst'].map((file) =>
          expect.stringMatching(new RegExp(`^server/[^/]+/${file.replace('.', '\\.')}$`)),
        ),
      );
      const listing = await new S3Client(testS3ClientConfig()).send(
        new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
      );
      expect(listing.Contents ?? []).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });
});

const pg18 = pg18Toolchain();

describe.skipIf(requireInCI(pg18.missing))('a PostgreSQL 18 server', () => {
  it('is dumped by pg_dump and pg_dumpall 18 from pg-bin-dir, never the machine’s 15', async () => {
    const server = await startCluster({ bindir: pg18.serverBin });
    try {
      await withClient(server.url, async (client) => {
        await client.query('CREATE ROLE owner18 LOGIN PASSWORD $$pw18$$');
        await client.query('CREATE DATABASE shop18 OWNER owner18');
      });
      const { store, run } = await backupInto({
        name: 'eighteen',
        'database-url': server.url,
        databases: 'all',
        'pg-bin-dir': pg18.clientBin,
        'age-recipients': recipient,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const manifest = await manifestOf(store, run);
      expect(manifest.source.serverVersion).toMatch(/^18\./);
      expect(manifest.dump?.version).toMatch(/^18\./);
      expect(manifest.databases.map((d) => d.name).sort()).toEqual(['postgres', 'shop18']);
      const sql = (await openByHand(path.join(store, manifest.globals!.object.key))).toString();
      const bin = pg18.clientBin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(run.stdout).toMatch(new RegExp(`pg_dumpall 18\\.\\d+ \\(${bin}/pg_dumpall\\)`));
      expect(sql).toMatch(/CREATE ROLE owner18;/);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
