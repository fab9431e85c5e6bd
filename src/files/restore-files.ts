/**
 * Restoring a files backup: into a temporary folder for restore-test (figures compared with the
 * manifest), or into `target-path` for restore. Extraction always goes to a staging folder first
 * and reaches the target only once every stored byte matched its checksum.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatBytes, formatCount, formatSeconds } from '../format.js';
import type { FileStats, Manifest } from '../manifest.js';
import { ModeFailure, type ModeResult, type RunContext } from '../modes/types.js';
import { readArchive } from '../pipeline/read.js';
import { Phases } from '../restore/phases.js';
import type { Decryption } from '../settings.js';
import { filesMismatch } from './digest.js';
import { extractTar } from './tar-read.js';

async function extractVerified(
  ctx: RunContext,
  manifest: Manifest,
  keys: Decryption,
  dir: string,
): Promise<FileStats> {
  return readArchive(ctx.store, manifest, keys, (archive) => extractTar(archive, dir), ctx.signal);
}

function describe(manifest: Manifest, stats: FileStats, phases: Phases, where: string): ModeResult {
  const seconds = phases.totalSeconds();
  return {
    headline: `Backup ${manifest.name}/${manifest.id} extracted ${where} in ${formatSeconds(seconds)}: ${formatCount(stats.count)} entries, ${formatBytes(stats.bytes)}`,
    outputs: { 'backup-id': manifest.id, 'restore-seconds': Number(seconds.toFixed(3)) },
    facts: [
      ['Set', manifest.name],
      ['Backup', `${manifest.id} (made ${manifest.createdAt})`],
      ['Entries / bytes', `${formatCount(stats.count)} / ${formatBytes(stats.bytes)}`],
      ['List digest', stats.listDigest],
      ['Recovery time', formatSeconds(seconds)],
    ],
    tables: [phases.table()],
    details: { manifest, files: stats, restoreSeconds: seconds },
  };
}

/** restore-test of a files backup: extract to a temporary folder and compare with the manifest. */
export async function testFilesBackup(
  ctx: RunContext,
  manifest: Manifest,
  keys: Decryption,
): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'restore-test-files-'));
  try {
    const stats = await phases.time('download, verify, decrypt, decompress, extract', () =>
      extractVerified(ctx, manifest, keys, dir),
    );
    const result = describe(manifest, stats, phases, 'to a temporary folder');
    const mismatch = manifest.files
      ? filesMismatch(manifest.files, stats)
      : 'the manifest records no file figures';
    if (mismatch) throw new ModeFailure(mismatch, result);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** restore of a files backup into `target`, which must be empty unless `clean`. */
export async function restoreFiles(
  ctx: RunContext,
  manifest: Manifest,
  keys: Decryption,
  target: string,
  clean: boolean,
): Promise<ModeResult> {
  await mkdir(target, { recursive: true });
  const existing = await readdir(target);
  if (existing.length > 0 && !clean) {
    throw new Error(
      `the target path ${target} is not empty (${existing.length} entries); set clean: true to replace its contents`,
    );
  }
  const phases = new Phases(ctx.now);
  const staging = await mkdtemp(path.join(path.dirname(target), '.restore-'));
  try {
    const stats = await phases.time('download, verify, decrypt, decompress, extract', () =>
      extractVerified(ctx, manifest, keys, staging),
    );
    for (const name of existing)
      await rm(path.join(target, name), { recursive: true, force: true });
    for (const name of await readdir(staging))
      await rename(path.join(staging, name), path.join(target, name));
    return describe(manifest, stats, phases, `into ${target}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
