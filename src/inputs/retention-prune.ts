/** The inputs of `retention-prune`: the keep policy, its time zone, and the dry run. */
import { InputError } from '../core/errors.js';
import type { KeepPolicy, PruneSettings } from '../core/settings.js';
import { isValidTimeZone, policyHasRule } from '../retention/policy.js';
import { readCommon } from './common.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';

export function readPrune(inputs: Inputs, cwd: string): PruneSettings {
  const retention = readRetention(inputs);
  if (!retention) {
    throw new InputError(
      'keep-last',
      'no keep rule given; set at least one of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly or keep-within, so that prune never deletes everything',
    );
  }
  return {
    ...readCommon(inputs, cwd, undefined),
    mode: 'retention-prune',
    ...retention,
    dryRun: inputs.boolean('dry-run', false),
    orphanGraceMs: inputs.duration('orphan-grace', '24h'),
  };
}

/** The keep-* inputs and their time zone; undefined when no keep rule is given. */
export function readRetention(
  inputs: Inputs,
): { policy: KeepPolicy; timeZone: string } | undefined {
  const count = (name: InputName) => inputs.integer(name, { min: 0, max: 100_000 });
  const policy = {
    last: count('keep-last'),
    hourly: count('keep-hourly'),
    daily: count('keep-daily'),
    weekly: count('keep-weekly'),
    monthly: count('keep-monthly'),
    yearly: count('keep-yearly'),
    withinMs:
      inputs.optional('keep-within') === undefined ? undefined : inputs.duration('keep-within'),
  };
  if (!policyHasRule(policy)) return undefined;
  const timeZone = inputs.text('timezone') || 'UTC';
  if (!isValidTimeZone(timeZone)) {
    throw new InputError(
      'timezone',
      `"${timeZone}" is not accepted; use an IANA name such as UTC or Europe/Berlin`,
    );
  }
  return { policy, timeZone };
}
