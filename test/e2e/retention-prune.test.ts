/**
 * retention-prune end to end: hundreds of forged backups with chosen times, exactly which remain,
 * other sets and foreign keys untouched, leftovers of failed runs swept after the grace.
 *
 * Covers: src/modes/retention-prune.ts, src/retention/plan.ts.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionPrune } from '../../src/modes/retention-prune.js';
import type { PruneSettings } from '../../src/core/settings.js';
import { runAction } from '../support/action.js';
import { countingS3Store, forgeInBucket } from '../support/bucket.js';
import { runContext } from '../support/context.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import { forgeBackup, forgeInDirectory, type Forged } from '../support/forge.js';
import { filesUnder } from '../support/listing.js';

const HOUR = 3_600_000;
const START = Date.parse('2026-01-01T00:00:00Z');
/** Every 6 hours from 2026-01-01 to 2026-04-30 18:00 UTC: 480 backups. */
const TIMES = Array.from({ length: 480 }, (_, i) => new Date(START + i * 6 * HOUR));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'prune-test-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** The ids of the forged backups made at these UTC times. */
function idsAt(forged: Forged[], times: string[]): string[] {
  return times.map((time) => {
    const index = TIMES.findIndex((t) => t.toISOString() === time);
    return forged[index]!.id;
  });
}

describe('a calendar policy over 480 backups in a directory', () => {
  let store: string;
  let forged: Forged[];

  beforeAll(async () => {
    store = path.join(work, 'dir');
    forged = await forgeInDirectory(store, 'shop', TIMES);
    await forgeInDirectory(store, 'shop2', TIMES.slice(0, 20));
    await writeFile(path.join(store, 'shop', 'notes.txt'), 'not a backup');
    await writeFile(path.join(store, 'shop', 'README'), 'not a backup');
    await writeFile(path.join(store, 'top-level.txt'), 'not a backup');
  });

  const policy = { 'keep-last': '2', 'keep-daily': '7', 'keep-weekly': '4', 'keep-monthly': '3' };
  // Worked out by hand: the newest of each day, ISO week and month (all at 18:00 UTC), and the last two.
  const EXPECTED = [
    '2026-04-30T18:00:00.000Z', // last, daily, weekly (W18), monthly (April)
    '2026-04-30T12:00:00.000Z', // last
    '2026-04-29T18:00:00.000Z', // daily
    '2026-04-28T18:00:00.000Z',
    '2026-04-27T18:00:00.000Z',
    '2026-04-26T18:00:00.000Z', // daily, weekly (W17)
    '2026-04-25T18:00:00.000Z',
    '2026-04-24T18:00:00.000Z', // daily
    '2026-04-19T18:00:00.000Z', // weekly (W16)
    '2026-04-12T18:00:00.000Z', // weekly (W15)
    '2026-03-31T18:00:00.000Z', // monthly (March)
    '2026-02-28T18:00:00.000Z', // monthly (February)
  ];

  it('dry-run reports exactly what it would delete and deletes nothing', async () => {
    const before = await filesUnder(store);
    const run = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'shop',
      'dry-run': 'true',
      ...policy,
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '12', deleted: '468' });
    expect(await filesUnder(store)).toEqual(before);
    const details = run.report?.details as { deleted: string[] };
    expect(details.deleted).toHaveLength(468);
    expect(details.deleted).not.toContain(idsAt(forged, EXPECTED)[0]);
    expect(run.summary).toContain('nothing was deleted');
  });

  it('keeps exactly what the policy keeps, with the rules that kept each, and touches nothing else', async () => {
    const run = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'shop',
      ...policy,
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '12', deleted: '468' });
    const remaining = await filesUnder(store);
    const expectedIds = idsAt(forged, EXPECTED);
    expect(remaining.filter((key) => key.startsWith('shop/2')).sort()).toEqual(
      expectedIds.flatMap((id) => [`shop/${id}.dump.zst`, `shop/${id}.manifest.json`]).sort(),
    );
    expect(remaining).toEqual(
      expect.arrayContaining(['shop/notes.txt', 'shop/README', 'top-level.txt']),
    );
    expect(remaining.filter((key) => key.startsWith('shop2/'))).toHaveLength(40);
    expect(run.summary).toContain(
      `| ${expectedIds[0]} | 2026-04-30T18:00:00.000Z | last, daily, weekly, monthly, newest |`,
    );
    expect(run.summary).toContain('| Keys not in the layout (untouched) | 2 |');
  });
});

describe('leftovers of failed runs', () => {
  it('removes an orphan last written before the grace and keeps one written since, whatever its id', async () => {
    const store = path.join(work, 'orphans');
    const now = Date.now();
    await forgeInDirectory(store, 'app', [new Date(now - 72 * HOUR), new Date(now - 48 * HOUR)]);
    const old = forgeBackup('app', new Date(now - 30 * HOUR));
    const running = forgeBackup('app', new Date(now - HOUR));
    // Dated a year back by its id, but written just now: the store's time is what counts.
    const oldId = forgeBackup('app', new Date(now - 365 * 24 * HOUR));
    for (const orphan of [old, running, oldId]) {
      await writeFile(
        path.join(store, orphan.forged.objectKey),
        orphan.files.get(orphan.forged.objectKey)!,
      );
    }
    const written = new Date(now - 30 * HOUR);
    await utimes(path.join(store, old.forged.objectKey), written, written);
    // A temporary file a crashed run left behind, and one being written right now.
    await mkdir(path.join(store, 'app'), { recursive: true });
    const crashed = path.join(store, 'app', `.${old.forged.id}.dump.zst.partial-0a1b2c3d`);
    const writing = path.join(store, 'app', `.${running.forged.id}.dump.zst.partial-4e5f6a7b`);
    await writeFile(crashed, 'half');
    await writeFile(writing, 'half');
    await utimes(crashed, new Date(now - 30 * HOUR), new Date(now - 30 * HOUR));

    const run = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'app',
      'keep-last': '5',
    });
    expect(run.code, run.stdout).toBe(0);
    const remaining = await filesUnder(store);
    expect(remaining).not.toContain(old.forged.objectKey);
    expect(remaining).toContain(running.forged.objectKey);
    expect(remaining).toContain(oldId.forged.objectKey);
    expect(remaining).not.toContain(path.relative(store, crashed));
    expect(remaining).toContain(path.relative(store, writing));
    expect(run.summary).toContain('1 object(s), 1 incomplete upload(s)');
  });
});

describe('on S3', () => {
  it('keeps the newest N, leaves other sets and foreign keys, warns that uploads could not be listed', async () => {
    const client = new S3Client(testS3ClientConfig());
    const prefix = `prune-${process.pid}`;
    const put = (key: string, body: Buffer | string) =>
      client.send(
        new PutObjectCommand({ Bucket: testS3Bucket(), Key: `${prefix}/${key}`, Body: body }),
      );
    const ids: string[] = [];
    for (const time of TIMES.slice(0, 30)) {
      const { forged, files } = forgeBackup('db', time);
      ids.push(forged.id);
      for (const [key, body] of files) await put(key, body);
    }
    const other = forgeBackup('db2', TIMES[0]!);
    for (const [key, body] of other.files) await put(key, body);
    await put('db/notes.txt', 'keep me');
    await put('db.txt', 'keep me');

    const run = await runAction(
      {
        mode: 'retention-prune',
        storage: `s3://${testS3Bucket()}/${prefix}`,
        's3-endpoint': testS3Endpoint(),
        name: 'db',
        'keep-last': '5',
      },
      { env: S3_ENV },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '5', deleted: '25' });
    expect(run.stdout).toMatch(/::warning::could not list incomplete uploads/);
    const listing = await client.send(
      new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
    );
    const keys = (listing.Contents ?? [])
      .map((item) => (item.Key ?? '').slice(prefix.length + 1))
      .sort();
    const kept = ids.slice(-5).flatMap((id) => [`db/${id}.dump.zst`, `db/${id}.manifest.json`]);
    expect(keys).toEqual([...kept, ...other.files.keys(), 'db.txt', 'db/notes.txt'].sort());
  });

  it('makes one list request per 1,000 keys and one delete request per 1,000 keys deleted', async () => {
    const prefix = `prune-requests-${process.pid}`;
    await forgeInBucket(
      prefix,
      'db',
      Array.from({ length: 1100 }, (_, i) => new Date(START + i * 60_000)),
    );
    const { store, calls } = countingS3Store(prefix);
    const settings = {
      name: 'db',
      policy: { last: 100 },
      timeZone: 'UTC',
      dryRun: false,
      orphanGraceMs: 24 * HOUR,
    } as PruneSettings;
    const result = await retentionPrune(settings, runContext(store));
    expect(result.outputs).toEqual({ kept: 100, deleted: 1000 });
    // 2,200 keys listed in 3 pages; every manifest read once (only a complete backup counts);
    // 1,000 manifests then 1,000 objects deleted in one request each; one request for
    // incomplete uploads.
    expect(calls.sort()).toEqual(
      [
        'ListObjectsV2Command',
        'ListObjectsV2Command',
        'ListObjectsV2Command',
        ...Array.from({ length: 1100 }, () => 'GetObjectCommand'),
        'DeleteObjectsCommand',
        'DeleteObjectsCommand',
        'ListMultipartUploadsCommand',
      ].sort(),
    );
  });
});

describe('safety rails', () => {
  it('refuses a policy with no rule before touching the store', async () => {
    const store = path.join(work, 'no-rule');
    await forgeInDirectory(store, 'x', TIMES.slice(0, 3));
    const before = await filesUnder(store);
    const run = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'x',
      'keep-daily': '0',
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/::error::Input "keep-last": no keep rule given/);
    expect(await filesUnder(store)).toEqual(before);
  });
});
