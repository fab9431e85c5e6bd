/**
 * What a kind takes from the restore inputs, checked for every kind alike before the kind is asked
 * anything: the target (`database-url`, `target-path`, `redis-url`) and the forms of `checks`.
 */
import { InputError } from '../core/errors.js';
import type { AnyManifest } from '../core/manifest.js';
import type { Logger } from '../core/types.js';
import {
  KIND_TEST_INPUTS,
  type RestoreSettings,
  type RestoreTestSettings,
} from '../core/settings.js';
import { TARGET_INPUTS } from '../inputs/restore.js';
import type { AnyKind } from './index.js';

/** A target of another kind is refused, naming the input this backup needs instead. */
export function refuseOtherTarget(
  kind: AnyKind,
  manifest: AnyManifest,
  settings: RestoreSettings,
): void {
  if (settings.into === kind.restoreInto) return;
  throw new InputError(
    TARGET_INPUTS[settings.into],
    `backup ${manifest.id} holds ${kind.holds(manifest)}; give ${TARGET_INPUTS[kind.restoreInto]} to restore it`,
  );
}

/** The first input given that the kind's restore-test does not use, refused naming what it holds. */
export function refuseOtherTestInputs(
  kind: AnyKind,
  manifest: AnyManifest,
  settings: RestoreTestSettings,
  log: Logger,
): void {
  const others = settings.kindInputs.filter((name) => !kind.testInputs.includes(name));
  const takes = kind.testInputs.length > 0 ? kind.testInputs.join(', ') : 'none of them';
  const notUsed = `is not used by restore-test of backup ${manifest.id}, which holds ${kind.holds(manifest)} (of ${KIND_TEST_INPUTS.join(', ')} it takes ${takes})`;
  const refused = others.find((name) => !settings.sharedKindInputs.includes(name));
  if (refused !== undefined) throw new InputError(refused, `${notUsed}; remove it`);
  for (const name of others)
    log.warning(`input "${name}" from the environment ${notUsed}; ignored`);
}

/** The first check the kind cannot run, refused in the kind's own words. */
export function refuseOtherChecks(kind: AnyKind, settings: RestoreTestSettings): void {
  const other = settings.checks.find((check) => !kind.checks.forms.includes(check.kind));
  if (other) throw new InputError('checks', kind.checks.refusal(other));
}
