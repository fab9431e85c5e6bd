/**
 * pg-dump-args: what backup-action owns (the archive's place and format, the database, the
 * snapshot) cannot be taken back in any spelling pg_dump accepts, and a dump that is not a
 * custom-format archive is never published.
 *
 * Covers: src/postgres/dump-args.ts, src/postgres/dump-selection.ts, src/postgres/dump.ts.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../src/process/programs.js';
import { refusedPgDumpArgument } from '../../src/postgres/dump-args.js';
import { dumpSelection } from '../../src/postgres/dump-selection.js';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { lastErrorLine, runAction } from '../support/action.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';

async function keysUnderPrefix(prefix: string): Promise<string[]> {
  const client = new S3Client(testS3ClientConfig());
  const listed = await client.send(
    new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
  );
  client.destroy();
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

describe('resolving pg-dump-args as pg_dump does', () => {
  it.each([
    // pg_dump 15 reads it as --file; 17 and later find it ambiguous (--file, --filter).
    [['--fil=/tmp/x.dump'], /"--fil=\/tmp\/x.dump" .*--file\b/],
    [['--fi', '/tmp/x.dump'], /--file\b/],
    [['--forma=p'], /"--forma=p" \(pg_dump reads it as --format\) is set by backup-action/],
    [['--form=plain'], /--format/],
    [['--file', '/tmp/x'], /--file/],
    [['-f/tmp/x'], /--file/],
    [['-Fp'], /--format/],
    [['-vFp'], /--format/],
    [['-vf', '/tmp/x'], /--file/],
    [['--db=other'], /--dbname/],
    [['-dother'], /--dbname/],
    [['--ho=elsewhere'], /--host/],
    [['-p5433'], /--port/],
    [['--usern=postgres'], /--username/],
    [['--snap=00000003-1'], /--snapshot/],
    [['--jo=2'], /--jobs/],
    [['--vers'], /--version/],
    [['-?'], /--help/],
    [['--pass'], /--password/],
    [['otherdb'], /pg_dump would take it as the database/],
    [['--', 'x'], /ends pg_dump’s options/],
    [['--exclude-table-d=x'], /ambiguous/],
    [['--no-such-option'], /not a pg_dump option/],
    [['-q'], /-q, not a pg_dump option/],
  ])('refuses %j', (args, reason) => {
    expect(refusedPgDumpArgument(args)).toMatch(reason);
  });

  it.each([
    [['--exclude-table=audit.*', '--no-comments']],
    // A value is the option's, whatever it looks like.
    [
      ['--exclude-table', '-f'],
      ['-T', '--file=x'],
    ],
    [['-Z0', '--comp=9', '--no-o', '-vxO', '--exclude-table-data=logs', '--role=backup']],
  ])('accepts %j', (...args) => {
    for (const list of args) expect(refusedPgDumpArgument(list)).toBeUndefined();
  });
});

describe('which tables a dump holds rows of', () => {
  it('passes the selecting options on, with data exclusions as table exclusions', () => {
    expect(
      dumpSelection(['-T', 'a*', '--exclude-table-data=b', '-nsales', '--no-comments', '-v']),
    ).toEqual({
      probe: ['--exclude-table=a*', '--exclude-table=b', '--schema=sales'],
      noData: false,
      noUnloggedData: false,
    });
    expect(dumpSelection(['--no-comments'])).toEqual({ noData: false, noUnloggedData: false });
  });

  it('knows when no rows, or no unlogged rows, are dumped', () => {
    expect(dumpSelection(['-s']).noData).toBe(true);
    expect(dumpSelection(['--section=pre-data', '--section=post-data']).noData).toBe(true);
    expect(dumpSelection(['--section=data']).noData).toBe(false);
    expect(dumpSelection(['--no-unlogged']).noUnloggedData).toBe(true);
  });
});

let db: FreshDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('dump_guards');
  dir = await mkdtemp(path.join(os.tmpdir(), 'dump-guards-'));
});

afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('a backup with pg-dump-args', () => {
  it('refuses an abbreviated --file before pg_dump runs: no local file, nothing stored', async () => {
    const store = path.join(dir, 'store-file');
    const stray = path.join(dir, 'x.dump');
    for (const args of [`--fil=${stray}`, `-f${stray}`, `--form=plain`, `-vFp`]) {
      const run = await runAction({
        storage: store,
        name: 'db',
        'database-url': db.url,
        'pg-dump-args': args,
      });
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(
        /^Input "pg-dump-args": .*(is set by backup-action|ambiguous)/,
      );
    }
    await expect(stat(stray)).rejects.toThrow(/ENOENT/);
    await expect(readdir(store)).rejects.toThrow(/ENOENT/);
  });

  // Each path the dump's bytes can take to the store: Node reads pg_dump (gzip, or zstd in Node),
  // the zstd program reads it and writes the file itself, or its output streams through Node to
  // S3, or Node encrypts that output. The check reads the start of whatever Node sees.
  const paths: [string, Record<string, string>, Record<string, string>][] = [
    ['gzip in Node', { compression: 'gzip' }, {}],
    ['zstd in Node', {}, { BACKUP_ACTION_ZSTD: 'node' }],
    ['the zstd program writing the file', {}, {}],
    ['the zstd program, then Node encrypting', { 'encryption-passphrase': 'not-a-backup' }, {}],
    ['the zstd program streaming to S3', { 's3-endpoint': testS3Endpoint() }, S3_ENV],
  ];
  it.each(paths)(
    'never publishes a dump that is not a custom-format archive: %s',
    async (label, inputs, env) => {
      // A pg_dump that writes plain SQL whatever it is asked (as a mis-set wrapper could).
      const real = await findProgram('pg_dump');
      const bin = path.join(dir, 'plain-bin');
      await mkdir(bin, { recursive: true });
      await writeFile(
        path.join(bin, 'pg_dump'),
        `#!/bin/sh\nexec ${JSON.stringify(real.path)} "$@" --format=plain\n`,
      );
      await chmod(path.join(bin, 'pg_dump'), 0o755);
      const set = `plain-${label.replace(/\W+/g, '-')}-${process.pid}`;
      const s3 = 's3-endpoint' in inputs;
      const store = s3 ? `s3://${testS3Bucket()}/${set}` : path.join(dir, set);
      const run = await runAction(
        { storage: store, name: 'db', 'database-url': db.url, 'pg-bin-dir': bin, ...inputs },
        { env },
      );
      expect(run.code).not.toBe(0);
      expect(lastErrorLine(run)).toMatch(/does not begin with PGDMP/);
      // Neither a manifest nor the object is left: nothing half-made.
      const left = s3
        ? await keysUnderPrefix(set)
        : await readdir(path.join(store, 'db')).catch(() => []);
      expect(left).toEqual([]);
    },
  );
});
