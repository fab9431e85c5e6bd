/**
 * Extraction of files backups refuses entries that would write outside the target.
 *
 * Covers: src/files/tar-read.ts, src/files/walk.ts, src/files/digest.ts.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileStats } from '../../src/files/digest.js';
import { extractTar, readTar } from '../../src/files/tar-read.js';
import { archiveName } from '../../src/files/walk.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tar-extract-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function archive(
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'directory' | 'link';
    body?: string;
    linkname?: string;
    mode?: number;
    uid?: number;
    gid?: number;
    mtime?: Date;
  }[],
) {
  const pack = tar.pack();
  for (const { body = '', type = 'file', ...entry } of entries) {
    pack.entry({ ...entry, type, size: Buffer.byteLength(body) }, body);
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

  it('never follows a symbolic link from the archive at the last component either', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'tar-outside-'));
    try {
      await writeFile(path.join(outside, 'victim.txt'), 'safe');
      const overFolder = [
        { name: 'l', type: 'symlink' as const, linkname: outside },
        { name: 'l', type: 'directory' as const, mode: 0o777 },
      ];
      await expect(extractTar(archive(overFolder), dir)).rejects.toThrow(
        /"l": an earlier entry already holds that name/,
      );
      expect((await stat(outside)).mode & 0o777).toBe(0o700);
      const overFile = [
        { name: 'v', type: 'symlink' as const, linkname: path.join(outside, 'victim.txt') },
        { name: 'v', body: 'planted', mode: 0o777 },
      ];
      const again = await mkdtemp(path.join(os.tmpdir(), 'tar-extract-'));
      await expect(extractTar(archive(overFile), again)).rejects.toThrow(/"v": an earlier entry/);
      await rm(again, { recursive: true });
      expect(await readFile(path.join(outside, 'victim.txt'), 'utf8')).toBe('safe');
      expect((await stat(path.join(outside, 'victim.txt'))).mode & 0o777).toBe(0o644);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it.each([
    ['a hard link', { name: 'h', type: 'link' as const, linkname: '/etc/passwd' }, /hard link/],
    ['a "." component', { name: './a/./b', body: 'x' }, /not a plain relative name/],
    ['an empty component', { name: 'a//b', body: 'x' }, /not a plain relative name/],
  ])('refuses %s', async (_, entry, message) => {
    await expect(extractTar(archive([entry]), dir)).rejects.toThrow(message);
    expect(await readdir(dir)).toEqual([]);
  });

  it('as root, gives files their owners back and keeps setuid only with them', async () => {
    expect(process.getuid?.()).toBe(0);
    const { stdout } = await promisify(execFile)('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    await extractTar(archive([{ name: 'tool', body: 'x', mode: 0o4755, uid, gid: uid }]), dir);
    const info = await stat(path.join(dir, 'tool'));
    expect({ uid: info.uid, mode: info.mode & 0o7777 }).toEqual({ uid, mode: 0o4755 });
  });

  it('applies folder modes and times last, after their contents are written', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z');
    const extracted = await extractTar(
      archive([
        { name: 'ro', type: 'directory', mode: 0o555, mtime },
        { name: 'ro/sub', type: 'directory', mode: 0o500, mtime },
        { name: 'ro/sub/inside.txt', body: 'x', mode: 0o444, mtime },
      ]),
      dir,
    );
    expect((await lstat(path.join(dir, 'ro', 'sub'))).mode & 0o777).toBe(0o500);
    // Top-level folders wait until they are where they stay (a restore moves them first).
    expect((await lstat(path.join(dir, 'ro'))).mode & 0o777).toBe(0o700);
    await extracted.settleTopFolders(dir);
    const folder = await lstat(path.join(dir, 'ro'));
    expect(folder.mode & 0o777).toBe(0o555);
    expect(folder.mtime).toEqual(mtime);
    expect(await readFile(path.join(dir, 'ro', 'sub', 'inside.txt'), 'utf8')).toBe('x');
  });

  it('reports a disk that fills as the disk’s error, not as a damaged archive', async () => {
    const small = path.join(dir, 'small');
    await mkdir(small);
    await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      const big = 'x'.repeat(2 << 20);
      await expect(extractTar(archive([{ name: 'big', body: big }]), small)).rejects.toThrow(
        /^ENOSPC/,
      );
    } finally {
      await promisify(execFile)('umount', [small]);
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
