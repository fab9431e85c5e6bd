/**
 * Directory storage spelled every way a user writes it (a trailing slash, `file:///` with one, `.`
 * segments), through the bundle against the real PostgreSQL: every mode works on the same folder.
 * A store that cannot be written fails a backup before any work, naming the input.
 *
 * Covers: src/storage/directory.ts, src/inputs/common.ts.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryStore } from '../../src/storage/directory.js';
import { errorLines, runAction } from '../support/action.js';
import { sampleSource } from '../support/db.js';

const sample = sampleSource('storage_url', 50);

describe('a store folder spelled with a trailing slash', () => {
  it.each([
    ['file:/// URL with a trailing slash', (dir: string) => `file://${dir}/`],
    ['path with a trailing slash', (dir: string) => `${dir}/`],
    ['path with . segments', (dir: string) => `${dir}/./`],
  ])('%s: backup, verify-latest and retention-prune all work', async (label, spell) => {
    const dir = path.join(sample.work, label.replace(/\W+/g, '-'));
    const storage = spell(dir);
    const common = { storage, name: 'shop' };
    for (let i = 0; i < 2; i++) {
      const backup = await runAction({ mode: 'backup', ...common, 'database-url': sample.db.url });
      expect(backup.code, backup.stdout).toBe(0);
    }
    const verify = await runAction({ mode: 'verify-latest', ...common });
    expect(verify.code, verify.stdout).toBe(0);
    const prune = await runAction({ mode: 'retention-prune', ...common, 'keep-last': '1' });
    expect(prune.code, prune.stdout).toBe(0);
    expect(prune.outputs).toMatchObject({ kept: '1', deleted: '1' });
    // The kept backup, and the folder of the set's run records (docs/history.md).
    expect((await readdir(path.join(dir, 'shop'))).sort()).toEqual([
      `${verify.outputs['latest-id']}.dump.zst`,
      `${verify.outputs['latest-id']}.manifest.json`,
      'history',
    ]);
  });
});

describe('a store that cannot be written', () => {
  it('fails a backup naming storage, before the database is touched', async () => {
    const file = path.join(sample.work, 'a-file');
    await writeFile(file, 'not a folder');
    const run = await runAction({
      mode: 'backup',
      storage: `file://${file}/store`,
      name: 'shop',
      // Nothing listens here: had the dump started first, the error would be about the database.
      'database-url': 'postgresql://u:p@127.0.0.1:1/shop',
    });
    expect(run.code).not.toBe(0);
    expect(errorLines(run)).toEqual([
      expect.stringMatching(
        new RegExp(`^Input "storage": ${file}/store cannot be written \\(ENOTDIR`),
      ),
    ]);
  });
});

describe('the directory store', () => {
  it('takes a root spelled with a trailing slash as the same folder', () => {
    expect(new DirectoryStore(`${sample.work}/`).root).toBe(sample.work);
    expect(new DirectoryStore(`${sample.work}/./x/..`).description).toBe(sample.work);
  });

  it('refuses keys that leave it, and takes set names that merely start with dots', async () => {
    const store = new DirectoryStore(sample.work);
    await expect(store.read('../x', 10)).rejects.toThrow('key escapes the store: ../x');
    await expect(store.stat('..shop/x')).resolves.toBeUndefined();
  });
});
