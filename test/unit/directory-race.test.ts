/**
 * Two runs against one directory store at once: the write check of one removes the set folder it
 * made, while empty, just as the other is about to write into it. Neither may fail for that.
 *
 * Covers: src/storage/directory.ts.
 */
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { DirectoryStore } from '../../src/storage/directory.js';

/** Folders to take away once, right after the store has made sure they exist. */
const vanishing = new Set<string>();

vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    mkdir: async (folder: string, options: { recursive: boolean }) => {
      const made = await real.mkdir(folder, options);
      if (vanishing.delete(folder)) {
        await real.rmdir(folder);
        return undefined;
      }
      return made;
    },
  };
});

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'directory-race-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

it.each([
  ['a put', (store: DirectoryStore) => store.put('db/a.json', '{}'), ['a.json']],
  [
    'an upload',
    (store: DirectoryStore) => store.upload('db/a.bin', Readable.from([Buffer.from('x')])),
    ['a.bin'],
  ],
  ['a write check', (store: DirectoryStore) => store.checkWritable('db/'), undefined],
] as const)(
  '%s into a set folder removed just after it was made succeeds',
  async (name, write, left) => {
    const store = new DirectoryStore(path.join(dir, name.replaceAll(' ', '-')));
    vanishing.add(path.join(store.root, 'db'));
    await write(store);
    expect(vanishing.size).toBe(0);
    const now = await fs.readdir(path.join(store.root, 'db')).catch(() => undefined);
    expect(now).toEqual(left);
  },
);

it('a write check leaves no folder it made behind', async () => {
  const store = new DirectoryStore(path.join(dir, 'alone', 'deeper'));
  await store.checkWritable('db/');
  expect(await fs.readdir(dir)).not.toContain('alone');
});
