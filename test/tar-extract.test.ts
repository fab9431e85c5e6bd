/** Extraction of files backups refuses entries that would write outside the target. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileStats } from '../src/files/digest.js';
import { extractTar, readTar } from '../src/files/tar-read.js';
import { archiveName } from '../src/files/walk.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tar-extract-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function archive(
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'directory';
    body?: string;
    linkname?: string;
  }[],
) {
  const pack = tar.pack();
  for (const entry of entries) {
    const body = entry.body ?? '';
    pack.entry(
      {
        name: entry.name,
        type: entry.type ?? 'file',
        linkname: entry.linkname,
        size: Buffer.byteLength(body),
      },
      body,
    );
  }
  pack.finalize();
  return Readable.from(pack);
}

describe('extractTar', () => {
  it.each(['../escape.txt', 'a/../../escape.txt', '/etc/escape.txt'])(
    'refuses %s',
    async (name) => {
      await expect(extractTar(archive([{ name, body: 'x' }]), dir)).rejects.toThrow(
        /outside the target/,
      );
      expect(await readdir(path.dirname(dir))).not.toContain('escape.txt');
    },
  );

  it('never writes through a symbolic link from the archive', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'tar-outside-'));
    try {
      const entries = [
        { name: 'link', type: 'symlink' as const, linkname: outside },
        { name: 'link/planted.txt', body: 'x' },
      ];
      await expect(extractTar(archive(entries), dir)).rejects.toThrow(/link is a symbolic link/);
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('reads back the figures that were recorded', async () => {
    const stats = await readTar(
      archive([
        { name: 'x', type: 'directory' },
        { name: 'x/a.txt', body: 'hello' },
      ]),
    );
    expect(stats).toEqual(
      fileStats([
        { name: 'x', type: 'directory', size: 0 },
        { name: 'x/a.txt', type: 'file', size: 5 },
      ]),
    );
  });

  it('reports bytes that are not a tar as unreadable', async () => {
    await expect(readTar(Readable.from([Buffer.alloc(1024, 7)]))).rejects.toThrow(
      /not a readable tar archive/,
    );
  });
});

describe('archive names', () => {
  it('are relative inside the working directory, and absolute paths lose their leading slash', () => {
    expect(archiveName('/srv/app/data/x.txt', '/srv/app')).toBe('data/x.txt');
    expect(archiveName('/var/lib/app/db', '/srv/app')).toBe('var/lib/app/db');
    expect(archiveName('/srv/app', '/srv/app')).toBe('');
  });
});
