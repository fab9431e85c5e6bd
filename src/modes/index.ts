/** Dispatches settings to their mode. */
import type { NotifyModeSettings, Settings } from '../core/settings.js';
import { backup } from './backup.js';
import { restore } from './restore.js';
import { restoreTest } from './restore-test.js';
import { retentionPrune } from './retention-prune.js';
import { verifyLatest } from './verify-latest.js';
import type { ModeResult, RunContext } from '../core/types.js';

/** Every mode that works on a store (notify, which needs none, runs at the edge). */
export async function runMode(
  settings: Exclude<Settings, NotifyModeSettings>,
  ctx: RunContext,
): Promise<ModeResult> {
  switch (settings.mode) {
    case 'backup':
      return backup(settings, ctx);
    case 'verify-latest':
      return verifyLatest(settings, ctx);
    case 'restore-test':
      return restoreTest(settings, ctx);
    case 'restore':
      return restore(settings, ctx);
    case 'retention-prune':
      return retentionPrune(settings, ctx);
  }
}
