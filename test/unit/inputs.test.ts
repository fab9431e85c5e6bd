/**
 * The inputs read into settings as a user writes them, defaults filled, and every bad input
 * refused in one line naming it.
 *
 * Covers: src/inputs/reader.ts, src/inputs/backup.ts, src/inputs/checks.ts, src/core/duration.ts,
 * src/modes/index.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { readSettings } from '../../src/modes/index.js';
import { parseCheck } from '../../src/inputs/checks.js';
import { Inputs } from '../../src/inputs/reader.js';
import { parseDuration } from '../../src/core/duration.js';
import type {
  BackupSettings,
  DatabaseBackupSettings,
  DatabaseRestoreSettings,
  RestoreTestSettings,
} from '../../src/core/settings.js';
import { selectNames } from '../../src/core/name-glob.js';
import { BAD_INPUTS, DB, IDENTITY } from '../support/bad-inputs.js';

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

const source = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';
const read = (inputs: Record<string, string>) => readSettings(source(inputs), '/work');

describe('backup settings', () => {
  it('fills the defaults a user expects', async () => {
    const settings = (await read({
      storage: 's3://my-bucket/nightly/db',
      'database-url': DB,
    })) as BackupSettings;
    expect(settings).toMatchObject({
      mode: 'backup',
      name: 'shop_main',
      storage: { kind: 's3', bucket: 'my-bucket', prefix: 'nightly/db' },
      kind: 'database',
      compression: 'zstd',
      rowCounts: 'exact',
      database: {
        database: 'Shop_Main',
        password: 'pa:ss',
        display: 'postgresql://app:***@db.example.com:5432/Shop_Main',
      },
    });
    expect(settings.encryptionKeys).toBeUndefined();
    expect(settings.secrets).toEqual(expect.arrayContaining(['pa:ss', DB]));
  });

  it('reads the PostgreSQL client inputs; a mirror URL’s credentials are secrets', async () => {
    const defaults = (await read({ storage: '/b', 'database-url': DB })) as BackupSettings;
    expect(defaults.client).toEqual({
      choice: 'auto',
      mirror: 'https://apt.postgresql.org/pub/repos/apt',
    });
    const mirror = 'https://ci:t0ken%21@apt.corp.example/pgdg/';
    // A given pg-bin-dir must exist and hold a client program.
    const binDir = mkdtempSync(path.join(os.tmpdir(), 'pg-bin-'));
    writeFileSync(path.join(binDir, 'pg_dump'), '', { mode: 0o755 });
    const chosen = (await read({
      storage: '/b',
      'database-url': DB,
      'postgres-client': '17',
      'pg-bin-dir': binDir,
      'pg-client-mirror': mirror,
    })) as BackupSettings;
    expect(chosen.client).toEqual({
      choice: 17,
      pgBinDir: binDir,
      mirror: 'https://ci:t0ken%21@apt.corp.example/pgdg',
    });
    expect(chosen.secrets).toEqual(expect.arrayContaining(['t0ken!']));
  });

  it('reads storage in all three forms', async () => {
    const storage = async (value: string) =>
      ((await read({ storage: value, 'database-url': DB })) as BackupSettings).storage;
    expect(await storage('file:///var/backups/pg')).toEqual({
      kind: 'directory',
      path: '/var/backups/pg',
    });
    expect(await storage('./backups')).toEqual({ kind: 'directory', path: '/work/backups' });
    expect(await storage('s3://bucket-1')).toEqual({ kind: 's3', bucket: 'bucket-1', prefix: '' });
  });

  it('takes age recipients one per line and pg_dump arguments as separate arguments', async () => {
    const settings = (await read({
      storage: '/b',
      'database-url': DB,
      'age-recipients': `# ops team\n${RECIPIENT}\n`,
      'pg-dump-args': '--exclude-table=audit.*\n--no-comments',
    })) as DatabaseBackupSettings;
    expect(settings.encryptionKeys).toEqual({ method: 'age', recipients: [RECIPIENT] });
    expect(settings.pgDumpArgs).toEqual(['--exclude-table=audit.*', '--no-comments']);
  });
});

describe('restore-test settings', () => {
  it('parses checks and defaults the scratch server database', async () => {
    const settings = (await read({
      mode: 'restore-test',
      storage: '/b',
      name: 'shop',
      'database-url': 'postgres://postgres:pw@localhost:5432',
      checks: 'sales.orders >= 100\nSELECT count(*) > 0 FROM users',
    })) as RestoreTestSettings;
    expect(settings.database?.database).toBe('postgres');
    expect(settings.backupId).toBe('latest');
    expect(settings.checks.map((check) => check.kind)).toEqual(['count', 'sql']);
  });
});

describe('retries', () => {
  it('retry-delay takes up to 6h', async () => {
    const settings = (await read({
      storage: '/b',
      'database-url': DB,
      'retry-delay': '6h',
    })) as BackupSettings;
    expect(settings.retry).toEqual({ retries: 2, delayMs: 6 * 3_600_000 });
  });
});

describe('bad input gets one line naming the input', () => {
  it.each(BAD_INPUTS)('%s', async (_label, inputs, input) => {
    const error = await read(inputs).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe(input);
    expect((error as Error).message).toMatch(new RegExp(`^Input "${input}": `));
    expect((error as Error).message).not.toContain('\n');
    // A database URL's password is never echoed back, nor any part of a pasted private key.
    expect((error as Error).message).not.toContain('pa%3Ass');
    expect((error as Error).message).not.toMatch(new RegExp(IDENTITY.slice(16, 24), 'i'));
  });
});

describe('checks', () => {
  it('reads both forms and refuses anything else', () => {
    expect(parseCheck('orders >= 10')).toMatchObject({
      kind: 'count',
      table: 'public.orders',
      operator: '>=',
      value: 10,
    });
    expect(parseCheck('sales.orders == 3')).toMatchObject({ table: 'sales.orders', operator: '=' });
    expect(parseCheck('select true;')).toMatchObject({ kind: 'sql', sql: 'select true' });
    expect(parseCheck('DROP TABLE x')).toBeUndefined();
  });
});

describe('a check that cannot be parsed', () => {
  it('is named by its line number, and its text is never echoed', async () => {
    const error = await read({
      mode: 'restore-test',
      storage: '/b',
      name: 'shop',
      'database-url': DB,
      checks: `orders >= 1\n\n# a comment\nDB=${DB}`,
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      'Input "checks": line 4 is not a check: give "schema.table >= N" or a SQL query (SELECT …) returning one boolean (PostgreSQL), or "dbN: keys >= N" or "dbN: exists KEY" (Redis)',
    );
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['45m', 2_700_000],
    ['26h', 93_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1d12h', 129_600_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '0s', '12h1d', '1d1d', '5', 'h', '1.5h', '-1h', '1y'])('refuses %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('the input reader', () => {
  it('takes only the inputs action.yml declares, so a misspelled name does not compile', () => {
    const inputs = new Inputs(source({ 'database-url': DB }));
    expect(inputs.text('database-url')).toBe(DB);
    // @ts-expect-error: 'databse-url' is not an input name (tsc --noEmit fails if this compiles).
    expect(inputs.text('databse-url')).toBe('');
  });
});

describe('server backup settings (databases)', () => {
  const base = { storage: '/b', 'database-url': DB };
  const server = async (inputs: Record<string, string>) => {
    const settings = (await read({ ...base, ...inputs })) as BackupSettings;
    return settings.kind === 'server' ? settings.server : undefined;
  };
  const refusal = async (inputs: Record<string, string>) =>
    read({ ...base, ...inputs }).then(
      () => 'accepted',
      (error: InputError) => `${error.name}: ${error.message}`,
    );

  it('without databases backs up the one database, as before', async () => {
    expect(await read(base)).toMatchObject({
      kind: 'database',
      database: { database: 'Shop_Main' },
    });
    expect(await server({})).toBeUndefined();
    expect(await server({ globals: 'auto' })).toBeUndefined();
  });

  it('reads all, or names and globs one per line, with exclusions; globals auto and one job by default', async () => {
    expect(await server({ databases: 'all' })).toEqual({
      databases: 'all',
      exclude: [],
      globals: 'auto',
      jobs: 1,
    });
    expect(
      await server({
        databases: 'shop\n  crm_*  \n\nCrm "Ünï" data\n',
        'exclude-databases': 'crm_old',
        globals: 'false',
        jobs: '3',
      }),
    ).toEqual({
      databases: ['shop', 'crm_*', 'Crm "Ünï" data'],
      exclude: ['crm_old'],
      globals: 'false',
      jobs: 3,
    });
  });

  // Issue 27, item 14: `all` means every database, so the one named all had no spelling.
  it('a name in double quotes is that name exactly: "all" is the database named all, never every one', async () => {
    expect((await server({ databases: '"all"' }))?.databases).toEqual(['all']);
    expect((await server({ databases: 'all' }))?.databases).toBe('all');
    expect((await server({ databases: '"all"\n"a*b"\n"say ""hi"""\nshop_*' }))?.databases).toEqual([
      'all',
      'a[*]b',
      'say "hi"',
      'shop_*',
    ]);
    expect((await server({ databases: 'all', 'exclude-databases': '"x?"' }))?.exclude).toEqual([
      'x[?]',
    ]);
    const names = ['all', 'allx', 'a*b', 'aXb', 'say "hi"'];
    const picked = (patterns: string[]) => selectNames(names, patterns).selected;
    expect(picked(['all'])).toEqual(['all']);
    expect(picked(['a[*]b'])).toEqual(['a*b']);
    expect(picked(['say "hi"'])).toEqual(['say "hi"']);
    const restoring = { mode: 'restore', storage: '/b', 'database-url': DB, confirm: 'all' };
    const restore = (await read({ ...restoring, databases: '"all"' })) as DatabaseRestoreSettings;
    expect(restore.databases).toEqual(['all']);
    const every = (await read({ ...restoring, databases: 'all' })) as DatabaseRestoreSettings;
    expect(every.databases).toEqual([]);
    const testing = { mode: 'restore-test', storage: '/b', name: 'x', 'database-url': DB };
    const test = (await read({ ...testing, databases: '"all"' })) as RestoreTestSettings;
    expect(test.databases).toEqual(['all']);
  });

  it('refuses in one line naming the input what cannot be meant', async () => {
    expect(await refusal({ globals: 'true' })).toMatch(/^InputError: .*globals.*needs databases/);
    expect(await refusal({ 'exclude-databases': 'tmp_*' })).toMatch(
      /^InputError: .*exclude-databases.*needs databases/,
    );
    expect(await refusal({ databases: 'all\nshop' })).toMatch(
      /^InputError: .*databases.*all stands alone/,
    );
    expect(await refusal({ databases: 'all', globals: 'yes' })).toMatch(
      /^InputError: .*globals.*"yes" is not accepted; use auto, true or false/,
    );
    expect(await refusal({ databases: 'all', jobs: '0' })).toMatch(
      /^InputError: .*jobs.*from 1 to 16/,
    );
    expect(await refusal({ databases: 'all', jobs: '17' })).toMatch(/from 1 to 16/);
    expect(
      await refusal({ source: 'files', paths: 'data', 'database-url': '', databases: 'all' }),
    ).toMatch(/^InputError: .*databases.*source: postgres/);
  });
});
