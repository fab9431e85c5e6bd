/**
 * pg-dump-args: what backup-action owns (the archive's place and format, the database, the
 * snapshot) cannot be taken back in any spelling pg_dump accepts, and a dump that is not a
 * custom-format archive is never published.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../src/process/programs.js';
import { refusedPgDumpArgument } from '../src/postgres/dump-args.js';
import { dumpSelection } from '../src/postgres/dump-selection.js';
import { lastErrorLine, runAction } from './support/action.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';

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

  it('never publishes a dump that is not a custom-format archive', async () => {
    // A pg_dump that writes plain SQL whatever it is asked (as a mis-set wrapper could).
    const real = await findProgram('pg_dump');
    const bin = path.join(dir, 'plain-bin');
    await rm(bin, { recursive: true, force: true });
    await mkdir(bin);
    await writeFile(
      path.join(bin, 'pg_dump'),
      `#!/bin/sh\nexec ${JSON.stringify(real.path)} "$@" --format=plain\n`,
    );
    await chmod(path.join(bin, 'pg_dump'), 0o755);
    const store = path.join(dir, 'store-plain');
    const run = await runAction({
      storage: store,
      name: 'db',
      'database-url': db.url,
      'pg-bin-dir': bin,
      compression: 'gzip',
    });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/does not begin with PGDMP/);
    const kept = await readdir(path.join(store, 'db')).catch(() => []);
    expect(kept.filter((name) => name.endsWith('.manifest.json'))).toEqual([]);
  });
});
