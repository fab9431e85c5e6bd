/**
 * The backup's archive as one local file, which `pg_restore --jobs` needs (it seeks): downloaded,
 * its every stored byte checked against the manifest, decrypted and decompressed into a private
 * temporary folder, read back with `pg_restore --list` before any database is touched, and removed
 * once pg_restore is through with it, or at the end, pass or fail. A run killed outright cannot
 * remove it: the next run removes the folders of runs that have ended before it makes its own
 * (process/run-folders.ts).
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { formatBytes } from '../core/format.js';
import type { DatabasePart } from '../core/manifest.js';
import type { RunContext } from '../core/types.js';
import { readObject } from '../pipeline/read.js';
import { findZstdProgram, zstdToFile } from '../pipeline/zstd-program.js';
import { errorMessage } from '../core/errors.js';
import type { Phases } from './phases.js';
import type { PgRestore } from './pg-restore.js';
import { addRolesOf, emptyRoles, type ArchiveRoles } from '../postgres/roles.js';
import { addShapeOf, shapeOfToc, type ArchiveShape } from '../postgres/restore-passes.js';
import { ScriptLines } from '../postgres/sql-lines.js';
import { parseToc, type ArchiveToc } from '../postgres/toc.js';
import { archiveDatabaseScript } from '../postgres/database-settings.js';
import { unsupportedFormatLine } from '../postgres/versions.js';
import type { Decryption } from '../core/settings.js';
import { failureLine, start, type Program } from '../process/programs.js';
import { makeRunFolder } from '../process/run-folders.js';

export interface LocalArchive {
  file: string;
  /** `pg_restore --list --create` of it. */
  listing: string;
  toc: ArchiveToc;
  /**
   * The script of the archive's database-level entries (restore/owners.ts, database-settings.ts),
   * read while the restore runs: it needs only the file.
   */
  databaseScript: Promise<string>;
  /** The roles and shape its schema script shows, read while the target is checked. */
  schema: Promise<ArchiveSchema>;
  /** pg_restore is through with the file: it is removed while the run counts and checks. */
  remove(): void;
}

export interface ArchiveSchema {
  roles: ArchiveRoles;
  shape: ArchiveShape;
}

export const DOWNLOAD_PHASE = 'download, verify, decrypt, decompress';
const ARCHIVE_FILE = 'archive.dump';

/**
 * The archive's download into a private folder (0700: the archive in it is decrypted), begun as
 * soon as the run knows which backup it restores: the checks of the target and of pg_restore run
 * meanwhile, and a check that fails stops it (see `stopOnFailure`).
 */
export interface ArchiveDownload {
  folder: Promise<string>;
  /** Settles once every stored byte is checked and the archive written, or the download failed. */
  written: Promise<void>;
  stop(): void;
}

export function startDownload(
  ctx: RunContext,
  part: DatabasePart,
  keys: Decryption,
  phases: Phases,
): ArchiveDownload {
  const stopper = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stopper.signal]);
  const folder = makeRunFolder(ctx.env.RUNNER_TEMP || os.tmpdir(), 'backup-action-archive-');
  const written = folder.then((dir) =>
    phases.time(DOWNLOAD_PHASE, () =>
      download({ ...ctx, signal }, part, keys, path.join(dir, ARCHIVE_FILE)),
    ),
  );
  // Awaited where the archive is used; a check that fails first reports its own error.
  written.catch(() => undefined);
  return { folder, written, stop: () => stopper.abort() };
}

/** Runs `work`; if it fails, the download is stopped and what it wrote removed before the error. */
export async function stopOnFailure<T>(
  download: ArchiveDownload,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await discard(download, []);
    throw error;
  }
}

/** Runs `work` on the verified, readable archive, removed afterwards. */
export async function withLocalArchive<T>(
  download: ArchiveDownload,
  { program: pgRestore }: PgRestore,
  dumpedBy: string | undefined,
  work: (archive: LocalArchive) => Promise<T>,
): Promise<T> {
  const readers: Promise<unknown>[] = [];
  // Awaited where it is used; a run that fails first reports its own error, not this one.
  const read = <T>(reading: Promise<T>) => {
    readers.push(reading.catch(() => undefined));
    return reading;
  };
  let removed: Promise<void> | undefined;
  const removal = () => (removed ??= discard(download, readers));
  try {
    const file = path.join(await download.folder, ARCHIVE_FILE);
    await download.written;
    const listing = await listArchive(pgRestore, file, dumpedBy);
    const toc = parseToc(listing);
    return await work({
      file,
      listing,
      toc,
      databaseScript: read(archiveDatabaseScript(pgRestore, file, listing)),
      schema: read(readArchiveSchema(pgRestore, file, shapeOfToc(toc))),
      // A failure to remove it is the run's own, thrown below.
      remove: () => void removal().catch(() => undefined),
    });
  } finally {
    await removal();
  }
}

/** Stops the download and removes its folder once it and the archive's readers have settled. */
async function discard(download: ArchiveDownload, readers: Promise<unknown>[]): Promise<void> {
  download.stop();
  await Promise.all([download.written.catch(() => undefined), ...readers]);
  // Their pg_restore reads the file being removed.
  const dir = await download.folder.catch(() => undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Resolves only once every stored byte matched the manifest's size and sha256. */
async function download(
  ctx: RunContext,
  part: DatabasePart,
  keys: Decryption,
  file: string,
): Promise<void> {
  // zstd's own program, when there is one, writes the archive itself: its bytes skip Node.
  const zstd = part.backup.compression === 'zstd' ? await findZstdProgram(ctx.env) : undefined;
  try {
    await readObject(
      ctx.store,
      part.object,
      part.backup,
      keys,
      (archive) =>
        zstd
          ? zstdToFile(zstd, archive, file, ctx.signal)
          : pipeline(archive, createWriteStream(file, { mode: 0o600 }), { signal: ctx.signal }),
      ctx.signal,
      zstd !== undefined,
    );
  } catch (error) {
    const full =
      (error as NodeJS.ErrnoException).code === 'ENOSPC' ||
      /No space left on device/.test(errorMessage(error));
    if (!full) throw error;
    throw new Error(
      `no space left in ${path.dirname(path.dirname(file))} for the archive (${formatBytes(part.object.size)} as stored, more once decompressed); ` +
        'point TMPDIR (or RUNNER_TEMP) at a larger disk',
    );
  }
}

/**
 * The table of contents, with the database-level entries that only --create lists; an archive this
 * pg_restore cannot read fails here, before any database work.
 */
async function listArchive(
  pgRestore: Program,
  file: string,
  dumpedBy: string | undefined,
): Promise<string> {
  const { child, exit } = start(pgRestore, ['--list', '--create', file], process.env);
  let listing = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (listing += text));
  const ended = await exit;
  if (ended.code !== 0) {
    throw new Error(
      unsupportedFormatLine(ended.stderr, pgRestore, dumpedBy) ??
        `the backup is not an archive pg_restore can read: ${failureLine('pg_restore --list', ended)}`,
    );
  }
  return listing;
}

/** The roles the archive's owners and privileges name, and its shape, from its schema script. */
async function readArchiveSchema(
  pgRestore: Program,
  file: string,
  shape: ArchiveShape,
): Promise<ArchiveSchema> {
  const { child, exit } = start(pgRestore, ['--schema-only', '--file=-', file], process.env);
  const schema = { roles: emptyRoles(), shape };
  // A comment or a function body may hold a line that reads like an owner's statement.
  const lines = new ScriptLines();
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    if (lines.next(line)) addRolesOf(line, schema.roles);
    addShapeOf(line, schema.shape);
  }
  const ended = await exit;
  if (ended.code !== 0) throw new Error(failureLine('pg_restore --schema-only', ended));
  return schema;
}
