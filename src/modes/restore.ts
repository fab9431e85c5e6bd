/**
 * The `restore` mode, for manual restores through workflow_dispatch: a chosen backup into a real
 * target (a database, a server, a folder), guarded by `confirm`. Its kind checks the target before
 * anything is touched, and leaves a target it could not restore as it was wherever it can.
 */
import type { RestoreSettings } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { refuseOtherTarget } from '../kinds/accepts.js';
import { kindOf } from '../kinds/index.js';
import { finishRun, restoreReport } from '../kinds/report.js';
import { Phases } from '../restore/phases.js';
import { findBackup } from '../storage/catalog.js';

export async function restore(settings: RestoreSettings, ctx: RunContext): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const manifest = await findBackup(ctx, settings.name, settings.backupId);
  const kind = kindOf(manifest);
  refuseOtherTarget(kind, manifest, settings);
  const run = await kind.restore(manifest, settings, ctx, phases);
  return finishRun(run, () => restoreReport(manifest, kind.holds(manifest), phases, run.rows()));
}
