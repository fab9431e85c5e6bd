/**
 * restore with clean: true replaces the target whole or not at all: the backup goes into a new
 * database beside it, checked, then swapped in. A failure or a SIGKILL at any point leaves the
 * target either as it was or as the backup, never a mix; what a killed run leaves beside it is
 * dropped, by name, by the next run.
 *
 * Covers: src/postgres/replace.ts, src/modes/restore.ts, src/restore/restore-database.ts,
 * src/postgres/database-settings.ts.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  withClient,
  withDatabase,
} from '../../scripts/lib/pg-cluster.js';
import { tableChecksums } from '../../scripts/lib/sample-db.js';
import { findProgram } from '../../src/process/programs.js';
import { lastErrorLine, runAction, signalOnceShown, type RunOptions } from '../support/action.js';
import { freshDatabase, sampleSource, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';

const run = promisify(execFile);

const sample = sampleSource('clean_src', 3000);
let target: FreshDatabase;
let store: string;
let sourceState: State;

interface State {
  schema: string;
  rows: Record<string, string>;
}

/** What a user compares: the schema as pg_dump prints it, and every table's rows. */
async function stateOf(url: string): Promise<State> {
  const pgDump = await findProgram('pg_dump');
  const { stdout } = await run(pgDump.path, ['--schema-only', '--no-owner', `--dbname=${url}`], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    schema: stdout.replace(/^\\(un)?restrict .*$/gm, ''),
    rows: await tableChecksums(url),
  };
}

/** The target as a user would leave it between restores: a view on a table, changed rows. */
async function changeTarget(): Promise<State> {
  await withClient(target.url, (client) =>
    client.query(`
      CREATE OR REPLACE VIEW public.v_orders AS SELECT * FROM sales.orders;
      UPDATE public.customers SET name = name || ' (changed)' WHERE id % 3 = 0;
      CREATE TABLE IF NOT EXISTS public.local_notes (note text);
      INSERT INTO public.local_notes VALUES ('kept unless replaced');
    `),
  );
  return stateOf(target.url);
}

/** Databases beside the target that a restore made: its side and old databases. */
async function besideTarget(): Promise<string[]> {
  return withClient(testDatabaseUrl(), async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname ~ $1 ORDER BY 1`,
      [`^${target.name}_(restore|old)_[0-9a-f]{6}$`],
    );
    return rows.map((row) => row.datname);
  });
}

/** A PATH whose pg_restore restores schema and data, then fails on constraints and indexes. */
async function failingPostData(): Promise<Record<string, string>> {
  const bin = path.join(store, 'failing-bin');
  const real = (await findProgram('pg_restore')).path;
  await mkdir(bin, { recursive: true });
  await writeFile(
    path.join(bin, 'pg_restore'),
    // One pg_restore (an archive like this one) or the post-data pass of three; reads pass.
    `#!/bin/sh\ncase " $* " in *" --dbname="*) ;; *) exec ${real} "$@" ;; esac\ncase " $* " in\n  *" --section=post-data "*) ;;\n  *" --section="*) exec ${real} "$@" ;;\n  *) ${real} --section=pre-data --section=data "$@" || exit $? ;;\nesac\necho 'pg_restore: error: could not execute query: ERROR:  simulated failure' >&2\nexit 1\n`,
    { mode: 0o755 },
  );
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

/**
 * A PATH whose pg_restore, once pre-data is restored, holds its data pass until it is killed
 * (a read of a FIFO nobody writes), and a file that says it got there: a signal sent then lands
 * while restoring, however fast the machine.
 */
async function heldBeforeData(): Promise<{ env: Record<string, string>; reached: string }> {
  const bin = path.join(store, 'held-bin');
  const real = (await findProgram('pg_restore')).path;
  const reached = path.join(bin, 'reached-data');
  const gate = path.join(bin, 'gate');
  await rm(bin, { recursive: true, force: true });
  await mkdir(bin, { recursive: true });
  await run('mkfifo', [gate]);
  await writeFile(
    path.join(bin, 'pg_restore'),
    // The data pass of three, or one pg_restore split here after its pre-data; reads pass.
    `#!/bin/sh\ncase " $* " in *" --dbname="*) ;; *) exec '${real}' "$@" ;; esac\ncase " $* " in\n  *" --section=data "*) ;;\n  *" --section="*) exec '${real}' "$@" ;;\n  *) '${real}' --section=pre-data "$@" || exit $?\n     set -- --section=data --section=post-data "$@" ;;\nesac\n: > '${reached}'\nread go < '${gate}'\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return { env: { PATH: `${bin}:${process.env.PATH ?? ''}` }, reached };
}

/** An `onStart` that sends `signal` once `file` exists, and first records `look()`. */
function signalOnceMade<T>(
  file: string,
  signal: NodeJS.Signals,
  look: () => Promise<T>,
  seen: T[],
): NonNullable<RunOptions['onStart']> {
  return (child) => {
    const poll = setInterval(() => {
      if (!existsSync(file)) return;
      clearInterval(poll);
      void look().then((state) => {
        seen.push(state);
        child.kill(signal);
      });
    }, 20);
    child.on('exit', () => clearInterval(poll));
  };
}

const restore = (inputs: Record<string, string> = {}, options: RunOptions = {}) =>
  runAction(
    {
      mode: 'restore',
      storage: store,
      name: 'shop',
      'database-url': target.url,
      confirm: target.name,
      clean: 'true',
      jobs: '2',
      ...inputs,
    },
    options,
  );

beforeAll(async () => {
  target = await freshDatabase('clean_tgt');
  store = path.join(sample.work, 'store');
  const made = await runAction({ storage: store, 'database-url': sample.db.url, name: 'shop' });
  expect(made.code, made.stdout).toBe(0);
  sourceState = await stateOf(sample.db.url);
  const first = await runAction({
    mode: 'restore',
    storage: store,
    name: 'shop',
    'database-url': target.url,
    confirm: target.name,
  });
  expect(first.code, first.stdout).toBe(0);
});

afterAll(async () => {
  await target.drop();
});

describe('restore clean: true', () => {
  it('replaces a target that has a view on its tables whole: the view is gone, every table equals the source, keys intact', async () => {
    await changeTarget();
    const run = await restore();
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toMatch(/Target now \| replaced whole by the backup/);
    expect(await stateOf(target.url)).toEqual(sourceState);
    expect(await besideTarget()).toEqual([]);
  });

  it('a restore that fails part-way leaves the target exactly as it was, and says so', async () => {
    const before = await changeTarget();
    const failed = await restore({}, { env: await failingPostData() });
    expect(failed.code).not.toBe(0);
    expect(lastErrorLine(failed)).toMatch(/simulated failure/);
    expect(failed.summary).toMatch(/Target now \| unchanged: nothing was swapped in/);
    expect(failed.summary).toMatch(/Replaced whole \| no: the restore failed before the swap/);
    expect(failed.summary).not.toMatch(/Tables \/ rows \| 0 \/ 0/);
    expect(await stateOf(target.url)).toEqual(before);
    expect(await besideTarget()).toEqual([]);
  });

  it('a restore whose rows differ from the manifest is not swapped in', async () => {
    const before = await stateOf(target.url);
    const tampered = path.join(os.tmpdir(), `restore-clean-tampered-${process.pid}`);
    await rm(tampered, { recursive: true, force: true });
    await run('cp', ['-r', store, tampered]);
    try {
      const dir = path.join(tampered, 'shop');
      const manifestName = (await readdir(dir)).find((name) => name.endsWith('.manifest.json'));
      const file = path.join(dir, manifestName ?? '');
      const manifest = JSON.parse(await readFile(file, 'utf8')) as {
        rowCounts: Record<string, number>;
      };
      manifest.rowCounts['public.customers'] = 1;
      await writeFile(file, JSON.stringify(manifest));
      const failed = await restore({ storage: tampered });
      expect(failed.code).not.toBe(0);
      expect(lastErrorLine(failed)).toMatch(/public\.customers: expected 1, found 300/);
      expect(failed.summary).toMatch(/Target now \| unchanged/);
      expect(failed.summary).toMatch(
        /Owners and privileges \| not restored: the restore did not finish/,
      );
      expect(await stateOf(target.url)).toEqual(before);
      expect(await besideTarget()).toEqual([]);
    } finally {
      await rm(tampered, { recursive: true, force: true });
    }
  });

  it('refuses, before any download, while other sessions use the target, naming them', async () => {
    const before = await stateOf(target.url);
    const session = new pg.Client({
      connectionString: target.url,
      application_name: 'busy-report',
    });
    await session.connect();
    try {
      const refused = await restore();
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toMatch(
        /1 other session\(s\) are connected to .*pid \d+ by postgres \(busy-report\).*stop them and run again/,
      );
      expect(refused.stdout).not.toMatch(/sha256 .* verified/);
    } finally {
      await session.end();
    }
    expect(await stateOf(target.url)).toEqual(before);
  });

  it('cancelled (SIGTERM) while restoring: the target is as it was and nothing is left beside it', async () => {
    const before = await changeTarget();
    const held = await heldBeforeData();
    const beside: string[][] = [];
    const cancelled = await restore(
      {},
      { env: held.env, onStart: signalOnceMade(held.reached, 'SIGTERM', besideTarget, beside) },
    );
    // Signalled while restoring: pre-data was in the new database beside the target.
    expect(beside).toEqual([[expect.stringMatching(new RegExp(`^${target.name}_restore_`))]]);
    expect(cancelled.code).not.toBe(0);
    expect(cancelled.stdout).toContain('restoring into');
    expect(cancelled.summary).toMatch(/Target now \| unchanged/);
    expect(await stateOf(target.url)).toEqual(before);
    expect(await besideTarget()).toEqual([]);
  });

  it('killed (SIGKILL) at any point, leaves the target old or new, whole; the next run drops and names what was left beside it', async () => {
    const started = Date.now();
    const full = await restore();
    expect(full.code, full.stdout).toBe(0);
    const seconds = (Date.now() - started) / 1000;
    const leftBehind = new Set<string>();
    let laterOutput = '';
    const kills: RunOptions['onStart'][] = [
      ...[0.2, 0.45, 0.6, 0.7, 0.8, 0.9, 0.97].map(
        (fraction) => (child: ChildProcess) =>
          void setTimeout(() => child.kill('SIGKILL'), Math.round(seconds * 1000 * fraction)),
      ),
      signalOnceShown('swapping', 'SIGKILL', 0),
      signalOnceShown('swapping', 'SIGKILL', 20),
    ];
    for (const [i, onStart] of kills.entries()) {
      const before = await changeTarget();
      const killed = await restore({}, { onStart });
      laterOutput += killed.stdout;
      // Under load a run may finish before a late kill: then it must have replaced the target.
      expect([null, 0], `kill ${i}: ${killed.stdout}`).toContain(killed.code);
      const after = await stateOf(target.url);
      const outcome = after.schema === before.schema ? before : sourceState;
      expect(after, `kill ${i}: the target is old or new, whole`).toEqual(outcome);
      for (const name of await besideTarget()) leftBehind.add(name);
    }
    const next = await restore();
    expect(next.code, next.stdout).toBe(0);
    laterOutput += next.stdout;
    // A kill in the milliseconds between CREATE DATABASE and its mark leaves a database that is
    // not provably this tool's (issue 27, item 2: never dropped by its name's shape): it is named
    // in a warning and left; every other leftover is dropped and named.
    const unmarked = [...leftBehind]
      .sort()
      .filter((name) =>
        next.stdout.includes(
          `${name} looks like a restore's database beside ${target.name}, but is not marked`,
        ),
      );
    // That window is a few milliseconds: one kill of nine may land in it, not more; the rest of
    // what the kills left is this tool's and is dropped.
    expect(unmarked.length).toBeLessThanOrEqual(1);
    expect(leftBehind.size - unmarked.length).toBeGreaterThan(0);
    for (const name of leftBehind) {
      if (!unmarked.includes(name)) expect(laterOutput).toContain(`dropping ${name}`);
    }
    expect(await besideTarget()).toEqual(unmarked);
    expect(await stateOf(target.url)).toEqual(sourceState);
  }, 180_000);
});

describe('a failed restore says where it left things', () => {
  it('into an empty target (no clean): partly restored, with the tables there now and what to do', async () => {
    const empty = await freshDatabase('clean_partial');
    try {
      const failed = await runAction(
        {
          mode: 'restore',
          storage: store,
          name: 'shop',
          'database-url': empty.url,
          confirm: empty.name,
        },
        { env: await failingPostData() },
      );
      expect(failed.code).not.toBe(0);
      const tables = Object.keys(await tableChecksums(empty.url)).length;
      expect(tables).toBeGreaterThan(0);
      expect(failed.summary).toContain(
        `Target now | partly restored: ${tables} tables are in it now. Restore again with clean: true`,
      );
      expect(failed.summary).toContain('Tables / rows | not counted: the restore did not finish');
    } finally {
      await empty.drop();
    }
  });

  it('restore-test: not counted, rather than 0 / 0', async () => {
    const failed = await runAction(
      { mode: 'restore-test', storage: store, name: 'shop', 'database-url': testDatabaseUrl() },
      { env: await failingPostData() },
    );
    expect(failed.code).not.toBe(0);
    expect(failed.summary).toContain('Tables / rows | not counted: the restore did not finish');
  });
});

describe('database-level settings and comment', () => {
  let confSource: FreshDatabase;
  let confStore: string;

  /** The database's settings (role, name=value) and its comment, as a user lists them. */
  async function settingsOf(name: string): Promise<{ settings: string[]; comment: string | null }> {
    return withClient(testDatabaseUrl(), async (client) => {
      const { rows } = await client.query<{ item: string }>(
        `SELECT coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*') || ' ' || c AS item
           FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase,
                unnest(s.setconfig) AS c WHERE d.datname = $1 ORDER BY 1`,
        [name],
      );
      const { rows: comments } = await client.query<{ comment: string | null }>(
        `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
        [name],
      );
      return { settings: rows.map((row) => row.item), comment: comments[0]?.comment ?? null };
    });
  }

  beforeAll(async () => {
    confSource = await freshDatabase('conf_src');
    await withClient(confSource.url, (client) =>
      client.query(`
        DO $$ BEGIN CREATE ROLE conf_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1);
        ALTER DATABASE ${confSource.name} SET search_path = 'app, x', public;
        ALTER DATABASE ${confSource.name} SET work_mem = '6MB';
        ALTER ROLE conf_reader IN DATABASE ${confSource.name} SET work_mem = '8MB';
        COMMENT ON DATABASE ${confSource.name} IS 'the ${confSource.name} database; it''s ours';
      `),
    );
    confStore = await mkdtemp(path.join(os.tmpdir(), 'restore-conf-'));
    const made = await runAction({
      storage: confStore,
      'database-url': confSource.url,
      name: 'conf',
    });
    expect(made.code, made.stdout).toBe(0);
  });

  afterAll(async () => {
    await confSource.drop();
    await rm(confStore, { recursive: true, force: true });
  });

  const restoreConf = (into: FreshDatabase, inputs: Record<string, string> = {}) =>
    runAction({
      mode: 'restore',
      storage: confStore,
      name: 'conf',
      'database-url': into.url,
      confirm: into.name,
      ...inputs,
    });

  it('restore applies the backup’s settings and comment under the target’s name; restore-database-settings: false does not', async () => {
    const expected = await settingsOf(confSource.name);
    expect(expected.settings).toHaveLength(3);
    const into = await freshDatabase('conf_into');
    const plain = await freshDatabase('conf_plain');
    try {
      const run = await restoreConf(into);
      expect(run.code, run.stdout).toBe(0);
      expect(run.summary).toContain('Database settings | 4 of 4 applied from the backup');
      expect(await settingsOf(into.name)).toEqual({
        settings: expected.settings,
        comment: `the ${confSource.name} database; it's ours`,
      });

      const off = await restoreConf(plain, { 'restore-database-settings': 'false' });
      expect(off.code, off.stdout).toBe(0);
      expect(await settingsOf(plain.name)).toEqual({ settings: [], comment: null });
      expect(off.summary).toContain(
        'Database settings | not restored (restore-database-settings: false)',
      );

      // clean: the target's own settings stay; the backup's are applied over them.
      await withClient(testDatabaseUrl(), (client) =>
        client.query(
          `ALTER DATABASE ${into.name} SET statement_timeout = '5s';
           ALTER DATABASE ${into.name} SET work_mem = '1MB';`,
        ),
      );
      const cleaned = await restoreConf(into, { clean: 'true' });
      expect(cleaned.code, cleaned.stdout).toBe(0);
      expect(await settingsOf(into.name)).toEqual({
        settings: [...expected.settings, '* statement_timeout=5s'].sort(),
        comment: `the ${confSource.name} database; it's ours`,
      });
    } finally {
      await Promise.all([into.drop(), plain.drop()]);
    }
  });

  it('restore-test applies them to the scratch database and reports them', async () => {
    const run = await runAction({
      mode: 'restore-test',
      storage: confStore,
      name: 'conf',
      'database-url': testDatabaseUrl(),
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toContain(
      'Database settings | 4 of 4 restored (settings, comment and privileges)',
    );
  });

  it('a target named with quotes and 63 bytes of UTF-8 is replaced, its side database named within 63 bytes', async () => {
    // No ; , / ? # $: libpq URLs with those are another matter (issue 19, item 17).
    const name = `Zielbank "ü" it's ${'é'.repeat(20)}xx${Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0')}`;
    expect(Buffer.byteLength(name)).toBe(63);
    await createDatabase(testDatabaseUrl(), name);
    const weird: FreshDatabase = {
      name,
      url: withDatabase(testDatabaseUrl(), name),
      drop: () => dropDatabase(testDatabaseUrl(), name),
    };
    try {
      const first = await restoreConf(weird);
      expect(first.code, first.stdout).toBe(0);
      const run = await restoreConf(weird, { clean: 'true' });
      expect(run.code, run.stdout).toBe(0);
      const side = /restoring into (.+), to replace/.exec(run.stdout)?.[1] ?? '';
      expect(side).toMatch(/^Zielbank "ü" it's (é)+_restore_[0-9a-f]{6}$/);
      expect(Buffer.byteLength(side)).toBeLessThanOrEqual(63);
      expect(await settingsOf(name)).toEqual(await settingsOf(confSource.name));
    } finally {
      await weird.drop();
    }
  });
});
