/**
 * Hostile store states: a set holding things that look like backups and are not (corrupt, torn,
 * dated ahead of the clock, another set's, oversized). On a real directory store and on s3rver
 * through the AWS SDK, with an injected clock: retention-prune counts and deletes only complete
 * backups and never touches the rest; verify-latest fails naming them; `latest` skips them. Then
 * the issue's own repros through the bundle.
 *
 * Covers: src/storage/catalog.ts, src/modes/retention-prune.ts, src/modes/verify-latest.ts,
 * src/core/store.ts.
 */
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBackup, MANIFEST_MAX_BYTES } from '../../src/storage/catalog.js';
import { newBackupId } from '../../src/core/ids.js';
import type { Manifest } from '../../src/core/manifest.js';
import { retentionPrune } from '../../src/modes/retention-prune.js';
import { verifyLatest } from '../../src/modes/verify-latest.js';
import type { PruneSettings, VerifySettings } from '../../src/core/settings.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { ObjectTooLarge, type Store } from '../../src/storage/index.js';
import { readUpTo } from '../../src/core/store.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { s3StoreAt } from '../support/bucket.js';
import { runContext } from '../support/context.js';
import { S3_ENV, testS3Bucket, testS3Endpoint } from '../support/env.js';
import { forgeBackup, forgeInDirectory } from '../support/forge.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const YEAR = 365 * 24 * HOUR;
/** The injected clock: far from the machine's, so nothing here depends on when it runs. */
const NOW = new Date('2031-03-10T08:00:00.000Z');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'hostile-test-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function put(store: Store, key: string, bytes: Buffer | string): Promise<void> {
  await store.upload(key, Readable.from([Buffer.from(bytes)]));
}

async function keysOf(store: Store): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list('shop/')) keys.push(object.key);
  return keys.sort();
}

/** A forged backup's files, with its manifest edited. */
function forged(name: string, time: Date, edit: (m: Manifest) => unknown = (m) => m) {
  const backup = forgeBackup(name, time);
  const manifest = JSON.parse(backup.files.get(backup.forged.manifestKey)!.toString()) as Manifest;
  return {
    ...backup.forged,
    object: backup.files.get(backup.forged.objectKey)!,
    manifest: JSON.stringify(edit(manifest)),
  };
}

interface Hostile {
  what: string;
  /** Writes the hostile state; resolves with the manifest key a report must name. */
  make(store: Store): Promise<string>;
  /** What the line naming it says. */
  problem: RegExp;
}

const soon = new Date(NOW.getTime() - 30 * MINUTE);

const HOSTILE: Hostile[] = [
  {
    what: 'a corrupt manifest dated 2099 (the issue’s repro)',
    async make(store) {
      const key = 'shop/20991231T235959Z-ffffff.manifest.json';
      await put(store, key, 'not json\n');
      return key;
    },
    problem: /not valid JSON/,
  },
  {
    what: 'a valid backup dated a year ahead (clock skew)',
    async make(store) {
      const b = forged('shop', new Date(NOW.getTime() + YEAR));
      await put(store, b.objectKey, b.object);
      await put(store, b.manifestKey, b.manifest);
      return b.manifestKey;
    },
    problem: /ahead of this machine's clock/,
  },
  {
    what: 'a torn backup: manifest without its object',
    async make(store) {
      const b = forged('shop', soon);
      await put(store, b.manifestKey, b.manifest);
      return b.manifestKey;
    },
    problem: /is missing from the store/,
  },
  {
    what: 'a backup whose object is shorter than recorded',
    async make(store) {
      const b = forged('shop', soon);
      await put(store, b.objectKey, b.object.subarray(1));
      await put(store, b.manifestKey, b.manifest);
      return b.manifestKey;
    },
    problem: /holds 63 bytes, but its manifest records 64/,
  },
  {
    what: 'another set’s backup copied into this one',
    async make(store) {
      const b = forged('other', soon);
      const key = `shop/${b.id}.manifest.json`;
      await put(store, `shop/${b.id}.dump.zst`, b.object);
      await put(store, key, b.manifest);
      return key;
    },
    problem: /belongs to set "other"/,
  },
  {
    what: 'an older manifest copied under a newer id',
    async make(store) {
      const old = forged('shop', new Date(NOW.getTime() - 10 * HOUR));
      const id = newBackupId(soon);
      await put(store, `shop/${id}.dump.zst`, old.object);
      await put(store, `shop/${id}.manifest.json`, old.manifest);
      return `shop/${id}.manifest.json`;
    },
    problem: /records id/,
  },
  {
    what: 'a manifest whose createdAt is a year after its id',
    async make(store) {
      const b = forged('shop', soon, (m) => ({
        ...m,
        createdAt: new Date(NOW.getTime() + YEAR).toISOString(),
        completedAt: new Date(NOW.getTime() + YEAR).toISOString(),
      }));
      await put(store, b.objectKey, b.object);
      await put(store, b.manifestKey, b.manifest);
      return b.manifestKey;
    },
    problem: /disagrees with its id/,
  },
  {
    what: 'a valid manifest padded past the size cap',
    async make(store) {
      const b = forged('shop', soon);
      await put(store, b.objectKey, b.object);
      await put(store, b.manifestKey, b.manifest + ' '.repeat(MANIFEST_MAX_BYTES));
      return b.manifestKey;
    },
    problem: /larger than 1048576 bytes, not read/,
  },
  {
    what: 'a manifest of a later version',
    async make(store) {
      const b = forged('shop', soon, (m) => ({ ...m, version: 2 }));
      await put(store, b.objectKey, b.object);
      await put(store, b.manifestKey, b.manifest);
      return b.manifestKey;
    },
    problem: /unsupported version/,
  },
  {
    what: 'an empty manifest',
    async make(store) {
      const b = forged('shop', soon);
      await put(store, b.objectKey, b.object);
      await put(store, b.manifestKey, '');
      return b.manifestKey;
    },
    problem: /not valid JSON/,
  },
];

const context = (store: Store, warnings: string[] = []) =>
  runContext(store, { now: NOW, warnings });

const prune = (policy: PruneSettings['policy']) =>
  ({
    name: 'shop',
    policy,
    timeZone: 'UTC',
    dryRun: false,
    orphanGraceMs: 24 * HOUR,
  }) as PruneSettings;

const verifySettings = {
  name: 'shop',
  maxAgeMs: 26 * HOUR,
  maxShrink: 0.5,
  deep: false,
  otherStores: [] as VerifySettings['otherStores'],
  signingPublicKeys: [] as VerifySettings['signingPublicKeys'],
} as VerifySettings;

/** Three good backups, 3, 2 and 1 hours before NOW, oldest first. */
async function goodBackups(store: Store) {
  const goods = [3, 2, 1].map((hours) => forged('shop', new Date(NOW.getTime() - hours * HOUR)));
  for (const b of goods) {
    await put(store, b.objectKey, b.object);
    await put(store, b.manifestKey, b.manifest);
  }
  return goods;
}

type Place = { label: string; open: (slug: string) => Store };
const PLACES: Place[] = [
  { label: 'a directory', open: (slug) => new DirectoryStore(path.join(work, slug)) },
  {
    label: 's3rver',
    open: (slug) => s3StoreAt(`hostile-${process.pid}-${slug}`),
  },
];

describe.each(PLACES)('on $label', ({ open }) => {
  let count = 0;
  const fresh = () => open(`s${count++}`);

  describe.each(HOSTILE)('$what', (hostile) => {
    it('keep-last 1 keeps the newest complete backup, deletes the other two, never the hostile one', async () => {
      const store = fresh();
      const goods = await goodBackups(store);
      const hostileKey = await hostile.make(store);
      const before = await keysOf(store);
      const warnings: string[] = [];
      const result = await retentionPrune(prune({ last: 1 }), context(store, warnings));
      expect(result.outputs).toEqual({ kept: 1, deleted: 2 });
      const gone = goods.slice(0, 2).flatMap((b) => [b.objectKey, b.manifestKey]);
      expect(await keysOf(store)).toEqual(before.filter((key) => !gone.includes(key)));
      expect(await keysOf(store)).toContain(hostileKey);
      expect((result.details as { kept: { id: string }[] }).kept.map((k) => k.id)).toEqual([
        goods[2]!.id,
      ]);
      const unusable = (result.details as { unusable: { key: string; problem: string }[] })
        .unusable;
      expect(unusable.map((u) => u.key)).toEqual([hostileKey]);
      expect(unusable[0]!.problem).toMatch(hostile.problem);
      expect(warnings.join('\n')).toContain(hostileKey);
    });

    it('keep-within 90m counts from the newest complete backup', async () => {
      const store = fresh();
      const goods = await goodBackups(store);
      const hostileKey = await hostile.make(store);
      const result = await retentionPrune(prune({ withinMs: 90 * MINUTE }), context(store));
      expect(result.outputs).toEqual({ kept: 2, deleted: 1 });
      const keys = await keysOf(store);
      expect(keys).not.toContain(goods[0]!.manifestKey);
      expect(keys).toEqual(
        expect.arrayContaining([goods[1]!.manifestKey, goods[2]!.manifestKey, hostileKey]),
      );
    });

    it('verify-latest fails naming it; latest for a restore skips it with a warning', async () => {
      const store = fresh();
      const goods = await goodBackups(store);
      const hostileKey = await hostile.make(store);
      const message = await verifyLatest(verifySettings, context(store)).then(
        () => 'passed',
        (error: Error) => error.message,
      );
      expect(message).toMatch(hostile.problem);
      expect(message).toContain(hostileKey);
      const warnings: string[] = [];
      const manifest = await findBackup(context(store, warnings), 'shop', 'latest');
      expect(manifest.id).toBe(goods[2]!.id);
      expect(warnings.join('\n')).toMatch(hostile.problem);
    });
  });

  it('an unusable entry older than the newest complete backup leaves verify-latest passing', async () => {
    const store = fresh();
    const goods = await goodBackups(store);
    const b = forged('shop', new Date(NOW.getTime() - 5 * HOUR));
    await put(store, b.manifestKey, 'not json');
    const result = await verifyLatest(verifySettings, context(store));
    expect(result.outputs['latest-id']).toBe(goods[2]!.id);
    expect(result.outputs['age-seconds']).toBe(3600);
    const pruned = await retentionPrune(prune({ last: 1 }), context(store));
    expect(pruned.outputs).toEqual({ kept: 1, deleted: 2 });
    expect(await keysOf(store)).toContain(b.manifestKey);
  });

  it('a set of nothing but unusable entries: nothing is deleted, verify-latest says none is complete', async () => {
    const store = fresh();
    const b = forged('shop', new Date(NOW.getTime() + YEAR));
    await put(store, b.objectKey, b.object);
    await put(store, b.manifestKey, b.manifest);
    const result = await retentionPrune(prune({ last: 1 }), context(store));
    expect(result.outputs).toEqual({ kept: 0, deleted: 0 });
    expect(await keysOf(store)).toEqual([b.manifestKey, b.objectKey].sort());
    await expect(verifyLatest(verifySettings, context(store))).rejects.toThrow(
      /ahead of this machine's clock.*; no complete backup of set "shop"/,
    );
  });

  it('two backups of one second: the newest is the same for the policy and the guard', async () => {
    const store = fresh();
    const second = new Date(NOW.getTime() - HOUR);
    // The later id holds the earlier createdAt: the manifests' milliseconds order a second's
    // backups, as latest orders them, so the backup kept is the one verify-latest names.
    for (const [suffix, ms] of [
      ['ffffff', 100],
      ['000000', 900],
    ] as const) {
      const b = forged('shop', new Date(second.getTime() + ms));
      const id = `${b.id.slice(0, -6)}${suffix}`;
      await put(store, b.objectKey.replace(b.id, id), b.object);
      await put(store, b.manifestKey.replace(b.id, id), b.manifest.replaceAll(b.id, id));
    }
    const result = await retentionPrune(prune({ last: 1 }), context(store));
    expect(result.outputs).toEqual({ kept: 1, deleted: 1 });
    const kept = (result.details as { kept: { id: string }[] }).kept[0]!.id;
    expect(kept).toMatch(/-000000$/);
    const latest = await verifyLatest(verifySettings, context(store));
    expect(latest.outputs['latest-id']).toBe(kept);
  });

  it('a backup dated within the tolerance ahead counts, with an age of 0, never negative', async () => {
    const store = fresh();
    await goodBackups(store);
    const b = forged('shop', new Date(NOW.getTime() + 2 * MINUTE));
    await put(store, b.objectKey, b.object);
    await put(store, b.manifestKey, b.manifest);
    const result = await verifyLatest(verifySettings, context(store));
    expect(result.outputs['latest-id']).toBe(b.id);
    expect(result.outputs['age-seconds']).toBe(0);
  });
});

describe('the issue’s repros through the bundle, on the machine’s own clock', () => {
  const times = [3, 2, 1].map((hours) => new Date(Date.now() - hours * HOUR));

  it('a garbage manifest dated 2099: keep-last 1 keeps the newest real backup and the garbage', async () => {
    const store = path.join(work, 'bundle-garbage');
    const goods = await forgeInDirectory(store, 'shop', times);
    const garbage = 'shop/20991231T235959Z-ffffff.manifest.json';
    await writeFile(path.join(store, garbage), 'not json\n');
    const run = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'shop',
      'keep-last': '1',
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '1', deleted: '2' });
    expect(run.stdout).toMatch(/::warning::1 unusable backup\(s\), neither counted nor deleted/);
    expect(run.summary).toContain(garbage);
    const left = (await readdir(path.join(store, 'shop'))).sort();
    expect(left).toEqual(
      [
        `${goods[2]!.id}.dump.zst`,
        `${goods[2]!.id}.manifest.json`,
        '20991231T235959Z-ffffff.manifest.json',
      ].sort(),
    );
  });

  it('on S3, a valid backup a year ahead: keep-within keeps the real ones; verify-latest fails on it', async () => {
    const prefix = `hostile-bundle-${process.pid}`;
    const store = s3StoreAt(prefix);
    for (const time of times) {
      const b = forged('shop', time);
      await put(store, b.objectKey, b.object);
      await put(store, b.manifestKey, b.manifest);
    }
    const ahead = forged('shop', new Date(Date.now() + YEAR));
    await put(store, ahead.objectKey, ahead.object);
    await put(store, ahead.manifestKey, ahead.manifest);
    const before = await keysOf(store);
    const s3 = { storage: `s3://${testS3Bucket()}/${prefix}`, 's3-endpoint': testS3Endpoint() };
    const pruned = await runAction(
      { mode: 'retention-prune', ...s3, name: 'shop', 'keep-within': '1d' },
      { env: S3_ENV },
    );
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(pruned.outputs).toMatchObject({ kept: '3', deleted: '0' });
    expect(await keysOf(store)).toEqual(before);
    const verified = await runAction(
      { mode: 'verify-latest', ...s3, name: 'shop', deep: 'false' },
      { env: S3_ENV },
    );
    expect(verified.code).not.toBe(0);
    expect(lastErrorLine(verified)).toMatch(
      new RegExp(`backup ${ahead.manifestKey} is dated .* ahead of this machine's clock`),
    );
    expect(verified.outputs['age-seconds']).toBeUndefined();
  });
});

describe('a store folder made by hand', () => {
  it('a manifest that is a folder is not a backup, and is left alone', async () => {
    const root = path.join(work, 'folder-manifest');
    const goods = await forgeInDirectory(root, 'shop', [new Date(NOW.getTime() - HOUR)]);
    const id = newBackupId(soon);
    await mkdir(path.join(root, 'shop', `${id}.manifest.json`), { recursive: true });
    await writeFile(path.join(root, 'shop', `${id}.manifest.json`, 'x'), 'x');
    const store = new DirectoryStore(root);
    const result = await verifyLatest(verifySettings, context(store));
    expect(result.outputs['latest-id']).toBe(goods[0]!.id);
  });
});

describe('a manifest of 1 GB', () => {
  it('is rejected naming its key, by id and as latest, without being read whole', async () => {
    const root = path.join(work, 'huge-manifest');
    const [good] = await forgeInDirectory(root, 'shop', [new Date(NOW.getTime() - 2 * HOUR)]);
    const huge = forged('shop', new Date(NOW.getTime() - HOUR));
    await writeFile(path.join(root, huge.objectKey), huge.object);
    const file = path.join(root, huge.manifestKey);
    await writeFile(file, huge.manifest);
    await truncate(file, 1 << 30); // sparse: a gigabyte that costs no disk
    const store = new DirectoryStore(root);
    const before = process.memoryUsage().rss;
    await expect(findBackup(context(store), 'shop', huge.id)).rejects.toThrow(
      `corrupt manifest ${huge.manifestKey}: larger than 1048576 bytes, not read`,
    );
    await expect(verifyLatest(verifySettings, context(store))).rejects.toThrow(
      `corrupt manifest ${huge.manifestKey}: larger than 1048576 bytes, not read`,
    );
    expect((await findBackup(context(store), 'shop', 'latest')).id).toBe(good!.id);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20);
  });

  it('grown after the listing, is read no further than the cap', async () => {
    let pulled = 0;
    async function* gigabyte() {
      for (let i = 0; i < 1024; i++) {
        pulled += 1;
        yield Buffer.alloc(1 << 20, 0x20);
      }
    }
    await expect(
      readUpTo(Readable.from(gigabyte()), 'shop/x.manifest.json', 1 << 20),
    ).rejects.toThrow(ObjectTooLarge);
    expect(pulled).toBeLessThanOrEqual(3);
  });

  it('on s3rver, a capped read ends the transfer early', async () => {
    const store = s3StoreAt(`hostile-${process.pid}-big`);
    await put(store, 'shop/big.manifest.json', Buffer.alloc(8 << 20, 0x20));
    await expect(store.read('shop/big.manifest.json', 1 << 20)).rejects.toThrow(
      'shop/big.manifest.json holds more than 1048576 bytes',
    );
    expect((await store.read('shop/big.manifest.json', 8 << 20)).length).toBe(8 << 20);
  });
});
