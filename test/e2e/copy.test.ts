/**
 * The copy mode end to end, as users run it: real age-encrypted backups made by the action in the
 * run's S3 server, copied to a second, independent S3 server (its own endpoint and keys, named by
 * credentials=OFFSITE) and to a folder; each copy then compared byte for byte with the source,
 * verified deep and restored from on its own, with the same key. Then what verify-latest sees
 * over several stores (each store's newest, its lag, a store that lacks the newest backup, a
 * byte flipped in a copy) and how the next copy mends it, and the metrics of both.
 *
 * Covers: src/modes/copy.ts, src/copy/index.ts, src/copy/to-store.ts, src/copy/backup.ts,
 * src/copy/check.ts, src/copy/report.ts, src/verify/stores.ts, src/modes/verify-latest.ts,
 * src/storage/s3.ts, src/notify/metrics.ts.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillSampleDatabase } from '../../scripts/lib/sample-db.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import { filesUnder } from '../support/listing.js';
import { startOffsite, type Offsite } from '../support/offsite.js';

let db: FreshDatabase;
let offsite: Offsite;
let work: string;
let identity: string;
let recipient: string;
const prefix = `copy-${process.pid}-${randomBytes(3).toString('hex')}`;
const source = () => `s3://${testS3Bucket()}/${prefix}`;
const env = () => ({ ...S3_ENV, ...offsite.env });
const folder = () => path.join(work, 'nas');

beforeAll(async () => {
  [db, offsite] = await Promise.all([freshDatabase('copy_src'), startOffsite()]);
  await fillSampleDatabase(db.url, { rows: 200 });
  work = await mkdtemp(path.join(os.tmpdir(), 'copy-test-'));
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
});

afterAll(async () => {
  await db?.drop();
  await offsite?.stop();
  await rm(work, { recursive: true, force: true });
});

/** The action against the source (the run's S3 server), with both servers' keys at hand. */
const run = (inputs: Record<string, string>) =>
  runAction(
    { storage: source(), 's3-endpoint': testS3Endpoint(), name: 'shop', ...inputs },
    { env: env() },
  );

async function backup(): Promise<string> {
  const made = await run({ 'database-url': db.url, 'age-recipients': recipient });
  expect(made.code, made.stdout).toBe(0);
  return made.outputs['backup-id']!;
}

const copy = (inputs: Record<string, string> = {}) =>
  run({ mode: 'copy', 'copy-to': `${offsite.url('db')}\n${folder()}`, ...inputs });

const sourceClient = () => new S3Client(testS3ClientConfig());

async function sourceKeys(): Promise<string[]> {
  const listing = await sourceClient().send(
    new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
  );
  return (listing.Contents ?? []).map((item) => (item.Key ?? '').slice(prefix.length + 1)).sort();
}

async function sourceBytes(key: string): Promise<Buffer> {
  const got = await sourceClient().send(
    new GetObjectCommand({ Bucket: testS3Bucket(), Key: `${prefix}/${key}` }),
  );
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** verify-latest over the stores given, one per line. */
const verify = (storage: string, inputs: Record<string, string> = {}) =>
  run({ mode: 'verify-latest', storage, 'age-identity': identity, ...inputs });

let ids: string[] = [];

describe('copying to another S3 server and a folder', () => {
  beforeAll(async () => {
    ids = [await backup(), await backup()];
  }, 120_000);

  it('copies every complete backup byte for byte, with the keys the URL names', async () => {
    const copied = await copy();
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.outputs.copied).toBe('4');
    expect(copied.summary).toMatch(
      /\| s3:\/\/offsite\/db \| 2 \| 0 \| 0 \| 1 \| holds the newest \|/,
    );
    const keys = await sourceKeys();
    expect(keys).toHaveLength(4);
    expect(await offsite.keys('db')).toEqual(keys);
    expect(await filesUnder(folder())).toEqual(keys);
    for (const key of keys) {
      const bytes = await sourceBytes(key);
      expect((await offsite.read(`db/${key}`)).equals(bytes), key).toBe(true);
      expect((await readFile(path.join(folder(), key))).equals(bytes), key).toBe(true);
    }
    // The destination's secret key is masked on the runner (and runAction's guard proves it
    // reached no log, summary or output).
    const secret = offsite.env.OFFSITE_SECRET_ACCESS_KEY!;
    expect(copied.stdout).toContain(`::add-mask::${secret}`);
    expect(copied.everything.replaceAll(`::add-mask::${secret}`, '')).not.toContain(secret);
  });

  it('each copy verifies deep and restores on its own, with the same age key', async () => {
    for (const storage of [offsite.url('db'), folder()]) {
      const verified = await verify(storage);
      expect(verified.code, verified.stdout).toBe(0);
      expect(verified.outputs['latest-id']).toBe(ids[1]);
      const tested = await run({
        mode: 'restore-test',
        storage,
        'database-url': db.url,
        'age-identity': identity,
        checks: 'public.customers >= 1',
      });
      expect(tested.code, tested.stdout).toBe(0);
      expect(tested.outputs['backup-id']).toBe(ids[1]);
    }
  });

  it('a second copy leaves every backup as it is: each is there, complete and equal', async () => {
    const again = await copy();
    expect(again.code, again.stdout).toBe(0);
    expect(again.outputs.copied).toBe('0');
    expect(again.stdout).toContain(`s3://offsite/db: ${ids[0]} is there, complete and equal`);
    expect(again.report?.headline).toMatch(/0 backup copies made, 4 already there/);
  });

  it('copy-last copies the newest N only', async () => {
    const copied = await run({
      mode: 'copy',
      'copy-to': path.join(work, 'last'),
      'copy-last': '1',
    });
    expect(copied.code, copied.stdout).toBe(0);
    const files = await filesUnder(path.join(work, 'last'));
    expect(files.every((file) => file.includes(ids[1]!))).toBe(true);
    expect(files).toHaveLength(2);
    expect(copied.summary).toContain('1 of 2 complete (the newest 1)');
  });
});

describe('verify-latest over several stores', () => {
  it('reports each store, and fails naming those that lack the newest backup', async () => {
    const newest = await backup();
    const metrics = path.join(work, 'lag.prom');
    const stores = `${source()}\n${offsite.url('db')}\n${folder()}`;
    const failed = await verify(stores, { 'metrics-file': metrics });
    expect(failed.code).not.toBe(0);
    expect(failed.outputs.problem).toBe('missing');
    expect(lastErrorLine(failed)).toContain(
      `the newest backup ${newest} is missing in s3://offsite/db`,
    );
    expect(lastErrorLine(failed)).toContain(
      `the newest backup ${newest} is missing in ${folder()}`,
    );
    // The primary's newest is itself verified; each store shows its own newest and how far behind.
    expect(failed.summary).toMatch(
      new RegExp(`\\| ${source()} \\| ${newest} \\| .* \\| primary \\|`),
    );
    expect(failed.summary).toMatch(
      new RegExp(`\\| s3://offsite/db \\| ${ids[1]} \\| .* behind \\| MISSING`),
    );
    const lag = await readFile(metrics, 'utf8');
    expect(lag).toMatch(
      /backup_action_copy_lag_seconds\{mode="verify-latest",set="shop",store="s3:\/\/offsite\/db"\} \d+/,
    );
    // The next copy fills both in; then every store holds the newest.
    const copied = await copy();
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.outputs.copied).toBe('2');
    const passed = await verify(stores, { 'metrics-file': metrics });
    expect(passed.code, passed.stdout).toBe(0);
    expect(passed.summary).toMatch(
      /\| s3:\/\/offsite\/db \| .* \| holds the newest \| sha256 of every object matches \|/,
    );
    expect(await readFile(metrics, 'utf8')).toMatch(
      /backup_action_copy_lag_seconds\{mode="verify-latest",set="shop",store="s3:\/\/offsite\/db"\} 0\n/,
    );
    ids.push(newest);
  });

  it('finds a byte flipped in a copy, and the next copy replaces it', async () => {
    const newest = ids.at(-1)!;
    const key = (await offsite.keys('db')).find((k) => k.includes(newest) && !k.endsWith('.json'))!;
    // Rewritten a second later than its manifest, as anything that changes it in place is.
    await delay(1100);
    const bytes = await offsite.read(`db/${key}`);
    bytes.writeUInt8(bytes.readUInt8(100) ^ 0x01, 100);
    await offsite.write(`db/${key}`, bytes);
    const failed = await verify(`${source()}\n${offsite.url('db')}`);
    expect(failed.code).not.toBe(0);
    expect(failed.outputs.problem).toBe('damaged');
    expect(lastErrorLine(failed)).toContain(
      `the copy of ${newest} in s3://offsite/db is damaged: sha256 of ${key} is`,
    );
    const copied = await copy();
    expect(copied.code, copied.stdout).toBe(0);
    expect(copied.outputs.copied).toBe('1');
    expect(copied.summary).toContain(`${key} was written there after its manifest`);
    expect((await offsite.read(`db/${key}`)).equals(await sourceBytes(key))).toBe(true);
    const passed = await verify(`${source()}\n${offsite.url('db')}`);
    expect(passed.code, passed.stdout).toBe(0);
  });

  it('copy-check sha256 finds a flip that keeps its size and its time, which no listing shows', async () => {
    const newest = ids.at(-1)!;
    const file = path.join(
      folder(),
      (await filesUnder(folder())).find((f) => f.includes(newest) && !f.endsWith('.json'))!,
    );
    const { mtime, atime } = await stat(file);
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(50) ^ 0x80, 50);
    await writeFile(file, bytes);
    await utimes(file, atime, mtime);
    const listed = await copy();
    expect(listed.outputs.copied).toBe('0');
    const checked = await copy({ 'copy-check': 'sha256' });
    expect(checked.code, checked.stdout).toBe(0);
    expect(checked.outputs.copied).toBe('1');
    expect(checked.summary).toMatch(
      new RegExp(`\\| ${folder()} \\| ${newest} \\| copied \\| there, sha256 of`),
    );
    const key = path.relative(folder(), file);
    expect((await readFile(file)).equals(await sourceBytes(key))).toBe(true);
  });
});
