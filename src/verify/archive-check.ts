/**
 * Reads an archive stream without a temporary copy: `pg_restore --list` for a pg_dump custom
 * archive, a full read of every entry for a tar. An archive that cannot be read fails the check.
 */
import { pipeline, type Readable } from 'node:stream';
import { UnreadableArchiveError } from '../core/errors.js';
import { readTar } from '../files/tar-read.js';
import type { FileStats } from '../core/manifest.js';
import { failureLine, start, type Program } from '../process/programs.js';

export interface ArchiveContents {
  /** Entries in the archive's table of contents (pg_dump) or files and folders (tar). */
  entries: number;
  /** Tables whose data the archive holds (pg_dump only). */
  tablesWithData?: number;
  /** Count, bytes and list digest (tar only), to compare with the manifest. */
  files?: FileStats;
}

/** A pg_dump archive's table of contents, as the pg_restore that will restore it reads it. */
export async function listDumpArchive(
  archive: Readable,
  pgRestore: Program,
): Promise<ArchiveContents> {
  const listing = await listWith(pgRestore, ['--list'], archive, 'pg_restore --list');
  const entries = listing.filter((line) => line !== '' && !line.startsWith(';'));
  return {
    entries: entries.length,
    tablesWithData: entries.filter((line) => / TABLE DATA /.test(line)).length,
  };
}

/** Every entry of a tar read through, with the figures its manifest records. */
export async function readTarArchive(archive: Readable): Promise<ArchiveContents> {
  const stats = await readTar(archive);
  return { entries: stats.count, files: stats };
}

async function listWith(
  program: Program,
  args: string[],
  archive: Readable,
  name: string,
): Promise<string[]> {
  const { child, exit } = start(program, args, process.env, 'pipe');
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (stdout += text));
  // The tool may stop reading once it has what it needs (a table of contents is at the start).
  pipeline(archive, child.stdin!, () => undefined);
  const ended = await exit;
  if (ended.code !== 0) {
    throw new UnreadableArchiveError(
      `the backup is not a readable pg_dump archive: ${failureLine(name, ended)}`,
    );
  }
  return stdout.split('\n');
}
