/**
 * Reading a files backup's tar: its figures (for verify-latest) and a safe extraction (for
 * restore-test and restore), so a crafted archive cannot touch anything else on the machine.
 * Extraction refuses names that are absolute or hold `..`, checks every folder on an entry's way
 * with lstat (a symbolic link there is refused), and creates the entry itself so that an existing
 * link is never followed (O_EXCL / O_NOFOLLOW; metadata through the open handle). Hard links,
 * devices and FIFOs are refused: backup-action never archives them.
 *
 * As `tar -p` does, folder modes and times are applied last, deepest first, so a read-only folder
 * does not stop its own contents from being written; as root, owners come back from the archive
 * (numeric ids), and otherwise setuid/setgid bits are dropped, so a program never comes back
 * privileged under an owner it did not have.
 */
import { constants } from 'node:fs';
import { lchown, lstat, lutimes, mkdir, open, symlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar, { type Header } from 'tar-stream';
import type { FileStats } from '../core/manifest.js';
import { UnreadableArchiveError } from '../core/errors.js';
import { printableName, quotedName } from '../core/database-names.js';
import { fileStats, type ListedEntry } from './digest.js';

type EntryHandler = (header: Header, name: string, body: Readable) => Promise<void>;

/** A handler's failure to write (a full disk, a permission): not a sign of a damaged archive. */
class WriteFailure {
  constructor(readonly error: unknown) {}
}

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
      if (handle) {
        await handle(entry.header, name, Readable.from(entry)).catch((error: unknown) => {
          // A system call's error is the disk's doing; a stream's error is the archive's.
          throw (error as NodeJS.ErrnoException).syscall ? new WriteFailure(error) : error;
        });
      }
      entry.resume();
    }
    await feeding;
  } catch (error) {
    if (error instanceof WriteFailure) throw error.error;
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

export interface Extracted {
  stats: FileStats;
  /**
   * Applies the top-level folders' modes, owners and times, once they are where they stay (`dir`):
   * a folder that is not writable cannot be renamed into another parent (its `..` changes).
   */
  settleTopFolders(dir: string): Promise<void>;
}

/** Extracts into `root`, which must exist and be empty. */
export async function extractTar(archive: Readable, root: string): Promise<Extracted> {
  const extraction = new Extraction(root);
  const stats = await readTar(archive, (header, name, body) =>
    extraction.write(header, name, body),
  );
  await extraction.settleFolders((parts) => parts.length > 1, root);
  return {
    stats,
    settleTopFolders: (dir) => extraction.settleFolders((parts) => parts.length === 1, dir),
  };
}

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;
const SET_ID_BITS = 0o6000;

class Extraction {
  /** Folders whose mode, owner and time wait for the end (they stay owner-writable until then). */
  private readonly folders: { parts: string[]; header: Header }[] = [];
  private readonly asRoot = process.getuid?.() === 0;

  constructor(private readonly root: string) {}

  async write(header: Header, name: string, body: Readable): Promise<void> {
    const { type } = header;
    if (type !== 'directory' && type !== 'file' && type !== 'symlink') {
      throw new ExtractionError(
        `refusing archive entry ${quotedName(name)}: it is a ${type === 'link' ? 'hard link' : (type ?? 'typeless entry')}, and backup-action archives only files, folders and symbolic links`,
      );
    }
    const parts = name.split('/');
    const file = await this.placeFor(name, parts);
    const existing = await lstatIfAny(file);
    // Only a folder may be named again (its children may have made it first); the creating calls
    // below refuse an existing name too, this says why.
    if (existing && !(type === 'directory' && existing.isDirectory())) {
      throw new ExtractionError(
        `refusing archive entry ${quotedName(name)}: an earlier entry already holds that name`,
      );
    }
    if (type === 'directory') {
      if (!existing) await mkdir(file, { mode: 0o700 });
      this.folders.push({ parts, header });
    } else if (type === 'file') await this.file(file, header, body);
    else await this.symlink(file, header);
  }

  /** Deepest first, so a folder made read-only no longer needs to be written into. */
  async settleFolders(which: (parts: string[]) => boolean, dir: string): Promise<void> {
    const folders = this.folders
      .filter(({ parts }) => which(parts))
      .sort((a, b) => b.parts.length - a.parts.length);
    for (const { parts, header } of folders) {
      const handle = await open(path.join(dir, ...parts), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        await this.settle(handle, header, 0o755);
      } finally {
        await handle.close();
      }
    }
  }

  /** The path for `name` under the root, every folder on its way made or checked to be one. */
  private async placeFor(name: string, parts: string[]): Promise<string> {
    if (name === '' || path.isAbsolute(name) || parts.includes('..')) {
      throw new ExtractionError(
        `refusing archive entry ${quotedName(name)}: it would be written outside the target`,
      );
    }
    if (parts.some((part) => part === '' || part === '.')) {
      throw new ExtractionError(
        `refusing archive entry ${quotedName(name)}: it is not a plain relative name`,
      );
    }
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = path.join(current, part);
      const info = await lstatIfAny(current);
      if (!info) await mkdir(current, { mode: 0o700 });
      else if (info.isSymbolicLink())
        throw new ExtractionError(
          `refusing archive entry ${quotedName(name)}: ${printableName(part)} is a symbolic link`,
        );
      else if (!info.isDirectory())
        throw new ExtractionError(
          `refusing archive entry ${quotedName(name)}: ${printableName(part)} is not a folder`,
        );
    }
    return path.join(this.root, ...parts);
  }

  private async file(file: string, header: Header, body: Readable): Promise<void> {
    // O_EXCL refuses anything already there, a symbolic link included.
    const handle = await open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(body);
      await this.settle(handle, header, 0o644);
    } finally {
      await handle.close();
    }
  }

  private async symlink(file: string, header: Header): Promise<void> {
    await symlink(header.linkname ?? '', file);
    if (this.asRoot) await lchown(file, header.uid ?? 0, header.gid ?? 0).catch(ignoreNotPermitted);
    if (header.mtime) await lutimes(file, header.mtime, header.mtime);
  }

  /** Owner first: chown clears setuid/setgid, and a mode is only safe under its own owner. */
  private async settle(handle: FileHandle, header: Header, fallbackMode: number): Promise<void> {
    const owned = this.asRoot && (await chownIfPermitted(handle, header));
    const mode = header.mode ? header.mode & 0o7777 : fallbackMode;
    await handle.chmod(owned ? mode : mode & ~SET_ID_BITS);
    if (header.mtime) await handle.utimes(header.mtime, header.mtime);
  }
}

/** False when the system refuses (an unmapped id in a user namespace, root squashed). */
async function chownIfPermitted(handle: FileHandle, header: Header): Promise<boolean> {
  try {
    await handle.chown(header.uid ?? 0, header.gid ?? 0);
    return true;
  } catch (error) {
    ignoreNotPermitted(error);
    return false;
  }
}

function ignoreNotPermitted(error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'EPERM' && code !== 'EINVAL') throw error;
}

async function lstatIfAny(file: string) {
  try {
    return await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
