/**
 * The `restore-test` mode: proves a backup restores. Its kind checks the inputs before anything is
 * downloaded and the scratch server while the download begins, then restores each part somewhere
 * it is thrown away afterwards (a scratch database, a temporary folder) and compares it with the
 * manifest; the recovery time is measured.
 */
import type { RestoreTestSettings } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { refuseOtherChecks, refuseOtherTestInputs } from '../kinds/accepts.js';
import { restoreFromStores } from '../kinds/any-store.js';

export async function restoreTest(
  settings: RestoreTestSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  return restoreFromStores(settings, ctx, (kind, manifest, from, phases) => {
    refuseOtherTestInputs(kind, manifest, settings, ctx.log);
    refuseOtherChecks(kind, settings);
    return kind.restoreTest(manifest, settings, from, phases);
  });
}
