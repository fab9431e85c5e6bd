/**
 * History and status over real stores made by real backups: a directory and s3rver (through the
 * AWS SDK), each filled by the bundle as the runner runs it (backups of a real database,
 * verify-latest, a restore-test that passes and one whose check fails). The records are there,
 * one per run, holding no secret; `status` shows the set (newest backup, age, the failed
 * restore-test, what retention would do, Mermaid charts, its output and metrics) and fails naming
 * why. Then hostile records (dated ahead, torn, forged, oversized) break and mislead nothing:
 * status names each and counts none, verify-latest and `latest` do not see them, retention-prune
 * deletes old records with their backups and never the hostile ones. Last, `status` over a whole
 * store on the command line.
 *
 * Covers: src/history/runs.ts, src/modes/status.ts, src/storage/history.ts,
 * src/storage/catalog.ts, src/inputs/status.ts, src/modes/retention-prune.ts, src/notify/metrics.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBackupId } from '../../src/core/ids.js';
import { recordKey } from '../../src/core/layout.js';
import { listSet } from '../../src/storage/catalog.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { HISTORY_LENGTH, readRecords, writeRecord } from '../../src/storage/history.js';
import type { Store } from '../../src/storage/index.js';
import { S3Store } from '../../src/storage/s3.js';
import { runAction, runCli, lastErrorLine, type ActionRun } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { metricsProblems, NO_PROMTOOL } from '../support/prometheus.js';
import { requireInCI } from '../support/require-in-ci.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';

const PASSPHRASE = 'history-secret-passphrase-7391';
/** The modes that read encryption-passphrase (the others would leave it unmasked). */
const READS_PASSPHRASE = ['backup', 'verify-latest', 'restore-test'];

let db: FreshDatabase;
let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'history-test-'));
  db = await freshDatabase('history');
  await withClient(db.url, (client) =>
    client.query('CREATE TABLE public.items AS SELECT g AS id FROM generate_series(1, 250) g'),
  );
}, 60_000);
afterAll(async () => {
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

interface Place {
  label: string;
  storage: () => string;
  inputs: () => Record<string, string>;
  env: Record<string, string>;
  open: () => Store;
}
const prefix = `history-${process.pid}`;
const PLACES: Place[] = [
  {
    label: 'a directory',
    storage: () => path.join(work, 'store'),
    inputs: () => ({}),
    env: {},
    open: () => new DirectoryStore(path.join(work, 'store')),
  },
  {
    label: 's3rver',
    storage: () => `s3://${testS3Bucket()}/${prefix}`,
    inputs: () => ({ 's3-endpoint': testS3Endpoint() }),
    env: S3_ENV,
    open: () =>
      new S3Store(new S3Client(testS3ClientConfig()), {
        bucket: testS3Bucket(),
        prefix,
        settings: {},
        warn: () => undefined,
      }),
  },
];

async function keysOf(store: Store, under: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(under)) keys.push(object.key);
  return keys.sort();
}

/** Every ```mermaid block of a summary. */
export const mermaidBlocks = (summary: string): string[] =>
  [...summary.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe.each(PLACES)('on $label', (place) => {
  const name = 'shop';
  const run = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runAction(
      {
        storage: place.storage(),
        name,
        ...(READS_PASSPHRASE.includes(inputs.mode ?? 'backup')
          ? { 'encryption-passphrase': PASSPHRASE }
          : {}),
        ...place.inputs(),
        ...inputs,
      },
      { env: { ...place.env, ...env } },
    );
  let backups: ActionRun[] = [];
  let metricsFile: string;
  let status: ActionRun;

  beforeAll(async () => {
    backups = [];
    for (let i = 0; i < 3; i += 1) {
      await withClient(db.url, (c) => c.query('INSERT INTO public.items VALUES (1000 + $1)', [i]));
      const made = await run({ 'database-url': db.url });
      expect(made.code, made.stdout).toBe(0);
      backups.push(made);
    }
    const runs: Record<string, string>[] = [
      { mode: 'verify-latest' },
      { mode: 'restore-test', 'database-url': db.url },
      {
        mode: 'restore-test',
        'database-url': db.url,
        checks: 'SELECT count(*) = 999 FROM public.items',
      },
    ];
    for (const inputs of runs) await run(inputs);
    metricsFile = path.join(work, `${place.label.replace(/\W/g, '')}.prom`);
    status = await run({ mode: 'status', 'keep-last': '2', 'metrics-file': metricsFile });
  }, 240_000);

  it('keeps one record per run beside the backups, holding no secret', async () => {
    const store = place.open();
    const records = await keysOf(store, `${name}/history/`);
    expect(records.map((key) => key.replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/, 'RUN'))).toEqual(
      expect.arrayContaining([
        'shop/history/RUN.verify-latest.json',
        'shop/history/RUN.restore-test.json',
      ]),
    );
    expect(records).toHaveLength(3);
    const password = new URL(db.url).password;
    for (const key of records) {
      const text = (await store.read(key, 1 << 16)).toString();
      expect(text).not.toContain(PASSPHRASE);
      if (password) expect(text).not.toContain(password);
      expect(text).not.toContain(db.url);
    }
    const failed = records.map(async (key) =>
      JSON.parse((await store.read(key, 1 << 16)).toString()),
    );
    const parsed = (await Promise.all(failed)) as {
      ok: boolean;
      problem?: string;
      figures: object;
    }[];
    expect(parsed.filter((r) => !r.ok).map((r) => r.problem)).toEqual([
      expect.stringMatching(/SELECT count\(\*\) = 999 FROM public\.items/),
    ]);
  });

  it('shows the restore-test trend in its summary: recovery time and rows, the failed one marked', async () => {
    const again = await run({ mode: 'restore-test', 'database-url': db.url });
    expect(again.code, again.stdout).toBe(0);
    const blocks = mermaidBlocks(again.summary);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toMatch(/title "Recovery time, last 3 restore-tests"/);
    expect(blocks[0]).toMatch(/x-axis \[.*✗.*\]/);
    // Every test restored the same newest backup: its rows, three times.
    expect(blocks[1]).toMatch(/bar \[(25\d), \1, \1\]/);
  });

  it('status fails naming the failed restore-test, and shows the set at a glance', () => {
    expect(status.code).toBe(1);
    expect(lastErrorLine(status)).toMatch(
      /shop needs attention: last restore-test failed: .*SELECT count\(\*\) = 999/,
    );
    const [set] = (JSON.parse(status.outputs.status!) as { sets: Record<string, unknown>[] }).sets;
    const newest = backups.at(-1)!.outputs['backup-id'];
    expect(set).toMatchObject({
      name: 'shop',
      ok: false,
      stores: [{ store: expect.any(String), backups: 3, newestId: newest }],
      lastRestoreTest: { ok: false },
      lastVerify: { ok: true, backupId: newest },
      retention: { keep: 2, delete: [backups[0]!.outputs['backup-id']] },
    });
    expect(status.outputs['latest-id']).toBe(newest);
    expect(status.summary).toContain('| Last restore-test | FAILED ');
    expect(status.summary).toContain('| Retention next | keep 2, delete 1 |');
    expect(mermaidBlocks(status.summary).map((b) => /title "([^"]+)"/.exec(b)?.[1])).toEqual([
      'Backup size, last 3 backups',
      'Backup duration, last 3 backups',
      'Recovery time, last 2 restore-tests',
      'Rows restored, last 2 restore-tests',
    ]);
    expect(status.everything).not.toContain(PASSPHRASE);
  });

  it('writes status metrics under mode="status", the store a label', async () => {
    const text = await readFile(metricsFile, 'utf8');
    expect(text).toContain(`backup_action_last_run_success{mode="status",set="shop"} 0`);
    const age =
      /backup_action_latest_backup_age_seconds\{mode="status",set="shop",store="([^"]+)"\} (\d+)/.exec(
        text,
      );
    expect(age?.[1]).toBe(place.label === 's3rver' ? `${place.storage()}/` : place.storage());
    expect(Number(age?.[2])).toBeLessThan(600);
  });

  it.skipIf(requireInCI(NO_PROMTOOL))('writes status metrics promtool accepts', async () => {
    expect(await metricsProblems(await readFile(metricsFile, 'utf8'))).toBe('');
  });

  describe('hostile records', () => {
    const store = () => place.open();
    let hostile: Record<string, string>;

    beforeAll(async () => {
      const ahead = newBackupId(new Date(Date.now() + 3 * 86_400_000));
      const torn = newBackupId(new Date(Date.now() - 1000));
      const forged = newBackupId(new Date(Date.now() - 500));
      const large = newBackupId(new Date(Date.now() - 200));
      const lie = (id: string, edit: object) =>
        JSON.stringify({
          version: 1,
          mode: 'restore-test',
          id,
          name,
          startedAt: new Date(Date.now()).toISOString(),
          finishedAt: new Date(Date.now()).toISOString(),
          ok: true,
          figures: { restoreSeconds: 1 },
          tool: { name: 'backup-action', version: '9' },
          ...edit,
        });
      hostile = {
        ahead: recordKey(name, ahead, 'restore-test'),
        torn: recordKey(name, torn, 'restore-test'),
        forged: recordKey(name, forged, 'restore-test'),
        large: recordKey(name, large, 'verify-latest'),
      };
      await store().put(
        hostile.ahead!,
        lie(ahead, { startedAt: `${ahead.slice(0, 4)}-01-01T00:00:00Z` }),
      );
      await store().put(hostile.torn!, lie(torn, {}).slice(0, 40));
      await store().put(hostile.forged!, lie(forged, { name: 'crm' }));
      await store().put(hostile.large!, ' '.repeat(70_000));
    }, 60_000);

    it('status names each and counts none: the last restore-test is still the real one', async () => {
      const seen = await run({ mode: 'status', 'max-age': '1h' });
      const [set] = (
        JSON.parse(seen.outputs.status!) as {
          sets: { unusable: { key: string }[]; lastRestoreTest: { ok: boolean } }[];
        }
      ).sets;
      expect(set!.unusable.map((u) => u.key).sort()).toEqual(Object.values(hostile).sort());
      expect(set!.lastRestoreTest.ok).toBe(true);
      expect(seen.code, seen.stdout).toBe(0);
      for (const key of Object.values(hostile)) expect(seen.summary).toContain(key);
      expect(seen.stdout).toMatch(/::warning::shop: 4 not counted: /);
      expect(seen.summary).toMatch(/dated .* ahead of this machine's clock/);
      expect(seen.summary).toMatch(/torn record .*not valid JSON/);
      expect(seen.summary).toMatch(/forged record .*records set "crm"/);
      expect(seen.summary).toMatch(/larger than 65536 bytes/);
    });

    it('verify-latest, restore-test of latest and retention-prune are not misled', async () => {
      const newest = backups.at(-1)!.outputs['backup-id'];
      const verified = await run({ mode: 'verify-latest' });
      expect(verified.code, verified.stdout).toBe(0);
      expect(verified.outputs['latest-id']).toBe(newest);
      expect(verified.stdout).not.toMatch(/no manifest|leftover/i);
      const restored = await run({ mode: 'restore-test', 'database-url': db.url });
      expect(restored.outputs['backup-id']).toBe(newest);
      // A newer backup, and a prune keeping it alone: the history of the runs before it goes with
      // the backups (decided by the key's time, as a prune reads no record); the record dated
      // ahead is named, and stays.
      const latest = await run({ 'database-url': db.url });
      expect(latest.code, latest.stdout).toBe(0);
      const pruned = await run({ mode: 'retention-prune', 'keep-last': '1' });
      expect(pruned.code, pruned.stdout).toBe(0);
      expect(pruned.outputs.deleted).toBe('3');
      expect(pruned.summary).toContain('| Keys not in the layout (untouched) | 0 |');
      expect(pruned.summary).toMatch(
        /\| History records deleted \(runs before the oldest backup kept\) \| (\d+) \|/,
      );
      expect(pruned.stdout).toMatch(
        new RegExp(`::warning::1 history record\\(s\\) dated ahead .*${hostile.ahead}`),
      );
      expect(await keysOf(store(), `${name}/history/`)).toEqual([hostile.ahead]);
      expect(await keysOf(store(), `${name}/`)).toEqual(
        expect.arrayContaining([`${name}/${latest.outputs['backup-id']}.manifest.json`]),
      );
      // Five runs of the bundle against a real database: 25-55 s on a shared machine.
    }, 180_000);
  });
});

it('status over a whole store, on the command line: one row per set, failing ones named', async () => {
  const store = path.join(work, 'store');
  const made = await runCli([
    'backup',
    '--storage',
    store,
    '--name',
    'crm',
    '--database-url',
    db.url,
  ]);
  expect(made.code, made.stderr).toBe(0);
  const all = await runCli(['status', '--storage', store]);
  expect(all.code, all.stderr).toBe(0);
  expect(all.stdout).toMatch(/Every set in .*store/);
  expect(all.stdout).toMatch(/\n {2}crm +✅ ok +\d{8}T/);
  expect(all.stdout).toMatch(/\n {2}shop +✅ ok +\d{8}T/);
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const stale = await runCli(['status', '--storage', store, '--max-age', '1s']);
  expect(stale.code).toBe(1);
  expect(stale.stdout).toMatch(/\n {2}crm +❌ newest backup is \ds old \(max-age 1s\)/);
  expect(stale.stderr).toMatch(/error: 2 of 2 set\(s\) in .* need attention: crm \(.*\); shop \(/);
}, 120_000);

it('charts and status look back 30 runs: the newest 30 records, read past torn ones, oldest first', async () => {
  const store = new DirectoryStore(path.join(work, 'long-history'));
  const start = Date.now() - 40 * 86_400_000;
  const ids: string[] = [];
  for (let day = 0; day < 36; day += 1) {
    const began = new Date(start + day * 86_400_000);
    const id = newBackupId(began);
    ids.push(id);
    // Three of the newest runs' records are torn: reading goes on past them.
    if (day >= 33) {
      await store.put(recordKey('long', id, 'restore-test'), '{"version": 1, "mode"');
      continue;
    }
    await writeRecord(store, {
      version: 1,
      mode: 'restore-test',
      id,
      name: 'long',
      startedAt: began.toISOString(),
      finishedAt: new Date(began.getTime() + 1000).toISOString(),
      ok: true,
      figures: { restoreSeconds: day },
      tool: { name: 'backup-action', version: '1.0.0' },
    });
  }
  const listing = await listSet(store, 'long');
  expect(listing.records).toHaveLength(36);
  expect(HISTORY_LENGTH).toBe(30);
  const { records, unusable } = await readRecords(
    store,
    'long',
    listing.records,
    'restore-test',
    new Date(),
  );
  expect(records.map((r) => r.id)).toEqual(ids.slice(3, 33));
  expect(unusable.map((u) => u.key)).toEqual(
    ids
      .slice(33)
      .reverse()
      .map((id) => recordKey('long', id, 'restore-test')),
  );
});

it('two runs in one second leave two records, and the later run is the last one', async () => {
  const store = new DirectoryStore(path.join(work, 'one-second'));
  const second = new Date(Date.now() - 60_000);
  second.setMilliseconds(0);
  // The later run's random suffix sorts first: the key alone would put it before the earlier.
  const runs = [
    { suffix: 'ffffff', startMs: 100, ok: true },
    { suffix: '000000', startMs: 700, ok: false },
  ].map(({ suffix, startMs, ok }) => {
    const began = new Date(second.getTime() + startMs);
    return {
      version: 1 as const,
      mode: 'verify-latest' as const,
      id: newBackupId(began, () => Buffer.from(suffix, 'hex')),
      name: 'twice',
      startedAt: began.toISOString(),
      finishedAt: new Date(began.getTime() + 200).toISOString(),
      ok,
      ...(ok ? {} : { problem: 'stale: the newest backup is 2 days old' }),
      figures: {},
      tool: { name: 'backup-action', version: '1.0.0' },
    };
  });
  for (const record of runs) await writeRecord(store, record);
  const listing = await listSet(store, 'twice');
  // Two objects; by key, the earlier run's first (its suffix sorts after the later run's).
  expect(listing.records.map((entry) => entry.key)).toEqual(
    runs.map((r) => recordKey('twice', r.id, 'verify-latest')),
  );
  const read = (limit?: number) =>
    readRecords(store, 'twice', listing.records, 'verify-latest', new Date(), limit);
  // Oldest first, and the last verify (what status shows, reading one) is the later run.
  expect((await read()).records.map((r) => r.id)).toEqual(runs.map((r) => r.id));
  expect((await read(1)).records.map((r) => r.ok)).toEqual([false]);
  const seen = await runAction({
    mode: 'status',
    storage: path.join(work, 'one-second'),
    name: 'twice',
  });
  const [set] = (JSON.parse(seen.outputs.status!) as { sets: { lastVerify: { ok: boolean } }[] })
    .sets;
  expect(set!.lastVerify.ok).toBe(false);
});

it('a history folder the run may not list fails status, naming it: never an empty history', async () => {
  // A folder of its own that the run's user (postgres, as root reads everything) may enter.
  const root = await mkdtemp(path.join(os.tmpdir(), 'history-locked-'));
  try {
    const store = new DirectoryStore(path.join(root, 'store'));
    const began = new Date(Date.now() - 60_000);
    await writeRecord(store, {
      version: 1,
      mode: 'restore-test',
      id: newBackupId(began),
      name: 'locked',
      startedAt: began.toISOString(),
      finishedAt: began.toISOString(),
      ok: false,
      problem: 'check failed',
      figures: {},
      tool: { name: 'backup-action', version: '1.0.0' },
    });
    await chmod(root, 0o755);
    await chmod(path.join(root, 'store'), 0o755);
    await chmod(path.join(root, 'store', 'locked'), 0o755);
    await chmod(path.join(root, 'store', 'locked', 'history'), 0o000);
    const seen = await runAction(
      { mode: 'status', storage: path.join(root, 'store'), name: 'locked' },
      { user: 'postgres' },
    );
    expect(seen.code).not.toBe(0);
    expect(lastErrorLine(seen)).toMatch(/EACCES.*locked\/history/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
