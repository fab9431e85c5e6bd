/**
 * retention-prune over server backups (a manifest and a folder of objects each), on a real
 * directory store and on s3rver, with an injected clock: a server backup is deleted whole,
 * manifest first, or kept whole; one without a manifest is swept only after the grace; a
 * directory keeps no emptied id folder and nothing it does not own.
 *
 * Covers: src/modes/retention-prune.ts, src/retention/plan.ts, src/storage/directory.ts.
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PruneSettings } from '../../src/core/settings.js';
import { retentionPrune } from '../../src/modes/retention-prune.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import type { Store } from '../../src/storage/index.js';
import { s3StoreAt } from '../support/bucket.js';
import { runContext } from '../support/context.js';
import { forgeServerIn } from '../support/forge-server.js';

const HOUR = 3_600_000;
/** The injected clock: far from the machine's, so nothing here depends on when it runs. */
const NOW = new Date('2031-03-10T08:00:00.000Z');
const ago = (hours: number) => new Date(NOW.getTime() - hours * HOUR);
const DATABASES = ['crm', 'shop', 'Café "Ölß" 2'];

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'server-prune-test-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** The store, recording each delete call's keys in order. */
function recording(store: Store): { store: Store; deletes: string[][] } {
  const deletes: string[][] = [];
  const original = store.delete.bind(store);
  store.delete = async (keys) => {
    deletes.push([...keys]);
    await original(keys);
  };
  return { store, deletes };
}

const context = (store: Store, infos: string[] = []) => runContext(store, { now: NOW, infos });

const settings = (dryRun = false): PruneSettings =>
  ({
    name: 'shop',
    policy: { last: 1 },
    timeZone: 'UTC',
    dryRun,
    orphanGraceMs: 24 * HOUR,
  }) as PruneSettings;

async function keysOf(store: Store): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list('shop/')) keys.push(object.key);
  return keys.sort();
}

const PLACES = [
  { label: 'a directory', open: (slug: string) => new DirectoryStore(path.join(work, slug)) },
  {
    label: 's3rver',
    open: (slug: string) => s3StoreAt(`server-prune-${process.pid}-${slug}`),
  },
];

describe.each(PLACES)('on $label', ({ label, open }) => {
  const slug = label === 's3rver' ? 's3' : 'dir';

  it('keep-last 1: the older server backup goes whole, manifest first; the newer stays whole', async () => {
    const { store, deletes } = recording(open(`${slug}-whole`));
    const older = await forgeServerIn(store, 'shop', ago(3), DATABASES);
    const newer = await forgeServerIn(store, 'shop', ago(1), DATABASES);
    const result = await retentionPrune(settings(), context(store));
    expect(result.outputs).toEqual({ kept: 1, deleted: 1 });
    const left = await keysOf(store);
    expect(left.filter((key) => key.startsWith(`shop/${older.id}`))).toEqual([]);
    expect(left).toEqual([newer.manifestKey, ...newer.objectKeys].sort());
    expect(deletes[0]).toEqual([older.manifestKey]);
    expect(deletes.slice(1).flat().sort()).toEqual([...older.objectKeys].sort());
  });

  it('dry-run names every key of the backup it would delete and deletes none', async () => {
    const store = open(`${slug}-dry`);
    const older = await forgeServerIn(store, 'shop', ago(3), DATABASES);
    await forgeServerIn(store, 'shop', ago(1), DATABASES);
    const before = await keysOf(store);
    const infos: string[] = [];
    await retentionPrune(settings(true), context(store, infos));
    expect(await keysOf(store)).toEqual(before);
    const named = infos.filter((line) => line.startsWith('would delete '));
    expect(named.map((line) => line.slice('would delete '.length)).sort()).toEqual(
      [older.manifestKey, ...older.objectKeys].sort(),
    );
  });

  it('a server backup without a manifest is swept once the store last wrote it longer ago than the grace, whatever its id', async () => {
    const store = open(`${slug}-orphans`);
    // The store's own clock dates what it holds: these tests run on the machine's time.
    const now = Date.now();
    const hoursAgo = (hours: number) => new Date(now - hours * HOUR);
    const kept = await forgeServerIn(store, 'shop', hoursAgo(2), DATABASES);
    const oldId = await forgeServerIn(store, 'shop', hoursAgo(30), DATABASES, { torn: true });
    const running = await forgeServerIn(store, 'shop', hoursAgo(1), DATABASES, { torn: true });
    const at = (time: number) => runContext(store, { now: new Date(time) });
    const young = await retentionPrune(settings(), at(now));
    expect(young.details.orphanKeys).toEqual([]);
    const later = await retentionPrune(settings(), at(now + 25 * HOUR));
    expect([...(later.details.orphanKeys as string[])].sort()).toEqual(
      [...running.objectKeys, ...oldId.objectKeys].sort(),
    );
    expect(await keysOf(store)).toEqual([kept.manifestKey, ...kept.objectKeys].sort());
  });
});

describe('on a directory, folders', () => {
  const exists = (file: string) =>
    stat(file).then(
      () => true,
      () => false,
    );

  it('an emptied id folder goes; the set folder, and an id folder holding a file not ours, stay', async () => {
    const root = path.join(work, 'folders');
    const store = new DirectoryStore(root);
    const deleted = await forgeServerIn(store, 'shop', ago(5), DATABASES);
    const foreign = await forgeServerIn(store, 'shop', ago(4), DATABASES);
    const orphan = await forgeServerIn(store, 'shop', ago(30), DATABASES, { torn: true });
    const newest = await forgeServerIn(store, 'shop', ago(1), DATABASES);
    await writeFile(path.join(root, 'shop', foreign.id, 'notes.txt'), 'mine');
    await retentionPrune(settings(), context(store));
    expect(await exists(path.join(root, 'shop', deleted.id))).toBe(false);
    expect(await exists(path.join(root, 'shop', orphan.id))).toBe(false);
    expect(await readdir(path.join(root, 'shop', foreign.id))).toEqual(['notes.txt']);
    expect((await readdir(path.join(root, 'shop'))).sort()).toEqual(
      [foreign.id, newest.id, `${newest.id}.manifest.json`].sort(),
    );
  });

  it('a crashed run’s temporary file in an id folder is aborted after the grace, and its folder goes', async () => {
    const root = path.join(work, 'partials');
    const store = new DirectoryStore(root);
    await forgeServerIn(store, 'shop', ago(1), DATABASES);
    const crashed = await forgeServerIn(store, 'shop', ago(30), ['crm'], { torn: true });
    const partial = path.join(root, 'shop', crashed.id, '.shop.dump.zst.partial-0a0b0c0d');
    await writeFile(partial, 'half');
    const result = await retentionPrune(settings(), context(store));
    expect(result.details.incompleteUploads).toEqual([`shop/${crashed.id}/shop.dump.zst`]);
    expect(await exists(path.join(root, 'shop', crashed.id))).toBe(false);
  });
});
