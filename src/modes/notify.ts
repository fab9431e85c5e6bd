/**
 * The `notify` mode, for a workflow's last job: reports a result decided outside the action (a
 * service container that never started, a cancelled run) through the same channels. A failure or
 * cancellation fails this step too, so the run's own status stays truthful. `healed` (a failure a
 * fresh backup mended) succeeds, and is told as a notice wherever a failure would be.
 */
import type { NotifyModeSettings } from '../core/settings.js';
import { ModeFailure, type ModeResult } from '../core/types.js';

export function notifyMode(settings: NotifyModeSettings): ModeResult {
  const what = settings.message ?? `the workflow's jobs ended with: ${settings.result}`;
  const healed = settings.result === 'healed';
  const result: ModeResult = {
    headline: settings.result === 'success' ? what : `${settings.name}: ${what}`,
    // A night that needed mending ends well, but someone should hear of it, once.
    ...(healed ? { notice: true } : {}),
    outputs: {},
    facts: [
      ['Set', settings.name],
      ['Result', settings.result],
    ],
    tables: [],
    details: { result: settings.result, message: settings.message },
  };
  if (settings.result !== 'success' && !healed) throw new ModeFailure(result.headline, result);
  return result;
}
