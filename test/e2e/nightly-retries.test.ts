/**
 * `retries` in the nightly modes, as the bundle runs them: what verify-latest and restore-test find
 * of a backup (a sha256 that does not match, a failed check, a row count that differs) is a
 * finding, reported on the first attempt and never run again, even when its words read like a
 * failure that passes (a check about a `connection refused`). A store's hiccup is tried again:
 * store-cut.test.ts. The store is a directory store whose files the test alters.
 *
 * Covers: src/history/runs.ts, src/modes/verify-latest.ts, src/kinds/report.ts, src/core/retry.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionRun } from '../support/action.js';
import { freshDatabase } from '../support/db.js';
import { withClient } from '../../scripts/lib/pg-cluster.js';

/** Three attempts at most, one second apart. */
const RETRY = { retries: '2', 'retry-delay': '1s' };

let work: string;

/** How many attempts a run made: each leaves one record in the set's history. */
const attempts = (run: ActionRun) =>
  run.stdout.split('\n').filter((line) => line.includes('Recorded this run in the set')).length;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'nightly-retries-'));
  await mkdir(path.join(work, 'site'));
  await writeFile(path.join(work, 'site', 'blob.bin'), randomBytes(64 * 1024));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('what the nightly modes find of the backup is never tried again', () => {
  it('a sha256 that does not match: verify-latest and restore-test fail on the first attempt', async () => {
    const store = path.join(work, 'tampered');
    const inputs = { storage: store, name: 'site', ...RETRY };
    const made = await runAction({ ...inputs, source: 'files', paths: 'site' }, { cwd: work });
    expect(made.code, made.stdout + made.stderr).toBe(0);
    const object = path.join(store, made.outputs['backup-key']!);
    const bytes = await readFile(object);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(object, bytes);
    const modes: Record<string, string>[] = [
      { mode: 'verify-latest', deep: 'true' },
      { mode: 'restore-test' },
    ];
    for (const mode of modes) {
      const failed = await runAction({ ...inputs, ...mode }, { cwd: work });
      expect(failed.code, failed.stdout).not.toBe(0);
      expect(failed.stdout).toMatch(/::error::.*sha256 of \S+ is [0-9a-f]{64}, but its manifest/);
      expect(failed.stdout).not.toMatch(/trying again|attempt \d of \d/);
      expect(attempts(failed)).toBe(1);
    }
  });

  it('a failed check, a row count that differs: restore-test fails on the first attempt', async () => {
    const db = await freshDatabase('nightly_retries');
    try {
      await withClient(db.url, async (client) => {
        await client.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 3) g');
        await client.query(`CREATE TABLE log AS SELECT 'upstream: connection refused' AS message`);
      });
      const store = path.join(work, 'rows');
      const inputs = { storage: store, name: 'shop', 'database-url': db.url, ...RETRY };
      const made = await runAction(inputs);
      expect(made.code, made.stdout + made.stderr).toBe(0);
      // A check whose words read like a passing failure is still a finding.
      const check = `SELECT count(*) = 0 FROM log WHERE message LIKE '%connection refused%'`;
      const checked = await runAction({ ...inputs, mode: 'restore-test', checks: check });
      expect(checked.code, checked.stdout).not.toBe(0);
      expect(checked.stdout).toMatch(/::error::.*connection refused/);
      expect(checked.stdout).not.toMatch(/trying again|attempt \d of \d/);
      expect(attempts(checked)).toBe(1);
      const manifestFile = path.join(store, 'shop', `${made.outputs['backup-id']}.manifest.json`);
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
        rowCounts: Record<string, number>;
      };
      expect(manifest.rowCounts['public.t']).toBe(3);
      manifest.rowCounts['public.t'] = 4;
      await writeFile(manifestFile, JSON.stringify(manifest));
      const tested = await runAction({ ...inputs, mode: 'restore-test' });
      expect(tested.code, tested.stdout).not.toBe(0);
      expect(tested.stdout).toMatch(/::error::.*public\.t/);
      expect(tested.stdout).not.toMatch(/trying again|attempt \d of \d/);
      expect(attempts(tested)).toBe(1);
    } finally {
      await db.drop();
    }
  }, 120_000);
});
