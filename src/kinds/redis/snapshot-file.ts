/**
 * The backup's snapshot as one file in a private temporary folder, for what needs a file (a
 * scratch redis-server loads one; a restore reads its keys twice: checked, then written): every
 * stored byte checked against the manifest, the snapshot's own checksum and structure checked,
 * and its key counts compared with the manifest's, before anything is done with it. The folder
 * is removed at the end, pass or fail.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { diskFullError } from '../../core/errors.js';
import { formatBytes } from '../../core/format.js';
import type { RedisManifest } from '../../core/manifest.js';
import type { Decryption } from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import { readObject } from '../../pipeline/read.js';
import { RdbReader, type RdbSummary } from '../../redis/rdb.js';
import { readWhilePassing, storedSummary } from '../../redis/rdb-stream.js';
import type { Phases } from '../../restore/phases.js';
import { countsMismatch } from './figures.js';

export interface SnapshotFile {
  dir: string;
  file: string;
  summary: RdbSummary;
}

export const DOWNLOAD_PHASE = 'download, verify, decrypt, decompress';

export async function withSnapshotFile<T>(
  ctx: RunContext,
  manifest: RedisManifest,
  keys: Decryption,
  phases: Phases,
  work: (snapshot: SnapshotFile) => Promise<T>,
): Promise<T> {
  // mkdtemp makes the folder private (0700): the snapshot in it is decrypted.
  const dir = await mkdtemp(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'backup-action-redis-'));
  try {
    const file = path.join(dir, 'dump.rdb');
    const summary = await phases
      .time(DOWNLOAD_PHASE, () =>
        readObject(
          ctx.store,
          manifest.object,
          manifest,
          keys,
          (archive) => save(archive, file),
          ctx.signal,
        ),
      )
      .catch((error: unknown) => {
        const needed = ` for the snapshot (${formatBytes(manifest.object.size)} as stored, more once decompressed); point TMPDIR (or RUNNER_TEMP) at a larger disk`;
        throw diskFullError(error, dir, needed) ?? error;
      });
    const mismatch = countsMismatch(manifest.rdb, summary);
    if (mismatch) throw new Error(mismatch);
    return await work({ dir, file, summary });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function save(archive: NodeJS.ReadableStream, file: string): Promise<RdbSummary> {
  const reader = new RdbReader();
  await pipeline(archive, readWhilePassing(reader), createWriteStream(file, { mode: 0o600 }));
  return storedSummary(reader);
}
