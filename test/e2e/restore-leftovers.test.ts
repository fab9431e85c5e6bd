/**
 * What a clean restore's sweep of interrupted runs' leftovers may drop (issue 27, items 1, 2, 10):
 * only a database whose mark names the name and oid it has now, never the target (a user who
 * rolled back by renaming the old database to the target's name), never a user's database named
 * like a leftover (`<target>_old_202401`, empty or holding only a large object), never a database
 * that carries a leftover's comment copied onto it. And a `$` in the target's name survives the
 * copy of its privileges onto the new database.
 *
 * Covers: src/postgres/replace.ts, src/kinds/database/restore.ts, src/restore/restore-database.ts.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  withClient,
  withDatabase,
} from '../../scripts/lib/pg-cluster.js';
import { tableChecksums } from '../../scripts/lib/sample-db.js';
import { onceShown, runAction, type RunOptions } from '../support/action.js';
import { freshDatabase, sampleSource, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';

const sample = sampleSource('left_src', 200);
let store: string;
let source: Record<string, string>;

const server = <T>(act: (client: import('pg').Client) => Promise<T>) =>
  withClient(testDatabaseUrl(), act);

const restore = (into: FreshDatabase, inputs: Record<string, string> = {}, options?: RunOptions) =>
  runAction(
    {
      mode: 'restore',
      storage: store,
      name: 'shop',
      'database-url': into.url,
      confirm: into.name,
      ...inputs,
    },
    options,
  );

/** Databases on the server whose names start with `prefix`. */
async function named(prefix: string): Promise<string[]> {
  return server(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`,
      [prefix],
    );
    return rows.map((row) => row.datname);
  });
}

async function commentOf(name: string): Promise<string | null> {
  return server(async (client) => {
    const { rows } = await client.query<{ c: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`,
      [name],
    );
    return rows[0]?.c ?? null;
  });
}

/**
 * A clean restore killed between its swap and its drop of the old database, as a killed runner
 * leaves it: once the run says it swaps, it is stopped at every step while the server is asked
 * whether the old database is there yet, and killed when it is. Returns the old database's name.
 */
async function leaveOldBehind(target: FreshDatabase): Promise<string> {
  const watcher = new pg.Client({ connectionString: testDatabaseUrl() });
  await watcher.connect();
  const oldOne = async () => {
    const { rows } = await watcher.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [`${target.name}_old_`],
    );
    return rows[0]?.datname;
  };
  const step = async (child: ChildProcess) => {
    while (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGSTOP');
      if ((await oldOne()) !== undefined) return void child.kill('SIGKILL');
      child.kill('SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  try {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await restore(
        target,
        { clean: 'true' },
        { onStart: onceShown('swapping', 0, (child) => void step(child)) },
      );
      const old = await oldOne();
      if (old !== undefined) return old;
    }
  } finally {
    await watcher.end();
  }
  throw new Error('no kill left the old database behind');
}

beforeAll(async () => {
  store = path.join(sample.work, 'store');
  const made = await runAction({ storage: store, 'database-url': sample.db.url, name: 'shop' });
  expect(made.code, made.stdout).toBe(0);
  source = await tableChecksums(sample.db.url);
});

describe('a clean restore’s leftover sweep', () => {
  const targets: FreshDatabase[] = [];

  /** A target holding the backup, restored into as a user does before restoring with clean. */
  async function restoredTarget(): Promise<FreshDatabase> {
    const target = await freshDatabase('left_tgt');
    targets.push(target);
    const first = await restore(target);
    expect(first.code, first.stdout).toBe(0);
    return target;
  }

  afterAll(async () => {
    for (const target of targets) {
      for (const name of await named(`${target.name}_`)) {
        await dropDatabase(testDatabaseUrl(), name);
      }
      await target.drop();
    }
  });

  it('never drops its target: the old database renamed back to the target’s name is restored into', async () => {
    const target = await restoredTarget();
    const old = await leaveOldBehind(target);
    const broken = `${target.name}_broken`;
    // The user's rollback: the old database takes its name back, its comment moving with it.
    await server((client) =>
      client.query(
        `ALTER DATABASE ${target.name} RENAME TO ${broken}; ALTER DATABASE ${old} RENAME TO ${target.name}`,
      ),
    );
    const run = await restore(target, { clean: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain(`dropping ${target.name},`);
    expect(await tableChecksums(target.url)).toEqual(source);
    expect(await named(broken)).toEqual([broken]);
  }, 120_000);

  it('drops a leftover marked as its own, and leaves alone a user’s databases named like one, or wearing its mark', async () => {
    const target = await restoredTarget();
    const userOld = `${target.name}_old_202401`;
    const userSide = `${target.name}_restore_abcdef`;
    const wearer = `${target.name}_copy`;
    const leftover = await leaveOldBehind(target);
    await createDatabase(testDatabaseUrl(), userOld);
    await createDatabase(testDatabaseUrl(), userSide);
    await createDatabase(testDatabaseUrl(), wearer);
    // Its only content a large object: nothing that pg_class, pg_namespace or pg_proc counts.
    await withClient(withDatabase(testDatabaseUrl(), userOld), (client) =>
      client.query(`SELECT lo_from_bytea(424242, 'precious'::bytea)`),
    );
    const mark = await commentOf(leftover);
    expect(mark).toMatch(/^backup-action: /);
    await server((client) =>
      client.query(`COMMENT ON DATABASE ${wearer} IS '${(mark ?? '').replace(/'/g, "''")}'`),
    );

    const run = await restore(target, { clean: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(`dropping ${leftover}, the old ${target.name}`);
    expect(await named(leftover)).toEqual([]);
    for (const name of [userOld, userSide, wearer]) {
      expect(await named(name), name).toEqual([name]);
      expect(run.stdout).toContain(`${name} looks like a restore's database beside`);
    }
    const lo = await withClient(withDatabase(testDatabaseUrl(), userOld), (client) =>
      client.query<{ data: string }>(`SELECT convert_from(lo_get(424242), 'UTF8') AS data`),
    );
    expect(lo.rows[0]?.data).toBe('precious');
    expect(await tableChecksums(target.url)).toEqual(source);
  }, 120_000);
});

describe('a target named with `$` replacement patterns', () => {
  const name = `left$&x$'y$$z_${process.pid}`;
  const target: FreshDatabase = {
    name,
    url: withDatabase(testDatabaseUrl(), name),
    drop: () => dropDatabase(testDatabaseUrl(), name),
  };

  afterAll(() => target.drop());

  it('keeps its privileges through a clean restore', async () => {
    await createDatabase(testDatabaseUrl(), name);
    const quoted = `"${name}"`;
    await server((client) =>
      client.query(
        `DO $$ BEGIN CREATE ROLE left_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         REVOKE ALL ON DATABASE ${quoted} FROM PUBLIC;
         GRANT CONNECT ON DATABASE ${quoted} TO left_reader`,
      ),
    );
    const acl = () =>
      server(async (client) => {
        const { rows } = await client.query<{ acl: string }>(
          `SELECT datacl::text AS acl FROM pg_database WHERE datname = $1`,
          [name],
        );
        return rows[0]?.acl;
      });
    const before = await acl();
    expect(before).toContain('left_reader=c/');
    const first = await restore(target);
    expect(first.code, first.stdout).toBe(0);
    const run = await restore(target, { clean: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toMatch(/Target now \| replaced whole by the backup/);
    expect(await acl()).toBe(before);
  }, 120_000);
});
