/**
 * The metrics file, for node_exporter's textfile collector: one file holds the state of every
 * set and mode written into it. A run reads it, puts its own series in place of theirs, and
 * replaces it whole by a rename, so the collector never reads half a file.
 *
 * Two runs (two modes of a set, or two sets sharing the file) must not both read the old file
 * and each write it without the other's lines: a lock file beside it (`<file>.lock`, made with
 * O_EXCL) makes their read-merge-write take turns. A writer holds it for milliseconds; a lock
 * older than `staleMs` was left by a run that was killed, and is broken.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { parseExposition, renderExposition, type Sample } from './exposition.js';
import { familyOf, isOurs, mergeRun } from './metrics.js';

export interface FileOptions {
  /** How long to wait for another writer's lock before giving up (a warning). */
  waitMs: number;
  /** A lock untouched for this long was left by a run that was killed. */
  staleMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const defaultFileOptions: FileOptions = {
  waitMs: 30_000,
  staleMs: 20_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A file larger than this is not a metrics file this tool wrote: it is not read into memory. */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/**
 * Merges the run's samples into the file. Returns warnings (lines of the old file that were
 * dropped); throws, naming the file, when it cannot be written: the caller turns that into one
 * warning, since monitoring never fails the run.
 */
export async function writeMetricsFile(
  file: string,
  run: readonly Sample[],
  options: FileOptions = defaultFileOptions,
): Promise<string[]> {
  const target = await linkTarget(file);
  const release = await lock(`${target}.lock`, options).catch((error: unknown) => {
    throw new Error(`${file} was not written: ${problem(error, path.dirname(target))}`);
  });
  try {
    const old = await readOld(target);
    const parsed = parseExposition(old.text, isOurs);
    const text = renderExposition(mergeRun(parsed.samples, run), familyOf(parsed.families));
    await replace(target, text).catch((error: unknown) => {
      throw new Error(`${file} was not written: ${problem(error, path.dirname(target))}`);
    });
    const dropped = parsed.unreadable + parsed.foreign;
    return [
      ...old.warnings,
      ...(dropped === 0
        ? []
        : [`${dropped} line(s) of ${file} were not backup-action metrics and were left out`]),
    ];
  } finally {
    await release();
  }
}

/** A symbolic link stays one: the file it points to (there yet or not) is what is replaced. */
async function linkTarget(file: string): Promise<string> {
  const real = await realpath(file).catch(() => undefined);
  if (real) return real;
  const to = await readlink(file).catch(() => undefined);
  return to === undefined ? file : path.resolve(path.dirname(file), to);
}

/** The file as it is: none yet, or one too large to be ours, is started afresh. */
async function readOld(file: string): Promise<{ text: string; warnings: string[] }> {
  try {
    const { size } = await stat(file);
    if (size > MAX_READ_BYTES) {
      return {
        text: '',
        warnings: [`${file} was over 16 MiB, not metrics of this tool: written anew`],
      };
    }
    return { text: await readFile(file, 'utf8'), warnings: [] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', warnings: [] };
    throw new Error(`${file} could not be read: ${problem(error, path.dirname(file), 'read it')}`);
  }
}

/** Writes beside the file (a name the collector skips: not `*.prom`), then renames over it. */
async function replace(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o644);
    try {
      // Readable by all whatever the umask: node_exporter often runs as its own user.
      await handle.chmod(0o644);
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** Takes the lock, waiting for another writer; returns how to let it go. */
async function lock(lockFile: string, options: FileOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const taken = await tryLock(lockFile);
    if (taken) return taken;
    if (await breakStale(lockFile, options.staleMs)) continue;
    if (Date.now() >= deadline) {
      throw new Error(
        `another run held ${lockFile} for over ${Math.round(options.waitMs / 1000)}s (remove it if no run is writing)`,
      );
    }
    await options.sleep(50);
  }
}

async function tryLock(lockFile: string): Promise<(() => Promise<void>) | undefined> {
  let handle;
  try {
    handle = await open(lockFile, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  const mine = await handle.stat();
  await handle.close();
  // Only our own lock is removed: one broken as stale meanwhile (a run that hung) is another's.
  return async () => {
    const now = await stat(lockFile).catch(() => undefined);
    if (now && now.ino === mine.ino && now.dev === mine.dev) await unlink(lockFile).catch(() => {});
  };
}

/**
 * Removes a lock older than `staleMs`. It is first renamed to a name of our own, so that of two
 * runs breaking it at once only one succeeds; should the one renamed be a fresh lock taken in
 * between, it is put back.
 */
async function breakStale(lockFile: string, staleMs: number): Promise<boolean> {
  const seen = await stat(lockFile).catch(() => undefined);
  if (!seen) return true;
  // Never ours: renaming it aside would only leave it there under another name.
  if (!seen.isFile()) throw new Error(`${lockFile} is not a lock file (remove it)`);
  if (Date.now() - seen.mtimeMs < staleMs) return false;
  const aside = `${lockFile}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(lockFile, aside);
  } catch {
    return true;
  }
  const moved = await stat(aside);
  if (moved.ino !== seen.ino || moved.dev !== seen.dev) {
    await link(aside, lockFile).catch(() => undefined);
    await unlink(aside);
    return false;
  }
  await unlink(aside);
  return true;
}

/** Why a file could not be written (or read), in words a person acts on. */
function problem(error: unknown, folder: string, what = `write in ${folder}`): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `the folder ${folder} does not exist`;
    case 'ENOTDIR':
      return `${folder} is not a folder`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to ${what}`;
    case 'EROFS':
      return `${folder} is on a read-only file system`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left in ${folder}`;
    case 'EISDIR':
      return 'it is a folder';
    default:
      return errorMessage(error);
  }
}
