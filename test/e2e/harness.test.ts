// Proves the shared test harness: the PostgreSQL server, fresh databases, the sample data and
// its figures, s3rver through the real AWS SDK, the bundle built before the tests, and the
// suite-wide secret guard, with the product's masking of every secret given, before its inputs
// are read.
//
// Covers: scripts/lib/pg-cluster.js, scripts/lib/s3-server.js, scripts/lib/sample-db.js,
// test/support/secrets.ts, src/inputs/given-secrets.ts, src/run.ts.
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { lastErrorLine, runAction } from '../support/action.js';
import { guardRun, secretsOf } from '../support/secrets.js';
import { fillSampleDatabase, tableChecksums, tableRowCounts } from '../../scripts/lib/sample-db.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl, testS3Bucket, testS3ClientConfig } from '../support/env.js';

type PackageJson = { scripts: Record<string, string> };

describe('PostgreSQL harness', () => {
  const databases: FreshDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('connects as a superuser', async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ superuser: string; version: number }>(
        "SELECT current_setting('is_superuser') AS superuser, current_setting('server_version_num')::int AS version",
      );
      expect(rows[0]?.superuser).toBe('on');
      // gen_random_uuid() and DROP DATABASE ... WITH (FORCE) need 13+.
      expect(rows[0]?.version).toBeGreaterThanOrEqual(130000);
    } finally {
      await client.end();
    }
  });

  it('fills a fresh database with sample data whose figures are exact and stable', async () => {
    const source = await freshDatabase('harness');
    const twin = await freshDatabase('harness');
    databases.push(source, twin);
    expect(source.name).not.toBe(twin.name);
    await Promise.all([fillSampleDatabase(source.url), fillSampleDatabase(twin.url)]);

    const counts = await tableRowCounts(source.url);
    expect(Object.keys(counts)).toEqual(
      expect.arrayContaining([
        'public.customers',
        'inventory.products',
        'inventory.stock',
        'sales.order_lines',
        'sales.orders_2024',
        'sales.orders_2025',
        'sales.orders_2026',
      ]),
    );
    // Partitioned parents hold no rows of their own, so only their partitions are counted.
    expect(counts).not.toHaveProperty('sales.orders');
    for (const [table, count] of Object.entries(counts)) {
      expect(count, table).toBeGreaterThan(0);
    }
    expect(counts['sales.order_lines']).toBe(6000);

    const checksums = await tableChecksums(source.url);
    expect(Object.keys(checksums).sort()).toEqual(Object.keys(counts).sort());
    expect(await tableChecksums(source.url)).toEqual(checksums);
    // Deterministic content: an independent fill gives the same figures.
    expect(await tableChecksums(twin.url)).toEqual(checksums);
  });
});

describe('S3 harness', () => {
  it('stores and lists objects through the AWS SDK', async () => {
    const client = new S3Client(testS3ClientConfig());
    const bucket = testS3Bucket();
    const prefix = `harness-${process.pid}-${Date.now()}/`;
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}a.txt`, Body: 'a' }));
      // A streamed body is what uploads of backups send.
      const body = 'streamed '.repeat(1000);
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}b.txt`,
          Body: Readable.from([Buffer.from(body)]),
          ContentLength: body.length,
        }),
      );

      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }),
      );
      expect(listed.Contents?.map((object) => object.Key)).toEqual([
        `${prefix}a.txt`,
        `${prefix}b.txt`,
      ]);
      const got = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `${prefix}b.txt` }),
      );
      expect(await got.Body?.transformToString()).toBe(body);
    } finally {
      client.destroy();
    }
  });
});

describe('bundle', () => {
  // The end-to-end tests run dist/ as GitHub does; a test run without a build would exercise
  // the bundle of some earlier source.
  it('npm test builds dist/ from the sources before any test runs', async () => {
    const scripts = (JSON.parse(await readFile('package.json', 'utf8')) as PackageJson).scripts;
    expect(scripts.test).toMatch(/^npm run build && vitest run$/);
    expect(scripts.build).toContain('node scripts/build.js dist');
  });
});

describe('secret guard', () => {
  const secrets = secretsOf({
    'database-url': 'postgres://u:hunter2-long-password@127.0.0.1/db',
    'encryption-passphrase': 'correct horse battery staple',
  });
  const clean = { code: 0, stderr: '', written: '' };
  const masks = secrets.map((s) => `::add-mask::${s}`).join('\n');

  it('takes the password out of the database URL and whole secret inputs', () => {
    expect(secrets).toEqual(
      expect.arrayContaining(['hunter2-long-password', 'correct horse battery staple']),
    );
  });

  it('passes a run that masks every secret and shows none', () => {
    expect(() => guardRun(secrets, { ...clean, stdout: `${masks}\nok` }, true)).not.toThrow();
  });

  it('fails a run that shows a secret anywhere, or does not mask it', () => {
    expect(() =>
      guardRun(secrets, { ...clean, stdout: `${masks}\nusing hunter2-long-password` }, true),
    ).toThrow(/leaked/);
    expect(() =>
      guardRun(secrets, { ...clean, stdout: masks, written: 'correct horse battery staple' }, true),
    ).toThrow(/leaked/);
    expect(() => guardRun(secrets, { ...clean, stdout: 'ok' }, true)).toThrow(/mask/);
  });

  it('holds a failed run to the mask too, a refused input included, unless it was killed first', () => {
    const failed = { ...clean, code: 1 };
    const guard = (run: Partial<Parameters<typeof guardRun>[1]>) => () =>
      guardRun(secrets, { ...failed, stdout: '', ...run }, true);
    expect(guard({ stdout: `${masks}\n::error::pg_dump exited with code 1` })).not.toThrow();
    expect(guard({ stdout: '::error::pg_dump exited with code 1' })).toThrow(
      /not registered with the runner mask/,
    );
    expect(guard({ stdout: '::error::Input "compression": "lz4" is not accepted' })).toThrow(
      /not registered with the runner mask/,
    );
    expect(guard({ stdout: `${masks}\n::error::Input "x": no` })).not.toThrow();
    // Killed before it wrote a line: it never read its inputs.
    expect(guard({ code: null })).not.toThrow();
    expect(guard({ code: null, stdout: 'Backing up\n' })).toThrow(/mask/);
  });

  it('sees the product mask, first, a secret its mode does not read and one in a refused run', async () => {
    const password = 'unread-password-4f1c';
    const databaseUrl = `postgres://app:${password}@127.0.0.1:1/shop`;
    const store = await mkdtemp(path.join(os.tmpdir(), 'given-secrets-'));
    try {
      // retention-prune reads no database, so it refuses one; the run below is refused for its mode.
      const pruned = await runAction({
        mode: 'retention-prune',
        storage: store,
        name: 'shop',
        'keep-last': '1',
        'database-url': databaseUrl,
      });
      const refused = await runAction({ mode: 'bogus', 'database-url': databaseUrl });
      expect(pruned.code).not.toBe(0);
      expect(lastErrorLine(pruned)).toMatch(
        /^Input "database-url": is not used by mode retention-prune/,
      );
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toMatch(/^Input "mode": /);
      for (const run of [pruned, refused]) {
        expect(run.stdout.split('\n')[0]).toMatch(/^::add-mask::/);
        expect(run.stdout).toContain(`::add-mask::${password}`);
      }
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });
});
