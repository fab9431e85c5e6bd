/**
 * The `restore` mode, for manual restores through workflow_dispatch: a chosen backup into a real
 * target database. The inputs refuse it unless `confirm` names the target; it refuses a non-empty target
 * unless `clean` allows dropping and recreating its objects. The archive's every byte is checked
 * before the target is touched.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findBackup } from '../catalog.js';
import { restoreFiles } from '../files/restore-files.js';
import { formatCount, formatSeconds } from '../format.js';
import {
  downloadArchive,
  restoreProgram,
  runPgRestore,
  userTableCount,
} from '../postgres/restore.js';
import { connect, exactRowCounts } from '../postgres/server.js';
import { compareCounts, describeDifference } from '../restore/compare.js';
import { Phases } from '../restore/phases.js';
import type { DatabaseTarget, RestoreSettings } from '../settings.js';
import type { ModeResult, RunContext } from './types.js';

export async function restore(settings: RestoreSettings, ctx: RunContext): Promise<ModeResult> {
  const target = settings.database;
  if (!target) {
    const manifest = await findBackup(ctx.store, settings.name, settings.backupId);
    if (manifest.format !== 'tar')
      throw new Error(
        'target-path takes a files backup; this backup is a database dump: give database-url',
      );
    return restoreFiles(
      ctx,
      manifest,
      settings.decryption,
      settings.targetPath ?? '',
      settings.clean,
    );
  }
  const phases = new Phases(ctx.now);
  const existing = await userTableCount(target, ctx.signal);
  if (existing > 0 && !settings.clean) {
    throw new Error(
      `the target database ${target.database} is not empty (${existing} tables); set clean: true to drop and recreate its objects, or restore into an empty database`,
    );
  }
  const manifest = await findBackup(ctx.store, settings.name, settings.backupId);
  if (manifest.format !== 'pg_dump-custom') {
    throw new Error('this is a files backup: give target-path (a folder) instead of database-url');
  }
  const program = await restoreProgram(manifest, settings.pgBinDir);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'restore-'));
  let ignoredErrors = 0;
  try {
    const archive = await phases.time('download, verify, decrypt, decompress', () =>
      downloadArchive(ctx.store, manifest, settings.decryption, dir, ctx.signal),
    );
    ctx.log.info(`sha256 of ${manifest.object.key} verified; restoring into ${target.display}`);
    ({ ignoredErrors } = await phases.time('restore (pg_restore)', () =>
      runPgRestore(program, archive, target, {
        jobs: settings.jobs,
        clean: existing > 0,
        signal: ctx.signal,
      }),
    ));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const counts = await countRows(target, ctx.signal);
  if (ignoredErrors > 0) {
    ctx.log.warning(
      `pg_restore --clean reported ${ignoredErrors} benign error(s) dropping inherited partition constraints`,
    );
  }
  const differing =
    manifest.rowCountsMode === 'exact' && manifest.rowCounts
      ? compareCounts(manifest.rowCounts, counts).differing
      : [];
  if (differing.length > 0) {
    throw new Error(
      `the restored tables differ from the manifest: ${differing.slice(0, 5).map(describeDifference).join(', ')}`,
    );
  }
  const tables = Object.keys(counts).length;
  const rows = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const seconds = phases.totalSeconds();
  return {
    headline: `Restored ${manifest.name}/${manifest.id} into ${target.database}: ${tables} tables, ${formatCount(rows)} rows in ${formatSeconds(seconds)}`,
    outputs: {
      'backup-id': manifest.id,
      'restored-tables': tables,
      'restore-seconds': Number(seconds.toFixed(3)),
    },
    facts: [
      ['Set', manifest.name],
      ['Backup', `${manifest.id} (made ${manifest.createdAt})`],
      ['Target', target.display],
      [
        'Cleaned first',
        existing > 0 ? `yes (${existing} tables were there)` : 'no (the target was empty)',
      ],
      [
        'Tables / rows',
        `${formatCount(tables)} / ${formatCount(rows)}${differing.length === 0 && manifest.rowCountsMode === 'exact' ? ' (match the manifest)' : ''}`,
      ],
      ['Recovery time', formatSeconds(seconds)],
    ],
    tables: [phases.table()],
    details: { manifest, target: target.display, rowCounts: counts, restoreSeconds: seconds },
  };
}

async function countRows(
  target: DatabaseTarget,
  signal: AbortSignal,
): Promise<Record<string, number>> {
  const client = await connect(target, signal);
  try {
    return await exactRowCounts(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
