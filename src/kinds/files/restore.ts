/**
 * Restoring a files backup: into a temporary folder for restore-test (figures compared with the
 * manifest), or into `target-path` for restore. Extraction always goes to a staging folder first
 * and reaches the target only once every stored byte matched its checksum.
 *
 * The staging folder is a hidden folder inside the target itself, so it is on the target's own
 * filesystem whatever is mounted where (a volume, a symbolic link to elsewhere, a read-only
 * parent): moving the new tree into place is a rename, never a copy. With `clean`, the old
 * contents are first renamed aside and deleted only once the new tree is in place; a failure on
 * the way puts them back.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, realpath, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { diskFullError, errorMessage, InputError } from '../../core/errors.js';
import { formatBytes, formatCount } from '../../core/format.js';
import type { FileStats, FilesManifest } from '../../core/manifest.js';
import type { Decryption, StorageLocation } from '../../core/settings.js';
import type { Logger, RunContext } from '../../core/types.js';
import { filesMismatch } from '../../files/digest.js';
import { extractTar, type Extracted } from '../../files/tar-read.js';
import { readObject } from '../../pipeline/read.js';
import { makeRunFolder } from '../../process/run-folders.js';
import type { Phases } from '../../restore/phases.js';
import type { KindRun, RestoreRows } from '../kind.js';
import { refuseStoreOverlap } from './restore-target.js';

/** What an extraction learned, kept so that a failed run's summary still shows it. */
interface Extraction {
  manifest: FilesManifest;
  keys: Decryption;
  phases: Phases;
  stats?: FileStats;
}

/** restore-test: extract to a temporary folder and compare with the manifest's figures. */
export function testFiles(
  ctx: RunContext,
  manifest: FilesManifest,
  keys: Decryption,
  phases: Phases,
): KindRun {
  const done: Extraction = { manifest, keys, phases };
  return {
    async run() {
      // Private, and removed by the next run if this one is killed: the files are decrypted.
      const dir = await makeRunFolder(os.tmpdir(), 'backup-action-files-', removeTree);
      try {
        // Beside the folder's owner file, never over it.
        const tree = path.join(dir, 'tree');
        await mkdir(tree);
        const where = `the temporary folder ${tree}`;
        const advice = '; set TMPDIR to a folder on a larger disk';
        const { settleTopFolders } = await extract(ctx, done, tree, where, advice);
        await settleTopFolders(tree);
      } finally {
        await removeTree(dir);
      }
    },
    problems: () => {
      if (!done.stats) return [];
      const mismatch = manifest.files
        ? filesMismatch(manifest.files, done.stats)
        : 'the manifest records no file figures';
      return mismatch ? [mismatch] : [];
    },
    rows: () => extractionRows(done, 'to a temporary folder'),
  };
}

/** restore into `targetPath`, which must be empty unless `clean`. */
export async function restoreFiles(
  ctx: RunContext,
  manifest: FilesManifest,
  keys: Decryption,
  phases: Phases,
  { targetPath, clean, storage }: { targetPath: string; clean: boolean; storage: StorageLocation },
): Promise<KindRun> {
  await refuseStoreOverlap(targetPath, storage);
  const target = await openTarget(targetPath);
  const existing = await readdir(target);
  if (existing.length > 0 && !clean) {
    throw new Error(
      `the target path ${targetPath} is not empty (${existing.length} entries); set clean: true to replace its contents`,
    );
  }
  const done: Extraction = { manifest, keys, phases };
  return {
    async run() {
      const staging = await mkdtemp(path.join(target, '.backup-action-staging-'));
      try {
        const where = `the target path ${targetPath}`;
        const { settleTopFolders } = await extract(ctx, done, staging, where);
        await moveIntoPlace(target, staging, existing, ctx.log);
        await settleTopFolders(target);
      } finally {
        await removeTree(staging);
      }
    },
    problems: () => [],
    rows: () => extractionRows(done, `into ${targetPath}`),
  };
}

/** Download, verify, decrypt, decompress and extract into `dir`, timed as one phase. */
async function extract(
  ctx: RunContext,
  done: Extraction,
  dir: string,
  where: string,
  advice = '',
): Promise<Extracted> {
  const { manifest, keys, phases } = done;
  const extracted = await phases.time('download, verify, decrypt, decompress, extract', () =>
    readObject(
      ctx.store,
      manifest.object,
      manifest,
      keys,
      (archive) => extractTar(archive, dir),
      ctx.signal,
    ).catch((error: unknown) => {
      const needed = manifest.files
        ? ` (the backup holds ${formatBytes(manifest.files.bytes)})`
        : '';
      throw diskFullError(error, where, ` while extracting${needed}${advice}`) ?? error;
    }),
  );
  done.stats = extracted.stats;
  return extracted;
}

function extractionRows({ stats }: Extraction, where: string): RestoreRows {
  return {
    done: `extracted ${where}`,
    summary: stats
      ? `${formatCount(stats.count)} entries, ${formatBytes(stats.bytes)}`
      : 'not extracted',
    outputs: stats ? { 'restored-entries': stats.count } : {},
    facts: stats
      ? [
          ['Entries / bytes', `${formatCount(stats.count)} / ${formatBytes(stats.bytes)}`],
          ['List digest', stats.listDigest],
        ]
      : [['Entries / bytes', 'not counted: the extraction did not finish']],
    tables: [],
    details: { files: stats },
  };
}

/** The target folder's real path, made if missing; a file there is bad input. */
async function openTarget(targetPath: string): Promise<string> {
  try {
    await mkdir(targetPath, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    throw new InputError(
      'target-path',
      `${targetPath} is a file, not a folder; give a folder (it is made if missing)`,
    );
  }
  return realpath(targetPath);
}

/**
 * Old contents aside, new ones in, old ones deleted last; on failure every move is undone. Old
 * entries are renamed within the target (a folder moved to another parent must be writable, to
 * update its `..`; one renamed in place need not be, so read-only folders move aside too).
 */
async function moveIntoPlace(
  target: string,
  staging: string,
  existing: string[],
  log: Logger,
): Promise<void> {
  const token = randomBytes(4).toString('hex');
  const aside = existing.map((_, index) =>
    path.join(target, `.backup-action-replaced-${token}-${index}`),
  );
  const moved: { from: string; to: string }[] = [];
  const move = async (from: string, to: string) => {
    await rename(from, to);
    moved.push({ from, to });
  };
  try {
    for (const [index, name] of existing.entries())
      await move(path.join(target, name), aside[index] ?? '');
    for (const name of await readdir(staging))
      await move(path.join(staging, name), path.join(target, name));
  } catch (error) {
    for (const { from, to } of moved.reverse()) await rename(to, from);
    throw error;
  }
  for (const old of aside) {
    await removeTree(old).catch((error: unknown) =>
      log.warning(`replaced contents could not be deleted: ${errorMessage(error)}`),
    );
  }
}

/** rm -r that also gets through folders restored read-only (as a non-root user). */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true }))
    if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
}
