/**
 * The `restore` mode, for manual restores through workflow_dispatch: a chosen backup into a real
 * target (a database, a server, a folder), guarded by `confirm`. Its kind checks the target before
 * anything is touched, and leaves a target it could not restore as it was wherever it can.
 */
import type { RestoreSettings } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { refuseOtherTarget } from '../kinds/accepts.js';
import { restoreFromStores } from '../kinds/any-store.js';

export async function restore(settings: RestoreSettings, ctx: RunContext): Promise<ModeResult> {
  return restoreFromStores(settings, ctx, (kind, manifest, from, phases) => {
    refuseOtherTarget(kind, manifest, settings);
    return kind.restore(manifest, settings, from, phases);
  });
}
