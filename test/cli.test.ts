/** The command-line program: argument parsing, and a real backup run the way cron would run it. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputSource, parseArgs, UsageError } from '../src/inputs/cli-args.js';
import { fillSampleDatabase } from '../scripts/lib/sample-db.js';
import { CLI_ENTRY, runCli } from './support/action.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';

const noFiles = (file: string): string => {
  throw new Error(`unexpected read of ${file}`);
};

describe('parseArgs', () => {
  it('takes the mode, then --input value and --input=value pairs', () => {
    const values = parseArgs(
      ['backup', '--storage', '/b', '--compression=gzip', '--name', 'shop'],
      noFiles,
    );
    expect(Object.fromEntries(values)).toEqual({
      mode: 'backup',
      storage: '/b',
      compression: 'gzip',
      name: 'shop',
    });
  });

  it('treats a flag with no value as true', () => {
    const values = parseArgs(['retention-prune', '--dry-run', '--keep-last', '3'], noFiles);
    expect(values.get('dry-run')).toBe('true');
    expect(values.get('keep-last')).toBe('3');
  });

  it('reads --<input>-file from a file, without its final newline', () => {
    const values = parseArgs(['backup', '--database-url-file', '/run/secrets/db'], (file) =>
      file === '/run/secrets/db' ? 'postgres://u:p@h/db\n' : '',
    );
    expect(values.get('database-url')).toBe('postgres://u:p@h/db');
  });

  it('keeps inputs that end in -file as themselves', () => {
    expect(
      parseArgs(['restore-test', '--checks-file', 'checks.txt'], noFiles).get('checks-file'),
    ).toBe('checks.txt');
  });

  it.each([
    [[]],
    [['--storage', '/b']],
    [['backup', '--databse-url', 'x']],
    [['backup', 'stray']],
    [['backup', '--mode', 'restore']],
    [['backups', '--storage', '/b']],
  ])('refuses %j', (argv) => {
    expect(() => parseArgs(argv, noFiles)).toThrow(UsageError);
  });

  it('names the input whose file cannot be read', () => {
    const missing = (file: string): string => {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), {
        code: 'ENOENT',
      });
    };
    expect(() => parseArgs(['backup', '--database-url-file', '/nonexistent'], missing)).toThrow(
      'Input "database-url": --database-url-file "/nonexistent" cannot be read (ENOENT)',
    );
  });

  it('falls back to BACKUP_ACTION_* variables', () => {
    const source = inputSource(new Map([['storage', '/b']]), {
      BACKUP_ACTION_DATABASE_URL: 'postgres://x',
    });
    expect(source('storage')).toBe('/b');
    expect(source('database-url')).toBe('postgres://x');
    expect(source('name')).toBe('');
  });
});

describe('backup-action on the command line', () => {
  let db: FreshDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await freshDatabase('cli_src');
    await fillSampleDatabase(db.url, { rows: 300 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'cli-test-'));
  });

  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up with the password in a file, prints the summary, exits 0', async () => {
    const secret = path.join(dir, 'database-url');
    await writeFile(secret, `${db.url}\n`);
    const store = path.join(dir, 'store');
    const run = await runCli([
      'backup',
      '--storage',
      store,
      '--name',
      'cli',
      '--database-url-file',
      secret,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^OK backup-action backup cli$/m);
    expect(run.stdout).toMatch(/^backup-id=\d{8}T\d{6}Z-[0-9a-f]{6}$/m);
    expect((await readdir(path.join(store, 'cli'))).length).toBe(2);
    expect(run.stdout + run.stderr).not.toContain(new URL(db.url).password);
  });

  it('exits 2 with one line for a usage error, and 1 with the reason for bad input', async () => {
    const usage = await runCli(['backup', '--no-such-input', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error: unknown option --no-such-input/);
    const bad = await runCli(['backup', '--storage', path.join(dir, 'x'), '--compression', 'rar'], {
      env: { BACKUP_ACTION_DATABASE_URL: db.url },
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(
      /^error: Input "compression": "rar" is not accepted/,
    );
  });

  it('prints the usage for --help and exits 0', async () => {
    for (const help of [['--help'], ['-h'], ['help'], ['backup', '--storage', '/b', '--help']]) {
      const run = await runCli(help);
      expect(run.code, help.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^usage: backup-action <backup\|verify-latest\|/);
      expect(run.stderr).toBe('');
    }
  });

  it('exits 2 with one line for an unknown mode', async () => {
    const run = await runCli(['backups', '--storage', path.join(dir, 'x')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: unknown mode "backups"; the modes are backup, verify-latest, restore-test, restore, retention-prune, copy, notify\n',
    );
  });

  it('a --<input>-file that cannot be read: one line naming the input, exit 1, nothing done', async () => {
    const store = path.join(dir, 'unread');
    const missing = path.join(dir, 'no-such-file');
    const run = await runCli(['backup', '--storage', store, '--database-url-file', missing]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `error: Input "database-url": --database-url-file "${missing}" cannot be read (ENOENT)\n`,
    );
    expect(existsSync(store)).toBe(false);
  });
});

/** A Node older than the bundle needs, if this machine has one (Debian's 20, beside the tests' 24). */
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((file) => {
  if (!existsSync(file)) return false;
  const version = execFileSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const [major = 0, minor = 0] = version.trim().split('.').map(Number);
  return major < 22 || (major === 22 && minor < 15);
});

describe.runIf(oldNode)('on a Node.js older than 22.15', () => {
  it('refuses at once in one line naming both versions, before any work', () => {
    const run = spawnSync(oldNode!, [CLI_ENTRY, 'backup', '--storage', '/nonexistent/x'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^error: backup-action needs Node\.js 22\.15 or later; this is \d+\.\d+\.\d+\n$/,
    );
  });
});
