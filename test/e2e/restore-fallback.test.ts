/**
 * restore and restore-test from any copy: `storage` lists the stores in the order they are tried.
 * A primary that cannot be reached, a copy whose bytes fail their sha256, or a store that lacks
 * the backup asked for is passed over for the next, and the summary says which copy was restored
 * and why the others were passed over; with no usable copy anywhere the run fails naming each.
 * `latest` is the primary's newest complete backup, never a newer one only a copy holds, unless
 * the primary cannot be reached; every copy must hold the manifest first found readable.
 *
 * Covers: src/kinds/any-store.ts, src/modes/restore.ts, src/modes/restore-test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { fillSampleDatabase } from '../../scripts/lib/sample-db.js';
import { idTime } from '../../src/core/ids.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { filesUnder } from '../support/listing.js';
import { startOffsite, type Offsite } from '../support/offsite.js';

let db: FreshDatabase;
let offsite: Offsite;
let work: string;
let id: string;
const prefix = `fallback-${process.pid}-${randomBytes(3).toString('hex')}`;
const primary = () => `s3://${testS3Bucket()}/${prefix}`;
/** The primary's bucket, on a port nothing listens on. */
const unreachable = () => `${primary()}?endpoint=http://127.0.0.1:9`;

beforeAll(async () => {
  [db, offsite] = await Promise.all([freshDatabase('fallback_src'), startOffsite()]);
  await fillSampleDatabase(db.url, { rows: 150 });
  work = await mkdtemp(path.join(os.tmpdir(), 'fallback-'));
  const made = await run({ 'database-url': db.url });
  expect(made.code, made.stdout).toBe(0);
  id = made.outputs['backup-id']!;
  const copied = await run({ mode: 'copy', 'copy-to': `${offsite.url('db')}\n${folder()}` });
  expect(copied.code, copied.stdout).toBe(0);
}, 120_000);

afterAll(async () => {
  await db?.drop();
  await offsite?.stop();
  await rm(work, { recursive: true, force: true });
});

const folder = () => path.join(work, 'nas');

const run = (inputs: Record<string, string>) =>
  runAction(
    { storage: primary(), 's3-endpoint': testS3Endpoint(), name: 'shop', retries: '0', ...inputs },
    { env: { ...S3_ENV, ...offsite.env } },
  );

const restoreTest = (storage: string, inputs: Record<string, string> = {}) =>
  run({ mode: 'restore-test', storage, 'database-url': db.url, ...inputs });

describe('restore-test falls back', () => {
  it('from a primary that cannot be reached, to the next store', async () => {
    const tested = await restoreTest(`${unreachable()}\n${offsite.url('db')}`);
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['backup-id']).toBe(id);
    expect(tested.report?.headline).toMatch(
      new RegExp(`; restored from s3://offsite/db \\(passed over: ${primary()}\\)$`),
    );
    expect(tested.summary).toMatch(
      new RegExp(`\\| ${primary()} \\| passed over: cannot be listed: .*ECONNREFUSED.* \\|`),
    );
    expect(tested.summary).toContain('| s3://offsite/db | restored from here |');
    expect(tested.report?.details).toMatchObject({ restoredFrom: 's3://offsite/db' });
  });

  it('from a copy whose bytes fail their sha256, to the next store', async () => {
    const object = (await filesUnder(folder())).find((key) => key.endsWith('.dump.zst'))!;
    const file = path.join(folder(), object);
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(200) ^ 0x10, 200);
    await writeFile(file, bytes);
    const tested = await restoreTest(`${folder()}\n${offsite.url('db')}`);
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toMatch(
      new RegExp(
        `\\| ${folder()} \\| passed over: its copy fails its sha256: sha256 of ${object} is`,
      ),
    );
    expect(tested.stdout).toMatch(/::warning::.* passed over: its copy fails its sha256/);
    expect(tested.summary).toContain('| s3://offsite/db | restored from here |');
  });

  it('from a store that lacks the backup asked for, and a store not needed is said so', async () => {
    const empty = path.join(work, 'empty');
    const tested = await restoreTest(`${empty}\n${offsite.url('db')}\n${primary()}`, {
      'backup-id': id,
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toContain(`| ${empty} | passed over: no backup ${id} in set "shop"`);
    expect(tested.summary).toContain(`| ${primary()} | not needed |`);
  });

  it('fails naming every store when none holds a usable copy', async () => {
    const failed = await restoreTest(`${unreachable()}\n${folder()}`);
    expect(failed.code).not.toBe(0);
    const line = lastErrorLine(failed);
    expect(line).toMatch(new RegExp(`^no store holds a usable copy of shop/${id}: `));
    expect(line).toMatch(/cannot be listed: .*ECONNREFUSED/);
    expect(line).toMatch(/its copy fails its sha256/);
  });
});

describe('restore falls back', () => {
  it('from a primary that cannot be reached: the target gets the backup from the next store', async () => {
    const target = await freshDatabase('fallback_target');
    try {
      const restored = await run({
        mode: 'restore',
        storage: `${unreachable()}\n${offsite.url('db')}`,
        'database-url': target.url,
        confirm: target.name,
      });
      expect(restored.code, restored.stdout).toBe(0);
      expect(restored.report?.headline).toMatch(/restored from s3:\/\/offsite\/db/);
      const count = await withClient(target.url, (client) =>
        client.query<{ n: string }>('SELECT count(*) AS n FROM public.customers'),
      );
      expect(Number(count.rows[0]?.n)).toBeGreaterThan(0);
    } finally {
      await target.drop();
    }
  });
});

describe('the backup chosen, and the manifest every copy must match', () => {
  let foreignId: string;
  const at = (name: string) => path.join(work, name);

  beforeAll(async () => {
    for (const name of ['own', 'same', 'torn']) {
      const copied = await run({ mode: 'copy', 'copy-to': at(name) });
      expect(copied.code, copied.stdout).toBe(0);
    }
    // A newer backup of the same set made straight into a store of its own: not the primary's.
    const made = await run({ storage: at('foreign'), 'database-url': db.url });
    expect(made.code, made.stdout).toBe(0);
    foreignId = made.outputs['backup-id']!;
    expect(foreignId > id).toBe(true);
  }, 120_000);

  it("latest is the primary's newest complete backup, though a copy holds a newer one", async () => {
    const tested = await restoreTest(`${at('own')}\n${at('foreign')}`);
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['backup-id']).toBe(id);
    expect(tested.summary).toContain(`| ${at('own')} | restored from here |`);
    expect(tested.summary).toContain(`| ${at('foreign')} | not needed |`);
  });

  it('latest is the newest of the copies when the primary cannot be reached, and says so', async () => {
    const tested = await restoreTest(`${unreachable()}\n${at('own')}\n${at('foreign')}`);
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['backup-id']).toBe(foreignId);
    expect(tested.stdout).toMatch(
      new RegExp(
        `::warning::the primary store ${primary()} cannot be listed: .*: latest is the newest complete backup of the other stores, ${foreignId} \\(${at('foreign')}\\)`,
      ),
    );
  });

  it("a copy whose manifest differs from the first readable one (the primary's, torn) is passed over", async () => {
    const dump = (await readdir(path.join(at('torn'), 'shop'))).find((f) =>
      f.endsWith('.dump.zst'),
    )!;
    await rm(path.join(at('torn'), 'shop', dump));
    await transplant(at('foreign'), foreignId, at('forged'), id);
    const tested = await restoreTest(`${at('torn')}\n${at('forged')}\n${at('same')}`, {
      'backup-id': id,
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toMatch(
      new RegExp(`\\| ${at('torn')} \\| passed over: torn backup shop/${id}\\.manifest\\.json`),
    );
    expect(tested.summary).toContain(
      `| ${at('forged')} | passed over: its manifest of ${id} differs from ${at('torn')}'s (the sha256 of its objects) |`,
    );
    expect(tested.summary).toContain(`| ${at('same')} | restored from here |`);
  });
});

/**
 * Another backup under the id `to`, in a store of its own: the files of `from` renamed and its
 * manifest made to name `to` (its keys, its times within that id's second). A valid manifest of
 * `to` whose objects are not the backup's.
 */
async function transplant(source: string, from: string, dir: string, to: string): Promise<void> {
  await mkdir(path.join(dir, 'shop'), { recursive: true });
  const time = new Date(idTime(to)!.getTime() + 100).toISOString();
  for (const file of await readdir(path.join(source, 'shop'))) {
    if (!file.startsWith(from)) continue;
    let bytes = await readFile(path.join(source, 'shop', file));
    if (file.endsWith('.manifest.json')) {
      const manifest = JSON.parse(bytes.toString('utf8').replaceAll(from, to)) as Record<
        string,
        unknown
      >;
      bytes = Buffer.from(JSON.stringify({ ...manifest, createdAt: time, completedAt: time }));
    }
    await writeFile(path.join(dir, 'shop', file.replace(from, to)), bytes);
  }
}
