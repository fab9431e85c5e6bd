/** The `backup` mode: dump the source, compress, encrypt, upload while hashing, then publish the manifest. */
import { errorMessage, InputError } from '../core/errors.js';
import { newBackupId } from '../core/ids.js';
import { githubRun } from '../core/run-info.js';
import type { BackupSettings } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { TOOL } from '../core/version.js';
import { kindFor } from '../kinds/index.js';
import { backupReport } from '../kinds/report.js';
import { publish, type Published } from '../pipeline/publish.js';
import {
  copyFailures,
  copyToStores,
  openDestinations,
  type Destination,
  type StoreCopied,
} from '../copy/index.js';
import { copiesDetails, storesTable } from '../copy/report.js';
import { manifestObjects, serializeManifest, type AnyManifest } from '../core/manifest.js';
import { ModeFailure } from '../core/types.js';
import type { SetEntry } from '../storage/catalog.js';
import { withSignature } from '../storage/signature.js';
import { fingerprintOf } from '../core/ssh-keys.js';

export async function backup(settings: BackupSettings, ctx: RunContext): Promise<ModeResult> {
  // Opened first: a destination that cannot be opened (its keys missing) fails before the dump.
  const destinations = await openDestinations(ctx, settings.copyTo);
  const started = ctx.now();
  await ctx.store.checkWritable(`${settings.name}/`).catch((error: unknown) => {
    throw new InputError(
      'storage',
      `${ctx.store.description} cannot be written (${errorMessage(error)})`,
    );
  });
  const id = newBackupId(started);
  const kind = kindFor(settings);
  const plan = await kind.backup.plan(settings, ctx, id);
  const atOnce = plan.jobs > 1 ? `, ${plan.jobs} at a time` : '';
  ctx.log.info(
    `Backing up ${plan.what} to ${ctx.store.description} as ${settings.name}/${id}${atOnce}`,
  );
  const published = await publish({
    ...ctx,
    name: settings.name,
    id,
    createdAt: started,
    compression: settings.compression,
    compressionLevel: settings.compressionLevel,
    encryption: settings.encryptionKeys,
    tool: { ...TOOL },
    run: githubRun(ctx.env),
    parts: plan.parts,
    jobs: plan.jobs,
    fields: plan.fields,
    signingKey: settings.signingKey,
  });
  const seconds = (ctx.now().getTime() - started.getTime()) / 1000;
  const { manifest } = published;
  const report = withSignature(
    backupReport(published, kind.holds(manifest), kind.backup.rows(manifest), seconds),
    settings.signingKey && fingerprintOf(settings.signingKey.publicBlob),
  );
  if (destinations.length === 0) return report;
  return withCopies(report, await copyPublished(published, destinations, settings, ctx), settings);
}

/** The backup just published, copied to each destination. */
function copyPublished(
  published: Published<AnyManifest>,
  destinations: Destination[],
  settings: BackupSettings,
  ctx: RunContext,
): Promise<StoreCopied[]> {
  const { manifest } = published;
  const entry: SetEntry = {
    id: manifest.id,
    manifest: { key: published.manifestKey, size: Buffer.byteLength(serializeManifest(manifest)) },
    objects: manifestObjects(manifest).map(({ key, size }) => ({ key, size })),
    ...(published.signature ? { signature: published.signature } : {}),
  };
  ctx.log.info(
    `Copying ${manifest.name}/${manifest.id} to ${destinations.map((d) => d.label).join(', ')}`,
  );
  const options = { name: settings.name, check: settings.copyCheck, retry: settings.retry };
  return copyToStores([{ entry, manifest }], destinations, options, ctx);
}

/**
 * The report with each copy's row. A failed copy fails the run, unless copies are best-effort
 * (a warning then); either way the backup stays published, and the run is not tried again whole.
 */
function withCopies(
  report: ModeResult,
  copies: StoreCopied[],
  settings: BackupSettings,
): ModeResult {
  const failures = copyFailures(copies);
  const made = copies.length - failures.lines.length;
  const result: ModeResult = {
    ...report,
    headline: `${report.headline}; copied to ${made} of ${copies.length} store(s)`,
    facts: [...report.facts, ['Copies', `${made} of ${copies.length} store(s)`]],
    tables: [...report.tables, storesTable(copies)],
    details: { ...report.details, stores: copiesDetails(copies) },
  };
  if (failures.lines.length === 0 || settings.copyBestEffort) return result;
  const line = `the backup ${String(report.outputs['backup-id'])} is published, but a copy failed: ${failures.lines.join('; ')}`;
  throw new ModeFailure(line, result, failures.cause, true);
}
