/**
 * The `restore-test` mode: proves a backup restores. Its kind checks the inputs and the scratch
 * server before anything is downloaded, then restores each part somewhere it is thrown away
 * afterwards (a scratch database, a temporary folder) and compares it with the manifest; the
 * recovery time is measured.
 */
import type { RestoreTestSettings } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { refuseOtherChecks } from '../kinds/accepts.js';
import { kindOf } from '../kinds/index.js';
import { finishRun, restoreReport } from '../kinds/report.js';
import { Phases } from '../restore/phases.js';
import { findBackup } from '../storage/catalog.js';

export async function restoreTest(
  settings: RestoreTestSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
  const kind = kindOf(manifest);
  refuseOtherChecks(kind, settings);
  const run = await kind.restoreTest(manifest, settings, ctx, phases);
  return finishRun(run, () => restoreReport(manifest, kind.holds(manifest), phases, run.rows()));
}
