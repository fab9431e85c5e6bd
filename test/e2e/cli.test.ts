/**
 * The command-line program: argument parsing, and a real backup run the way cron would run it.
 *
 * Covers: src/cli.ts, src/index.ts, src/core/node-version.ts, src/inputs/cli-args.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  environmentWarnings,
  inputSource,
  parseArgs,
  UsageError,
} from '../../src/inputs/cli-args.js';
import { ACTION_ENTRY, CLI_ENTRY, runCli } from '../support/action.js';
import { requireInCI } from '../support/require-in-ci.js';
import { sampleSource } from '../support/db.js';

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

  it('treats a true/false input with no value as true', () => {
    const values = parseArgs(['retention-prune', '--dry-run', '--keep-last', '3'], noFiles);
    expect(values.get('dry-run')).toBe('true');
    expect(values.get('keep-last')).toBe('3');
    expect(parseArgs(['restore', '--name', 'x', '--clean'], noFiles).get('clean')).toBe('true');
  });

  it.each([
    [['backup', '--encryption-passphrase', '--compression', 'gzip'], 'encryption-passphrase'],
    [['backup', '--storage', '--name', 'x'], 'storage'],
    [['backup', '--name', 'x', '--storage'], 'storage'],
    [['backup', '--database-url-file'], 'database-url-file'],
    [['backup', '--pg-dump-args', '--exclude-table=audit'], 'pg-dump-args'],
  ])('refuses %j: an input that takes a value given none', (argv, option) => {
    expect(() => parseArgs(argv, noFiles)).toThrow(
      new UsageError(
        `--${option} needs a value (one that starts with -- goes as --${option}=VALUE)`,
      ),
    );
  });

  it.each([
    [['backup', '--storage', '/a', '--storage=/b'], 'storage'],
    [['backup', '--database-url', 'x', '--database-url-file', '/f'], 'database-url'],
  ])('refuses %j: an input given twice, which would leave one silently dropped', (argv, input) => {
    expect(() => parseArgs(argv, () => 'y')).toThrow(
      new UsageError(`--${input} is given twice; give each input once`),
    );
  });

  it.each([[[]], [['--storage', '/b']]])('refuses %j in one line naming the modes', (argv) => {
    expect(() => parseArgs(argv, noFiles)).toThrow(
      new UsageError(
        'the mode is missing; start with one of backup, verify-latest, restore-test, restore, retention-prune, copy, notify, status (--help)',
      ),
    );
  });

  it('takes a value that starts with -- written with =', () => {
    const argv = ['backup', '--pg-dump-args=--exclude-table=audit'];
    expect(parseArgs(argv, noFiles).get('pg-dump-args')).toBe('--exclude-table=audit');
  });

  it('refuses an unknown option in one line that points to the inputs page', () => {
    expect(() => parseArgs(['backup', '--databse-url', 'x'], noFiles)).toThrow(
      new UsageError('unknown option --databse-url; the inputs are listed in docs/inputs.md'),
    );
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

  it('refuses a BACKUP_ACTION_* variable that names no input, and names one an option overrides', () => {
    const values = new Map([['name', 'cli']]);
    for (const typo of ['BACKUP_ACTION_KEEP_LAS', 'BACKUP_ACTION_NAMEX', 'BACKUP_ACTION_MODE']) {
      expect(() => environmentWarnings(values, { [typo]: '1' }), typo).toThrow(
        `${typo} in the environment is not an input; BACKUP_ACTION_<INPUT> takes the names in docs/inputs.md`,
      );
    }
    expect(
      environmentWarnings(values, {
        BACKUP_ACTION_NAME: 'envname',
        BACKUP_ACTION_STORAGE: '/b',
        BACKUP_ACTION_ZSTD: 'node',
        BACKUP_ACTION_AGE: 'node',
        NOT_OURS_NAMEX: '1',
      }),
    ).toEqual(['--name is given, so BACKUP_ACTION_NAME is not used']);
  });
});

describe('backup-action on the command line', () => {
  const sample = sampleSource('cli_src', 300);

  it('backs up with the password in a file, prints the summary, exits 0', async () => {
    const secret = path.join(sample.work, 'database-url');
    await writeFile(secret, `${sample.db.url}\n`);
    const store = path.join(sample.work, 'store');
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
    expect(run.stdout + run.stderr).not.toContain(new URL(sample.db.url).password);
  });

  it('exits 2 with one line for a usage error, and 1 with the reason for bad input', async () => {
    const usage = await runCli(['backup', '--no-such-input', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe(
      'error: unknown option --no-such-input; the inputs are listed in docs/inputs.md\n',
    );
    const bad = await runCli(
      ['backup', '--storage', path.join(sample.work, 'x'), '--compression', 'rar'],
      {
        env: { BACKUP_ACTION_DATABASE_URL: sample.db.url },
      },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(
      /^error: Input "compression": "rar" is not accepted/,
    );
  });

  it('exits 2 for a misspelled BACKUP_ACTION_* variable before any work, and warns of an overridden one', async () => {
    const store = path.join(sample.work, 'env-store');
    const typo = await runCli(['backup', '--storage', store, '--source', 'files'], {
      cwd: sample.work,
      env: { BACKUP_ACTION_PATHS: '.', BACKUP_ACTION_KEEP_LAS: '1' },
    });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      'error: BACKUP_ACTION_KEEP_LAS in the environment is not an input; BACKUP_ACTION_<INPUT> takes the names in docs/inputs.md\n',
    );
    expect(existsSync(store)).toBe(false);
    const both = await runCli(
      ['backup', '--storage', store, '--source', 'files', '--name', 'cli-env'],
      { cwd: sample.work, env: { BACKUP_ACTION_PATHS: '.', BACKUP_ACTION_NAME: 'envname' } },
    );
    expect(both.code, both.stderr).toBe(0);
    expect(both.stderr).toContain('warning: --name is given, so BACKUP_ACTION_NAME is not used\n');
    expect(await readdir(store)).toEqual(['cli-env']);
  });

  // One environment file serves every service of a set (examples/ansible): prune is given the
  // passphrase that backup and verify use.
  it('an input the mode does not use: refused on the command line, one warning from the environment', async () => {
    const store = path.join(sample.work, 'store');
    const prune = ['retention-prune', '--storage', store, '--name', 'cli', '--keep-last', '5'];
    const given = await runCli([...prune, '--encryption-passphrase', 'not used here']);
    expect(given.code).toBe(1);
    expect(given.stderr.trim().split('\n').at(-1)).toBe(
      'error: Input "encryption-passphrase": is not used by mode retention-prune; remove it',
    );
    expect(given.stdout).not.toMatch(/kept|deleted/i);
    const shared = await runCli(prune, {
      env: { BACKUP_ACTION_ENCRYPTION_PASSPHRASE: 'not used here' },
    });
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stderr).toContain(
      'warning: input "encryption-passphrase" from the environment is not used by mode retention-prune; ignored\n',
    );
  });

  it('exits 2 for an input given no value, and makes nothing (no store named "true")', async () => {
    const run = await runCli(['backup', '--source', 'files', '--storage', '--name', 'x'], {
      cwd: sample.work,
      env: { BACKUP_ACTION_PATHS: '.' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: --storage needs a value (one that starts with -- goes as --storage=VALUE)\n',
    );
    expect(existsSync(path.join(sample.work, 'true'))).toBe(false);
  });

  it('prints its version for --version anywhere among the arguments', async () => {
    for (const argv of [['--version'], ['backup', '--storage', '/b', '--version']]) {
      const run = await runCli(argv);
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^backup-action \d+\.\d+\.\d+\S* \(Node\.js \d+\.\d+\.\d+\)\n$/);
    }
  });

  it('prints the usage for --help and exits 0', async () => {
    for (const help of [['--help'], ['-h'], ['help'], ['backup', '--storage', '/b', '--help']]) {
      const run = await runCli(help);
      expect(run.code, help.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^usage: backup-action <backup\|verify-latest\|/);
      expect(run.stdout).toContain('see docs/inputs.md');
      expect(run.stderr).toBe('');
    }
  });

  it('exits 2 with one line for an unknown mode', async () => {
    const run = await runCli(['backups', '--storage', path.join(sample.work, 'x')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: unknown mode "backups"; the modes are backup, verify-latest, restore-test, restore, retention-prune, copy, notify, status\n',
    );
  });

  it('a --<input>-file that cannot be read: one line naming the input, exit 1, nothing done', async () => {
    const store = path.join(sample.work, 'unread');
    const missing = path.join(sample.work, 'no-such-file');
    const run = await runCli(['backup', '--storage', store, '--database-url-file', missing]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `error: Input "database-url": --database-url-file "${missing}" cannot be read (ENOENT)\n`,
    );
    expect(existsSync(store)).toBe(false);
  });
});

/** A Node's version, as the guard reads it (process.versions.node). */
const versionOf = (node: string) =>
  execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();

function tooOld(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 22 || (major === 22 && minor < 15);
}

/** A Node older than the bundle needs (Debian's, beside the tests' 24): on PATH, or in /usr/bin. */
const oldNode = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin']
  .map((dir) => path.join(dir, 'node'))
  .find((node) => existsSync(node) && tooOld(versionOf(node)));
/** The Node 24 that npm ci installs (node_modules/node), as the runner's node24. */
const NODE_24 = path.resolve('node_modules/node/bin/node');

describe.skipIf(
  requireInCI(
    oldNode
      ? undefined
      : 'no Node.js older than 22.15 on PATH or in /usr/bin (apt-get install nodejs)',
  ),
)('the Node.js version guard, the same command line under two Nodes', () => {
  const argv = [CLI_ENTRY, 'backup', '--storage', '/nonexistent/x'];

  it('on a Node older than 22.15: refuses at once in one line naming both versions, before any work', () => {
    const run = spawnSync(oldNode!, argv, { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: backup-action needs Node.js 22.15 or later; this is ${versionOf(oldNode!)}\n`,
    );
  });

  it('the action bundle on a Node older than 22.15: one ::error:: line naming both versions', () => {
    const env = { PATH: process.env.PATH, INPUT_MODE: 'backup', INPUT_STORAGE: '/nonexistent/x' };
    const run = spawnSync(oldNode!, [ACTION_ENTRY], { encoding: 'utf8', env });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      `::error::backup-action needs Node.js 22.15 or later; this is ${versionOf(oldNode!)}\n`,
    );
  });

  it('on Node 24: gets past the guard to the inputs, and names the missing one', () => {
    expect(tooOld(versionOf(NODE_24))).toBe(false);
    const run = spawnSync(NODE_24, argv, { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.status).toBe(1);
    expect(run.stderr).not.toMatch(/needs Node\.js/);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^error: Input "database-url": /);
  });
});
