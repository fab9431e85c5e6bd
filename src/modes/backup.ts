/** The `backup` mode: dump the source, compress, encrypt, upload while hashing, then publish the manifest. */
import { errorMessage, InputError } from '../core/errors.js';
import { newBackupId } from '../core/ids.js';
import { githubRun } from '../core/run-info.js';
import type { BackupSettings } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { TOOL } from '../core/version.js';
import { kindFor } from '../kinds/index.js';
import { backupReport } from '../kinds/report.js';
import { publish } from '../pipeline/publish.js';

export async function backup(settings: BackupSettings, ctx: RunContext): Promise<ModeResult> {
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
  });
  const seconds = (ctx.now().getTime() - started.getTime()) / 1000;
  const { manifest } = published;
  return backupReport(published, kind.holds(manifest), kind.backup.rows(manifest), seconds);
}
