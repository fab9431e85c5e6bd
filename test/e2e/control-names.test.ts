/**
 * Names holding control characters (a tab, ESC, a C1 control, U+2028), read back from a backup:
 * whoever may create a database or a table on the backed-up server chooses them, and a raw ESC in
 * a log drives the reader's terminal. Every line of the action's and the command line's output
 * names them printably, quoted and escaped as a line-break name is, never raw.
 *
 * pg_restore's own failure quoting such a table, a file of a directory backup so named that is
 * not archived, and an archive entry so named that a restore refuses are printed the same way.
 *
 * Covers: src/core/database-names.ts, src/kinds/server/restore-test.ts, src/core/report.ts,
 * src/restore/compare.ts, src/postgres/restore-error.ts, src/process/programs.ts,
 * src/files/tar-read.ts, src/files/tar-source.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  withClient,
  withDatabase,
} from '../../scripts/lib/pg-cluster.js';
import { runAction, runCli } from '../support/action.js';
import { testDatabaseUrl } from '../support/env.js';
import { freshDatabase } from '../support/db.js';

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

/** A name with ESC, a line break and U+2028, and how every line must show it. */
const FILE = 'f\x1b[31m\nx\u2028';
const FILE_SHOWN = '"f\\u001b[31m\\nx\\u2028"';

describe('what programs and archives say of names with control characters', () => {
  it('pg_restore’s failure quoting a table named with a line break and ESC is one printable line', async () => {
    const db = await freshDatabase('ctl_restore');
    try {
      const table = pg.escapeIdentifier('t\n\x1bx');
      await withClient(db.url, async (client) => {
        // A CHECK that holds only where the row was written: pg_restore's COPY fails on it.
        await client.query(
          `CREATE FUNCTION allowed(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(current_setting('ctl.allow', true), '') = 'yes' $$`,
        );
        await client.query(`SET ctl.allow = 'yes'`);
        await client.query(`CREATE TABLE ${table} (id int CHECK (allowed(id)))`);
        await client.query(`INSERT INTO ${table} VALUES (1)`);
      });
      const inputs = { storage: path.join(work, 'check'), name: 'check', 'database-url': db.url };
      const backup = await runAction(inputs);
      expect(backup.code, backup.stdout + backup.stderr).toBe(0);
      const test = await runAction({ ...inputs, mode: 'restore-test', retries: '0' });
      expect(test.code).not.toBe(0);
      expect(test.stdout).toContain(
        '::error::pg_restore failed: COPY failed for table "t\\n\\u001bx": new row for relation "t\\n\\u001bx" violates check constraint',
      );
      expect(rawLines(test.stdout + test.stderr + test.summary)).toEqual([]);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it('a directory backup names a socket so named printably, and restore-test an archive entry', async () => {
    const tree = path.join(work, 'tree');
    await mkdir(tree);
    await writeFile(path.join(tree, 'plain.txt'), 'x');
    const socket = net.createServer().listen(path.join(tree, FILE));
    await new Promise((resolve) => socket.once('listening', resolve));
    const store = path.join(work, 'files');
    const read = { storage: store, name: 'tree' };
    try {
      const backup = await runAction(
        { ...read, source: 'files', paths: 'tree', compression: 'none' },
        { cwd: work },
      );
      expect(backup.code, backup.stdout + backup.stderr).toBe(0);
      expect(backup.stdout).toContain(`::warning::"tree/${FILE_SHOWN.slice(1)} is a socket`);
      expect(rawLines(backup.stdout + backup.stderr)).toEqual([]);
      await forgeArchive(store, backup.outputs['backup-key']!, backup.outputs['backup-id']!);
    } finally {
      socket.close();
    }
    const test = await runAction({ ...read, mode: 'restore-test', retries: '0' }, { cwd: work });
    expect(test.code).not.toBe(0);
    expect(test.stdout).toContain(
      `::error::refusing archive entry ${FILE_SHOWN}: it is a hard link`,
    );
    expect(rawLines(test.stdout + test.stderr + test.summary)).toEqual([]);
  }, 120_000);
});

/**
 * The backup's object replaced by a tar holding a hard link named FILE (backup-action never
 * archives one), its manifest's size and sha256 made to match.
 */
async function forgeArchive(store: string, key: string, id: string): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name: FILE, type: 'link', linkname: 'plain.txt' });
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  await writeFile(path.join(store, key), bytes);
  const manifestFile = path.join(store, 'tree', `${id}.manifest.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    object: { size: number; sha256: string };
  };
  manifest.object.size = bytes.length;
  manifest.object.sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(manifestFile, JSON.stringify(manifest));
}

const escaped = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
