/**
 * The files source: a POSIX (pax) tar streamed from the tree, one file at a time with
 * backpressure, no temporary copy. A file that vanishes while the backup runs is a warning; one
 * that cannot be read fails the run, unless `skip-unreadable` lists it and goes on.
 */
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Header, type Pack } from 'tar-stream';
import type { Logger } from '../core/types.js';
import { printableName } from '../core/database-names.js';
import type { ObjectSource, SourceFacts } from '../pipeline/source.js';
import { fileStats, type ListedEntry } from './digest.js';
import {
  unreadableCode,
  unreadableError,
  walkTree,
  type Tree,
  type TreeEntry,
  type WalkOptions,
} from './walk.js';

export interface FilesOptions extends WalkOptions {
  log: Logger;
}

/**
 * The tree of `paths`, walked before anything is stored: an empty selection fails here, and what
 * cannot be archived is said once.
 */
export async function walkFiles(options: FilesOptions): Promise<Tree> {
  const tree = await walkTree(options);
  if (tree.entries.length === 0)
    throw new Error('paths: nothing to back up (everything was excluded or empty)');
  if (tree.store) options.log.info(`${tree.store} is the store: not archived`);
  for (const name of tree.special)
    options.log.warning(`${printableName(name)} is a socket, FIFO or device: not archived`);
  for (const { name, code } of tree.skipped)
    options.log.warning(
      `${printableName(name)} cannot be read (${code}): skipped (skip-unreadable)`,
    );
  return tree;
}

/** The walked tree as a tar, each file read as its turn comes. */
export function packTree(tree: Tree, options: FilesOptions): ObjectSource {
  const pack = tar.pack();
  const listed: ListedEntry[] = [];
  const done = writeEntries(pack, tree.entries, options, listed).then(
    () => pack.finalize(),
    (error: unknown) => {
      pack.destroy(error as Error);
      throw error;
    },
  );
  done.catch(() => undefined);
  return {
    output: Readable.from(pack),
    async finished(): Promise<SourceFacts> {
      await done;
      return { files: fileStats(listed) };
    },
    async close() {
      if (!pack.destroyed) pack.destroy();
      await done.catch(() => undefined);
    },
  };
}

async function writeEntries(
  pack: Pack,
  entries: TreeEntry[],
  options: FilesOptions,
  listed: ListedEntry[],
): Promise<void> {
  for (const entry of entries) {
    try {
      const size = await writeEntry(pack, entry);
      listed.push({ name: entry.name, type: entry.type, size });
    } catch (error) {
      const unreadable = unreadableCode(error);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        options.log.warning(
          `${printableName(entry.name)} vanished while the backup ran: not archived`,
        );
      } else if (unreadable && options.skipUnreadable) {
        options.log.warning(
          `${printableName(entry.name)} cannot be read (${unreadable}): skipped (skip-unreadable)`,
        );
      } else if (unreadable) {
        throw unreadableError(entry.file, unreadable);
      } else {
        throw error;
      }
    }
  }
}

/** Adds one entry; returns the content bytes written. */
async function writeEntry(pack: Pack, entry: TreeEntry): Promise<number> {
  const info = await lstat(entry.file);
  const header = {
    name: entry.name,
    mode: info.mode & 0o7777,
    mtime: info.mtime,
    uid: info.uid,
    gid: info.gid,
  };
  if (entry.type === 'directory') {
    await add(pack, { ...header, type: 'directory' });
    return 0;
  }
  if (entry.type === 'symlink') {
    await add(pack, { ...header, type: 'symlink', linkname: await readlink(entry.file) });
    return 0;
  }
  // Open before writing the header, so an unreadable file fails before the archive holds a header for it.
  const stream = createReadStream(entry.file, {
    start: 0,
    end: Math.max(0, info.size - 1),
    highWaterMark: 1 << 20,
  });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  if (info.size === 0) {
    stream.destroy();
    await add(pack, { ...header, type: 'file', size: 0 });
    return 0;
  }
  const sink = pack.entry({ ...header, type: 'file', size: info.size });
  try {
    await pipeline(stream, sink);
  } catch (error) {
    // The header promised info.size bytes; a file cut short mid-read cannot keep that promise.
    const now = await lstat(entry.file).catch(() => undefined);
    if (now && now.size < info.size) {
      throw new Error(
        `${printableName(entry.file)} shrank from ${info.size} to ${now.size} bytes while it was archived; a file still being written cannot be backed up consistently: exclude it, or stop what writes it during the backup`,
      );
    }
    throw error;
  }
  return info.size;
}

/** Adds a header-only entry (folder, link, empty file); an empty body ends it at once. */
function add(pack: Pack, header: Partial<Header> & { name: string }): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry(header, Buffer.alloc(0), (error) => (error ? reject(error) : resolve())),
  );
}
