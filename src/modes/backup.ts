/** The `backup` mode: dump the source, compress, encrypt, upload while hashing, then publish the manifest. */
import { errorMessage, InputError } from '../core/errors.js';
import { newBackupId } from '../core/ids.js';
import { formatBytes, formatCount, formatRate, formatSeconds } from '../core/format.js';
import { publish, type Published } from '../pipeline/publish.js';
import type { ArchiveSource } from '../pipeline/source.js';
import { openFilesSource } from '../files/tar-source.js';
import { openDumpSource, planDump } from '../postgres/dump.js';
import { backupServer } from './backup-server.js';
import { githubRun } from '../core/run-info.js';
import type { BackupSettings } from '../core/settings.js';
import { TOOL } from '../core/version.js';
import type { ModeResult, RunContext } from '../core/types.js';

export async function backup(settings: BackupSettings, ctx: RunContext): Promise<ModeResult> {
  const started = ctx.now();
  await ctx.store.checkWritable(`${settings.name}/`).catch((error: unknown) => {
    throw new InputError(
      'storage',
      `${ctx.store.description} cannot be written (${errorMessage(error)})`,
    );
  });
  const id = newBackupId(started);
  if (settings.server) {
    if (!settings.database) throw new Error('database-url is required with databases');
    return backupServer(settings, settings.server, settings.database, id, started, ctx);
  }
  const source = await openSource(settings, ctx);
  ctx.log.info(
    `Backing up ${describeSource(source)} to ${ctx.store.description} as ${settings.name}/${id}`,
  );
  const published = await publish({
    store: ctx.store,
    name: settings.name,
    id,
    createdAt: started,
    source,
    compression: settings.compression,
    compressionLevel: settings.compressionLevel,
    encryption: settings.encryption,
    tool: { ...TOOL },
    run: githubRun(ctx.env),
    log: ctx.log,
    env: ctx.env,
    now: ctx.now,
    signal: ctx.signal,
  });
  return describeBackup(published, (ctx.now().getTime() - started.getTime()) / 1000);
}

async function openSource(settings: BackupSettings, ctx: RunContext): Promise<ArchiveSource> {
  if (settings.source === 'files' && settings.files) {
    const store = settings.storage.kind === 'directory' ? settings.storage.path : undefined;
    return openFilesSource({ ...settings.files, store, log: ctx.log });
  }
  if (!settings.database) throw new Error('database-url is required with source: postgres');
  const plan = await planDump(settings, settings.database, ctx);
  ctx.log.info(
    `pg_dump ${plan.program.version} (${plan.program.path}), server PostgreSQL ${plan.server.version}`,
  );
  return openDumpSource(settings, settings.database, plan);
}

function describeSource(source: ArchiveSource): string {
  const { kind, database } = source.manifestSource;
  return kind === 'postgres' ? `database ${database}` : 'files';
}

function describeBackup(published: Published, seconds: number): ModeResult {
  const { manifest, rawBytes } = published;
  const { size, sha256, key } = manifest.object;
  const counts = Object.entries(manifest.rowCounts ?? {});
  const rows = counts.reduce((sum, [, n]) => sum + n, 0);
  const facts: [string, string][] = [
    ['Set', manifest.name],
    ['Backup id', manifest.id],
    ['Object', key],
    ['Size', `${formatBytes(size)} (${formatCount(size)} bytes)`],
    ['Compression', compressionFact(manifest.compression, rawBytes, size)],
    ['Encryption', manifest.encryption],
    ['Duration', formatSeconds(seconds)],
    [
      'Throughput',
      rawBytes === undefined
        ? `${formatRate(size, seconds)} stored`
        : formatRate(rawBytes, seconds),
    ],
    ['sha256', sha256],
  ];
  if (manifest.source.kind === 'postgres') {
    facts.push([
      'Server',
      `PostgreSQL ${manifest.source.serverVersion ?? '?'}, pg_dump ${manifest.dump?.version ?? '?'}`,
    ]);
  }
  if (manifest.rowCountsMode) {
    facts.push([
      'Tables / rows',
      `${formatCount(counts.length)} / ${formatCount(rows)} (${manifest.rowCountsMode})`,
    ]);
  }
  return {
    headline: `Backed up ${manifest.name}/${manifest.id}: ${formatBytes(size)} in ${formatSeconds(seconds)}`,
    outputs: {
      'backup-id': manifest.id,
      'backup-key': key,
      'manifest-key': published.manifestKey,
      'size-bytes': size,
      sha256,
      'duration-seconds': Number(seconds.toFixed(3)),
    },
    facts,
    tables: [],
    details: { manifest, rawBytes, durationSeconds: seconds },
  };
}

/** The ratio, when the bytes before compression were counted (zstd's program reads pg_dump unseen). */
function compressionFact(compression: string, rawBytes: number | undefined, size: number): string {
  if (rawBytes === undefined || size === 0) return compression;
  return `${compression}, ${(rawBytes / size).toFixed(2)}× (${formatBytes(rawBytes)} before)`;
}
