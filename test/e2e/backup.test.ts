/**
 * The backup mode end to end, as users run it: the bundled action with INPUT_* variables, a real
 * PostgreSQL server, a directory store and s3rver; each backup then restored by hand with the
 * standard tools and compared table by table with its source.
 *
 * Covers: src/modes/backup.ts, src/pipeline/publish.ts, src/pipeline/compress.ts,
 * src/pipeline/zstd-program.ts, src/pipeline/age-program.ts, src/postgres/dump.ts, src/main.ts.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums, tableRowCounts } from '../../scripts/lib/sample-db.js';
import pkg from '../../package.json' with { type: 'json' };
import { onPath } from '../../src/process/programs.js';
import { lastErrorLine, runAction, type ActionRun } from '../support/action.js';
import { restoreByHand } from '../support/by-hand.js';
import { freshDatabase, sampleSource } from '../support/db.js';
import { failingProgram } from '../support/failing-program.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import { filesUnder } from '../support/listing.js';

const sample = sampleSource('backup_src', 3000);
let password: string;

beforeAll(() => {
  password = new URL(sample.db.url).password;
});

/** The run's text minus `::add-mask::` commands, which the runner consumes and never shows. */
function visible(run: ActionRun): string {
  return run.everything
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

async function expectRestoredEqual(file: string, identity?: string) {
  const target = await freshDatabase('backup_restored');
  try {
    await restoreByHand(file, target.url, { identity });
    expect(await tableChecksums(target.url)).toEqual(await tableChecksums(sample.db.url));
  } finally {
    await target.drop();
  }
}

describe('backup to a directory', () => {
  let run: ActionRun;
  let store: string;

  beforeAll(async () => {
    store = path.join(sample.work, 'dir-store');
    run = await runAction({ storage: store, 'database-url': sample.db.url });
  });

  it('succeeds and publishes the object and its manifest', async () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const id = run.outputs['backup-id'] ?? '';
    expect(id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(await filesUnder(store)).toEqual([
      `${sample.db.name}/${id}.dump.zst`,
      `${sample.db.name}/${id}.manifest.json`,
    ]);
    expect(run.outputs['backup-key']).toBe(`${sample.db.name}/${id}.dump.zst`);
    expect(run.outputs['manifest-key']).toBe(`${sample.db.name}/${id}.manifest.json`);
  });

  it('records the stored bytes exactly: size and sha256 in outputs and manifest', async () => {
    const bytes = await readFile(path.join(store, run.outputs['backup-key'] ?? ''));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(run.outputs['sha256']).toBe(sha256);
    expect(Number(run.outputs['size-bytes'])).toBe(bytes.length);
    const manifest = JSON.parse(
      await readFile(path.join(store, run.outputs['manifest-key'] ?? ''), 'utf8'),
    );
    expect(manifest).toMatchObject({
      version: 1,
      id: run.outputs['backup-id'],
      name: sample.db.name,
      source: { kind: 'postgres', database: sample.db.name },
      format: 'pg_dump-custom',
      compression: 'zstd',
      encryption: 'none',
      object: { key: run.outputs['backup-key'], size: bytes.length, sha256 },
      rowCountsMode: 'exact',
      // The bundle records package.json's version, the one a release is tagged with.
      tool: { name: 'backup-action', version: pkg.version },
      dump: { program: 'pg_dump' },
    });
    expect(Date.parse(manifest.completedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.createdAt));
  });

  it('records every table’s exact row count, partitions included', async () => {
    const manifest = JSON.parse(
      await readFile(path.join(store, run.outputs['manifest-key'] ?? ''), 'utf8'),
    );
    const counts = await tableRowCounts(sample.db.url);
    expect(Object.keys(counts).length).toBeGreaterThan(5);
    expect(manifest.rowCounts).toEqual(counts);
  });

  it('restores by hand with zstd -d and pg_restore to an identical database', async () => {
    await expectRestoredEqual(path.join(store, run.outputs['backup-key'] ?? ''));
  });

  it('writes a readable job summary and the report output', () => {
    expect(run.summary).toContain(`backup-action backup: ${sample.db.name}`);
    for (const label of ['Size', 'Compression', 'Duration', 'Throughput', 'Tables / rows']) {
      expect(run.summary).toContain(`| ${label} |`);
    }
    expect(run.report).toMatchObject({ mode: 'backup', ok: true, name: sample.db.name });
  });

  it('never shows the database password', () => {
    expect(password.length).toBeGreaterThan(5);
    expect(visible(run)).not.toContain(password);
    expect(run.stdout).toContain(`::add-mask::${password}`);
  });
});

describe('backup to S3, age-encrypted', () => {
  let run: ActionRun;
  let identity: string;
  const prefix = `encrypted-${process.pid}`;

  beforeAll(async () => {
    identity = await generateIdentity();
    run = await runAction(
      {
        storage: `s3://${testS3Bucket()}/${prefix}`,
        's3-endpoint': testS3Endpoint(),
        'database-url': sample.db.url,
        name: 'shop',
        'age-recipients': await identityToRecipient(identity),
      },
      { env: S3_ENV },
    );
  });

  it('uploads the object and manifest under the prefix', async () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Compressing with \/.*\/zstd, then encrypting with \/.*\/age\n/);
    const client = new S3Client(testS3ClientConfig());
    const listing = await client.send(
      new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
    );
    const id = run.outputs['backup-id'];
    expect((listing.Contents ?? []).map((item) => item.Key).sort()).toEqual([
      `${prefix}/shop/${id}.dump.zst.age`,
      `${prefix}/shop/${id}.manifest.json`,
    ]);
  });

  it('restores by hand with age -d, zstd -d and pg_restore', async () => {
    const client = new S3Client(testS3ClientConfig());
    const object = await client.send(
      new GetObjectCommand({
        Bucket: testS3Bucket(),
        Key: `${prefix}/${run.outputs['backup-key']}`,
      }),
    );
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(run.outputs['sha256']);
    const file = path.join(sample.work, path.basename(run.outputs['backup-key'] ?? ''));
    await writeFile(file, bytes);
    await expectRestoredEqual(file, identity);
  });
});

describe('gzip, no row counts', () => {
  it('stores a .dump.gz that gzip -d and pg_restore read', async () => {
    const store = path.join(sample.work, 'gzip-store');
    const run = await runAction({
      storage: `file://${store}`,
      'database-url': sample.db.url,
      compression: 'gzip',
      'row-counts': 'off',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const manifest = JSON.parse(
      await readFile(path.join(store, run.outputs['manifest-key'] ?? ''), 'utf8'),
    );
    expect(manifest.compression).toBe('gzip');
    expect(manifest.rowCounts).toBeUndefined();
    await expectRestoredEqual(path.join(store, run.outputs['backup-key'] ?? ''));
  });
});

describe('zstd: its own program when the machine has one, else Node’s', () => {
  it('with BACKUP_ACTION_ZSTD=node the object is the same format and restores by hand', async () => {
    const store = path.join(sample.work, 'node-zstd');
    const run = await runAction(
      { storage: store, 'database-url': sample.db.url },
      { env: { BACKUP_ACTION_ZSTD: 'node' } },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('Compressing with');
    await expectRestoredEqual(path.join(store, run.outputs['backup-key'] ?? ''));
  });

  let dirRun: ActionRun;

  it('the zstd program on PATH is used, and restores by hand', async () => {
    const store = path.join(sample.work, 'program-zstd');
    dirRun = await runAction({ storage: store, 'database-url': sample.db.url });
    expect(dirRun.code, dirRun.stdout + dirRun.stderr).toBe(0);
    expect(dirRun.stdout).toMatch(/Compressing with \/.*\/zstd, which writes the file itself/);
    await expectRestoredEqual(path.join(store, dirRun.outputs['backup-key'] ?? ''));
  });

  it('reads pg_dump directly: the summary shows no size before compression, only what was stored', () => {
    expect(dirRun.summary).toMatch(/\| Compression \| zstd \|/);
    expect(dirRun.summary).toMatch(/\| Throughput \| [\d.]+ \S+\/s stored \|/);
  });

  it.each([
    ['a database backup (zstd reads pg_dump)', {}],
    ['a files backup (zstd reads from Node)', { source: 'files', paths: '.', 'database-url': '' }],
  ])(
    '%s with a zstd that fails half-way: non-zero exit naming zstd, nothing stored',
    async (what, inputs) => {
      const bin = path.join(sample.work, 'failing-zstd');
      const PATH = await failingProgram(bin, 'zstd', {
        reads: 100_000,
        code: 3,
        message: 'zstd: simulated disk error',
      });
      await writeFile(path.join(bin, 'filler'), randomBytes(1 << 20));
      const store = path.join(sample.work, `failing-zstd-${what.length}`);
      const run = await runAction(
        { storage: store, 'database-url': sample.db.url, ...inputs },
        { env: { PATH }, cwd: bin },
      );
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(/zstd exited with code 3: zstd: simulated disk error/);
      expect(await filesUnder(store)).toEqual([]);
    },
  );
});

describe('age: its own program when the machine has one, else Node’s', () => {
  let identities: string[];
  let recipients: string;

  beforeAll(async () => {
    identities = [await generateIdentity(), await generateIdentity()];
    recipients = (await Promise.all(identities.map((key) => identityToRecipient(key)))).join('\n');
  });

  it('zstd and then the age program write the file, which each recipient restores by hand', async () => {
    const store = path.join(sample.work, 'program-age');
    const run = await runAction({
      storage: store,
      'database-url': sample.db.url,
      'age-recipients': recipients,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /Compressing with \/.*\/zstd, then encrypting with \/.*\/age, which writes the file itself/,
    );
    const file = path.join(store, run.outputs['backup-key'] ?? '');
    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    ).toBe(run.outputs['sha256']);
    for (const identity of identities) await expectRestoredEqual(file, identity);
  });

  it('without compression the age program reads pg_dump itself, and the file restores by hand', async () => {
    const store = path.join(sample.work, 'program-age-uncompressed');
    const run = await runAction({
      storage: store,
      'database-url': sample.db.url,
      'age-recipients': recipients,
      compression: 'none',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Encrypting with \/.*\/age, which writes the file itself/);
    expect(run.outputs['backup-key']).toMatch(/\.dump\.age$/);
    await expectRestoredEqual(path.join(store, run.outputs['backup-key'] ?? ''), identities[0]);
  });

  it('zstd and age are given none of the run’s secrets, only what they need to run', async () => {
    const bin = path.join(sample.work, 'env-spies');
    await mkdir(bin, { recursive: true });
    for (const name of ['zstd', 'age']) {
      const real = await onPath(name);
      await writeFile(
        path.join(bin, name),
        `#!/bin/sh\nenv > "${bin}/${name}.env"\nexec "${real}" "$@"\n`,
        { mode: 0o755 },
      );
    }
    const store = path.join(sample.work, 'env-spied');
    const run = await runAction(
      { storage: store, 'database-url': sample.db.url, 'age-recipients': recipients },
      { env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` } },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const name of ['zstd', 'age']) {
      const seen = await readFile(path.join(bin, `${name}.env`), 'utf8');
      expect(seen).toMatch(/^PATH=/m);
      expect(seen).not.toContain(password);
      expect(seen).not.toMatch(/^INPUT_/m);
    }
    await expectRestoredEqual(path.join(store, run.outputs['backup-key'] ?? ''), identities[0]);
  });

  it('with BACKUP_ACTION_AGE=node, Node seals the same format', async () => {
    const store = path.join(sample.work, 'node-age');
    const run = await runAction(
      { storage: store, 'database-url': sample.db.url, 'age-recipients': recipients },
      { env: { BACKUP_ACTION_AGE: 'node' } },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('encrypting with');
    await expectRestoredEqual(path.join(store, run.outputs['backup-key'] ?? ''), identities[1]);
  });

  it('an age program that fails half-way: non-zero exit naming age, nothing stored', async () => {
    const PATH = await failingProgram(path.join(sample.work, 'failing-age'), 'age', {
      reads: 1000,
      code: 5,
      message: 'age: simulated write error',
    });
    const store = path.join(sample.work, 'failing-age-store');
    const run = await runAction(
      { storage: store, 'database-url': sample.db.url, 'age-recipients': recipients },
      { env: { PATH } },
    );
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/age exited with code 5: age: simulated write error/);
    expect(await filesUnder(store)).toEqual([]);
  });
});

describe('failures publish nothing', () => {
  it('a database that does not exist: non-zero exit, clear reason, nothing stored', async () => {
    const store = path.join(sample.work, 'missing-db');
    const url = new URL(sample.db.url);
    url.pathname = '/no_such_database';
    const run = await runAction({ storage: store, 'database-url': url.href, name: 'missing' });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/no_such_database.*does not exist/);
    expect(await filesUnder(store)).toEqual([]);
    expect(visible(run)).not.toContain(password);
  });

  it.each(['none', 'zstd'])(
    'the connection killed mid-dump (compression %s): no manifest, no object, no partial file',
    async (compression) => {
      const big = await freshDatabase('backup_big');
      try {
        const client = new pg.Client({ connectionString: big.url });
        await client.connect();
        await client.query(
          `CREATE TABLE filler AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 8) AS text FROM generate_series(1, 1500000) g`,
        );
        const store = path.join(sample.work, `killed-${compression}`);
        const running = runAction({ storage: store, 'database-url': big.url, compression });
        // Wait until pg_dump is copying the table, then kill its backend.
        let killed = 0;
        for (let attempt = 0; attempt < 400 && killed === 0; attempt += 1) {
          const { rowCount } = await client.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = $1 AND application_name = 'pg_dump' AND query ILIKE 'COPY%'`,
            [big.name],
          );
          killed = rowCount ?? 0;
          if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await client.end();
        const run = await running;
        expect(killed).toBe(1);
        expect(run.code).not.toBe(0);
        expect(lastErrorLine(run)).toMatch(/pg_dump/);
        expect(await filesUnder(store)).toEqual([]);
      } finally {
        await big.drop();
      }
    },
  );

  it.each([
    ['storage', { storage: 'ftp://host/backups' }],
    ['database-url', { 'database-url': 'postgres//missing-colon' }],
    ['mode', { mode: 'backup-all' }],
    ['compression', { compression: 'brotli' }],
    ['age-recipients', { 'age-recipients': 'age1invalidrecipient' }],
  ])('bad %s fails before any work, naming the input', async (input, bad) => {
    const store = path.join(sample.work, `bad-${input}`);
    const run = await runAction({ storage: store, 'database-url': sample.db.url, ...bad });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(new RegExp(`^Input "${input}": `));
    expect(run.stdout).not.toContain('pg_dump');
    expect(await filesUnder(store)).toEqual([]);
    expect(visible(run)).not.toContain(password);
  });
});
