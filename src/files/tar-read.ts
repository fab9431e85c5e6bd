/**
 * Reading a files backup's tar: its figures (for verify-latest) and a safe extraction (for
 * restore-test and restore). Extraction refuses names that would land outside the target and never
 * writes through a symbolic link, so a crafted archive cannot touch anything else on the machine.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Header } from 'tar-stream';
import type { FileStats } from '../manifest.js';
import { UnreadableArchiveError } from '../errors.js';
import { fileStats, type ListedEntry } from './digest.js';

type EntryHandler = (header: Header, name: string, body: Readable) => Promise<void>;

/** Reads the whole archive, handing each entry to `handle` (default: skip its bytes). */
export async function readTar(archive: Readable, handle?: EntryHandler): Promise<FileStats> {
  const extract = tar.extract();
  const listed: ListedEntry[] = [];
  const feeding = pipeline(archive, extract);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/\/+$/, '');
      const type = entry.header.type;
      if (type === 'file' || type === 'directory' || type === 'symlink') {
        listed.push({ name, type, size: type === 'file' ? entry.header.size : 0 });
      }
      if (handle) await handle(entry.header, name, Readable.from(entry));
      entry.resume();
    }
    await feeding;
  } catch (error) {
    if (error instanceof ExtractionError) throw error;
    throw new UnreadableArchiveError(
      `the backup is not a readable tar archive: ${(error as Error).message}`,
    );
  }
  return fileStats(listed);
}

export class ExtractionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractionError';
  }
}

/** Extracts into `root`, which must exist; returns the archive's figures. */
export function extractTar(archive: Readable, root: string): Promise<FileStats> {
  return readTar(archive, (header, name, body) => writeEntry(root, header, name, body));
}

async function writeEntry(
  root: string,
  header: Header,
  name: string,
  body: Readable,
): Promise<void> {
  const target = await safeTarget(root, name);
  const mode = header.mode & 0o7777;
  if (header.type === 'directory') {
    await mkdir(target, { recursive: true });
    await chmod(target, mode || 0o755);
  } else if (header.type === 'symlink') {
    await symlink(header.linkname, target);
  } else if (header.type === 'file') {
    await pipeline(body, createWriteStream(target, { flags: 'wx', mode: mode || 0o644 }));
    await chmod(target, mode || 0o644);
    await utimes(target, header.mtime, header.mtime);
  }
}

/** The path for `name` under `root`; refuses escapes and parents that are symbolic links. */
async function safeTarget(root: string, name: string): Promise<string> {
  const parts = name.split('/');
  if (name === '' || path.isAbsolute(name) || parts.some((part) => part === '..' || part === '')) {
    throw new ExtractionError(
      `refusing archive entry "${name}": it would be written outside the target`,
    );
  }
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      throw new ExtractionError(`refusing archive entry "${name}": ${part} is a symbolic link`);
    }
    if (!info) await mkdir(current);
  }
  return path.join(root, name);
}
