/**
 * A restore-test killed outright (SIGKILL: nothing of Node runs after it) while its decrypted
 * archive is on disk, its scratch database made and the backup's roles (a SUPERUSER among them,
 * with production's password hash) applied: the next run removes the archive's folder, drops the
 * scratch database and those roles before it starts, and leaves what a run still going made, and
 * what is not marked, alone (issue 27, item 7).
 *
 * Covers: src/restore/scratch-lease.ts, src/postgres/scratch-marks.ts,
 * src/process/run-folders.ts, src/restore/archive.ts.
 */
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, withClient, type PgCluster } from '../../scripts/lib/pg-cluster.js';
import { runAction, type RunOptions } from '../support/action.js';
import { filesUnder } from '../support/listing.js';
import { startServerCluster, type ServerCluster } from '../support/server-cluster.js';

let source: ServerCluster;
let scratch: PgCluster;
let work: string;
let store: string;
let identity: string;

beforeAll(async () => {
  [source, scratch] = await Promise.all([startServerCluster(), startCluster()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'restore-test-killed-'));
  store = path.join(work, 'store');
  identity = await generateIdentity();
  await withClient(source.url, (client) =>
    client.query("CREATE ROLE prod_super SUPERUSER LOGIN PASSWORD 'prod-hash-source-7c1'"),
  );
  const backup = await runAction({
    storage: store,
    name: 'srv',
    'database-url': source.url,
    databases: 'all',
    'age-recipients': await identityToRecipient(identity),
  });
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), scratch?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

const restoreTest = (runnerTemp: string, onStart?: RunOptions['onStart']) =>
  runAction(
    {
      mode: 'restore-test',
      storage: store,
      name: 'srv',
      'database-url': scratch.url,
      'age-identity': identity,
      'restore-globals': 'true',
      // One database at a time, so that the kill finds exactly one archive and scratch database.
      jobs: '1',
    },
    { runnerTemp, ...(onStart ? { onStart } : {}) },
  );

async function holdings(
  databasesSql = 'SELECT datname AS n FROM pg_database ORDER BY 1',
): Promise<{ databases: string[]; roles: string[] }> {
  return withClient(scratch.url, async (client) => {
    const names = async (sql: string) =>
      (await client.query<{ n: string }>(sql)).rows.map((r) => r.n);
    return {
      databases: await names(databasesSql),
      roles: await names('SELECT rolname AS n FROM pg_roles ORDER BY 1'),
    };
  });
}

/** Whether a scratch database exists with a comment (this tool's mark) while an archive is on disk. */
async function restoring(runnerTemp: string): Promise<boolean> {
  if ((await archivesIn(runnerTemp)).length === 0) return false;
  const { databases } = await holdings(
    "SELECT datname AS n FROM pg_database WHERE datname LIKE 'restore\\_test\\_%' AND shobj_description(oid, 'pg_database') IS NOT NULL",
  );
  return databases.length > 0;
}

/** Polls every 20 ms; SIGKILL at the first poll that finds the run restoring. */
function killWhenRestoring(runnerTemp: string): RunOptions['onStart'] {
  return (child) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void restoring(runnerTemp)
        .then((now) => {
          if (now) child.kill('SIGKILL');
        })
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 20);
    child.on('exit', () => clearInterval(timer));
  };
}

const archivesIn = async (dir: string) =>
  (await filesUnder(dir)).filter((file) => file.endsWith('archive.dump'));

describe('restore-test killed with SIGKILL', () => {
  it('leaves plaintext and superusers that the next run removes before it starts', async () => {
    const runnerTemp = path.join(work, 'runner-temp');
    await mkdir(runnerTemp);
    const before = await holdings();
    // Killed once the decrypted archive is on disk and a marked scratch database holds the roles.
    const killed = await restoreTest(runnerTemp, killWhenRestoring(runnerTemp));
    expect(killed.code, killed.stdout).not.toBe(0);
    const left = await holdings();
    // What the kill left: the decrypted archive, a scratch database, the backup's superuser.
    expect(await archivesIn(runnerTemp)).toHaveLength(1);
    expect(left.databases.filter((name) => name.startsWith('restore_test_srv_'))).toHaveLength(1);
    expect(left.roles).toContain('prod_super');

    const again = await restoreTest(runnerTemp);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      /dropping the scratch database restore_test_srv_\w+_1, left by a restore-test that was killed/,
    );
    expect(again.stdout).toMatch(
      /dropping the role\(s\) .*"prod_super".*, made by a restore-test that was killed/,
    );
    // The second run's roles were made anew, not "left as they were".
    expect(again.summary).not.toMatch(/left as they were: [^;|]*prod_super/);
    // The report the run leaves for the job's later steps is all there is.
    expect(await readdir(runnerTemp)).toEqual([
      expect.stringMatching(/^backup-action-report-\w+\.json$/),
    ]);
    expect(await holdings()).toEqual(before);
  }, 240_000);

  it('leaves alone a marked database whose run still holds its lock, and one whose comment only looks like a mark', async () => {
    const holder = new pg.Client({ connectionString: scratch.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', [0x62616b75, 4242]);
      await holder.query('CREATE DATABASE live_scratch');
      await holder.query(
        "COMMENT ON DATABASE live_scratch IS 'backup-action restore-test scratch, lock 4242'",
      );
      await holder.query('CREATE DATABASE users_notes');
      await holder.query(
        "COMMENT ON DATABASE users_notes IS 'notes: backup-action restore-test scratch, lock 77'",
      );
      const run = await restoreTest(await mkdtemp(path.join(work, 'temp-')));
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).not.toMatch(/left by a restore-test that was killed/);
      expect((await holdings()).databases).toEqual(
        expect.arrayContaining(['live_scratch', 'users_notes']),
      );
    } finally {
      await holder.end();
    }
  }, 180_000);
});
