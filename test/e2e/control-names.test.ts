/**
 * Names holding control characters (a tab, ESC, a C1 control, U+2028), read back from a backup:
 * whoever may create a database or a table on the backed-up server chooses them, and a raw ESC in
 * a log drives the reader's terminal. Every line of the action's and the command line's output
 * names them printably, quoted and escaped as a line-break name is, never raw.
 *
 * Covers: src/core/database-names.ts, src/kinds/server/restore-test.ts, src/core/report.ts,
 * src/restore/compare.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  withClient,
  withDatabase,
} from '../../scripts/lib/pg-cluster.js';
import { runAction, runCli } from '../support/action.js';
import { testDatabaseUrl } from '../support/env.js';

const server = testDatabaseUrl();
const DATABASE = `ctl_${process.pid}\t\x1b\u009b\u2028db`;
/** As every line must show it. */
const DATABASE_SHOWN = `"ctl_${process.pid}\\t\\u001b\\u009b\\u2028db"`;
const TABLE = 't\t\x1b[31m\u2028x';
/** Its qualified name (quoted by PostgreSQL, `public."…"`) as every line must show it. */
const TABLE_SHOWN = '"public.\\"t\\t\\u001b[31m\\u2028x\\""';
/** What no line may hold (the lines are split at their line breaks): a control character, U+2028. */
const RAW = /[\p{Cc}\u2028\u2029]/u;

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'control-names-'));
  await createDatabase(server, DATABASE);
  await withClient(withDatabase(server, DATABASE), (client) =>
    client.query(
      `CREATE TABLE ${pg.escapeIdentifier(TABLE)} AS SELECT g AS id FROM generate_series(1, 3) g`,
    ),
  );
}, 120_000);

afterAll(async () => {
  await dropDatabase(server, DATABASE);
  if (work) await rm(work, { recursive: true, force: true });
});

/** The lines of `output` that hold a raw control character. */
const rawLines = (output: string) => output.split('\n').filter((line) => RAW.test(line));

describe('a database and a table named with a tab, ESC, a C1 control and U+2028', () => {
  it('a server backup’s restore-test (the action) names the database printably', async () => {
    const store = path.join(work, 'server');
    const inputs = { storage: store, name: 'srv', 'database-url': server };
    // `?` stands for each control character in the pattern.
    const backup = await runAction({ ...inputs, databases: `ctl_${process.pid}????db` });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const test = await runAction({ ...inputs, mode: 'restore-test' });
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain(`${DATABASE_SHOWN}: testing in scratch database`);
    expect(test.stdout).toContain(`${DATABASE_SHOWN}: 1 tables, 3 rows, matched`);
    expect(rawLines(backup.stdout + test.stdout)).toEqual([]);
  }, 180_000);

  it('the command line’s restore-test names the table printably in its summary', async () => {
    const store = path.join(work, 'one');
    const url = withDatabase(server, DATABASE);
    const backup = await runAction({ storage: store, name: 'one', 'database-url': url });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const test = await runCli(['restore-test', '--storage', store, '--name', 'one'], {
      env: { BACKUP_ACTION_DATABASE_URL: server },
    });
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(new RegExp(`${escaped(TABLE_SHOWN)}\\s+3\\s+3`));
    expect(rawLines(backup.stdout + test.stdout + test.stderr)).toEqual([]);
  }, 180_000);
});

const escaped = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
