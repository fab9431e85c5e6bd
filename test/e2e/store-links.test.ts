/**
 * A directory store someone else can write: symbolic links placed in it by hand. The bundle runs
 * each mode over a real folder holding links to files outside the store, as a pruner running as
 * root would meet them; nothing is deleted, read or written through a link, and each is named.
 *
 * Covers: src/storage/directory.ts, src/storage/index.ts.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBackupId } from '../../src/core/ids.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { forgeBackup, forgeInDirectory } from '../support/forge.js';

const HOUR = 3_600_000;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'store-links-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A folder outside the store holding what a sweep would take for a server backup's objects. */
async function victim(name: string): Promise<{ dir: string; files: Map<string, string> }> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  const files = new Map([
    ['app.dump.zst', 'the machine’s own dump'],
    ['globals.sql.zst', 'the machine’s own roles'],
    ['notes.txt', 'a note'],
  ]);
  for (const [file, text] of files) await writeFile(path.join(dir, file), text);
  return { dir, files };
}

async function unchanged(dir: string, files: Map<string, string>): Promise<void> {
  expect((await readdir(dir)).sort()).toEqual([...files.keys()].sort());
  for (const [file, text] of files) expect(await readFile(path.join(dir, file), 'utf8')).toBe(text);
}

const times = [3, 2, 1].map((hours) => new Date(Date.now() - hours * HOUR));

describe('retention-prune over a link at <set>/<id>/ (the issue’s repro)', () => {
  it('deletes nothing through it, leaves the link, and names it', async () => {
    const store = path.join(work, 'prune');
    const goods = await forgeInDirectory(store, 'shop', times);
    const { dir, files } = await victim('prune-victim');
    const link = 'shop/20250101T000000Z-abcdef';
    await symlink(dir, path.join(store, link));
    const fileLink = 'shop/20250101T000000Z-abcdee.dump.zst';
    await symlink(path.join(dir, 'app.dump.zst'), path.join(store, fileLink));
    const run = await runAction({
      mode: 'retention-prune',
      storage: store,
      name: 'shop',
      'keep-last': '1',
      'orphan-grace': '1h',
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '1', deleted: '2' });
    await unchanged(dir, files);
    expect((await lstat(path.join(store, link))).isSymbolicLink()).toBe(true);
    expect((await lstat(path.join(store, fileLink))).isSymbolicLink()).toBe(true);
    for (const key of [link, fileLink]) {
      expect(run.stdout).toContain(
        `::warning::${key} in the store ${store} is a symbolic link: skipped, not followed`,
      );
    }
    expect((await readdir(path.join(store, 'shop'))).sort()).toEqual(
      [
        `${goods[2]!.id}.dump.zst`,
        `${goods[2]!.id}.manifest.json`,
        path.basename(link),
        path.basename(fileLink),
      ].sort(),
    );
  });
});

describe('readers never read through a link', () => {
  it('verify-latest and status skip a newer backup whose files are links to elsewhere', async () => {
    const store = path.join(work, 'read');
    const goods = await forgeInDirectory(store, 'shop', times);
    const outside = path.join(work, 'read-outside');
    await mkdir(outside);
    const forged = forgeBackup('shop', new Date(Date.now() - HOUR / 2));
    for (const [key, bytes] of forged.files) {
      await writeFile(path.join(outside, path.basename(key)), bytes);
      await symlink(path.join(outside, path.basename(key)), path.join(store, key));
    }
    const verified = await runAction({
      mode: 'verify-latest',
      storage: store,
      name: 'shop',
      deep: 'false',
    });
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.outputs['latest-id']).toBe(goods[2]!.id);
    expect(verified.stdout).toContain(
      `::warning::${forged.forged.manifestKey} in the store ${store} is a symbolic link`,
    );
    const status = await runAction({ mode: 'status', storage: store, name: 'shop' });
    expect(status.code, status.stdout).toBe(0);
    expect(status.summary).toContain(goods[2]!.id);
    const listed = status.summary.split('\n').filter((line) => !line.includes('symbolic link'));
    expect(listed.join('\n')).not.toContain(forged.forged.id);
  });

  it('a set folder that is a link lists nothing and is read through by no mode', async () => {
    const root = path.join(work, 'set-link');
    const elsewhere = path.join(work, 'set-link-target');
    await forgeInDirectory(elsewhere, 'shop', times);
    await mkdir(root);
    await symlink(path.join(elsewhere, 'shop'), path.join(root, 'shop'));
    const said: string[] = [];
    const store = new DirectoryStore(root, (line) => said.push(line));
    const keys: string[] = [];
    for await (const object of store.list('shop/')) keys.push(object.key);
    expect(keys).toEqual([]);
    expect(await store.stat(`shop/${newBackupId(times[0]!)}.manifest.json`)).toBeUndefined();
    expect(said).toEqual([`shop in the store ${root} is a symbolic link: skipped, not followed`]);
    const verified = await runAction({ mode: 'verify-latest', storage: root, name: 'shop' });
    expect(verified.code).not.toBe(0);
    expect(verified.stdout).toContain(`::warning::shop in the store ${root} is a symbolic link`);
  });
});

describe('writers never write through a link', () => {
  it('a backup into a set folder that is a link fails in one line; nothing lands at its target', async () => {
    const root = path.join(work, 'write');
    const tree = path.join(work, 'write-tree');
    await mkdir(tree);
    await writeFile(path.join(tree, 'a.txt'), 'a');
    const elsewhere = path.join(work, 'write-elsewhere');
    await mkdir(elsewhere);
    await mkdir(root);
    await symlink(elsewhere, path.join(root, 'site'));
    const run = await runAction({ source: 'files', paths: tree, storage: root, name: 'site' });
    expect(run.code).not.toBe(0);
    expect(lastErrorLine(run)).toMatch(/site in the store is a symbolic link: not followed/);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('restore of a backup whose object was swapped for a link reads nothing and names it', async () => {
    const root = path.join(work, 'restore');
    const tree = path.join(work, 'restore-tree');
    await mkdir(tree);
    await writeFile(path.join(tree, 'a.txt'), 'a');
    const made = await runAction({ source: 'files', paths: tree, storage: root, name: 'site' });
    expect(made.code, made.stdout).toBe(0);
    const key = made.outputs['backup-key']!;
    const copy = path.join(work, 'restore-copy');
    await writeFile(copy, await readFile(path.join(root, key)));
    await rm(path.join(root, key));
    await symlink(copy, path.join(root, key));
    const target = path.join(work, 'restore-target');
    const restored = await runAction({
      mode: 'restore',
      storage: root,
      name: 'site',
      'target-path': target,
      confirm: target,
    });
    expect(restored.code).not.toBe(0);
    expect(restored.stdout).toContain(`::warning::${key} in the store ${root} is a symbolic link`);
    expect(lastErrorLine(restored)).toBe(`no complete backup of set "site" in ${root}`);
    expect(await readdir(target).catch(() => [])).toEqual([]);
  });
});
