/** The inputs of `notify`: the result to report and its channels. */
import type { NotifyModeSettings } from '../core/settings.js';
import { notifySecrets, readName, readNotify } from './common.js';
import type { Inputs } from './reader.js';

/** The notify mode needs no storage: only the set's name, the channels and the result. */
export function readNotifyMode(inputs: Inputs, cwd?: string): NotifyModeSettings {
  const notify = readNotify(inputs, cwd);
  return {
    mode: 'notify',
    name: readName(inputs, undefined),
    notify,
    result: inputs.oneOf(
      'result',
      ['success', 'healed', 'failure', 'cancelled'] as const,
      'failure',
    ),
    message: inputs.optional('message'),
    secrets: notifySecrets(notify),
  };
}
