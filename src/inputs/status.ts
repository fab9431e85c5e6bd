/**
 * The inputs of `status`: a set, or every set of a store (no `name`), or the status reports the
 * fleet workflow's runs left (`status-reports` and `sets`), or the fleet's `sets` alone, checked
 * before its runs start; how old the newest backup may be; the
 * keep-* inputs, to say what retention will do next; and the result of the runs it follows.
 */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { StatusSettings, StatusSource } from '../core/settings.js';
import { readFleetSets } from './fleet-sets.js';
import { notifySecrets, readName, readNotify, readStorage } from './common.js';
import type { Inputs } from './reader.js';
import { readRetention } from './retention-prune.js';

export function readStatus(inputs: Inputs, cwd: string): StatusSettings {
  const notify = readNotify(inputs, cwd);
  const source = readSource(inputs, cwd);
  const result = inputs.text('result');
  return {
    mode: 'status',
    // The fleet's alerts and failure issue are the fleet's, whichever of its sets failed.
    name:
      source.kind !== 'store' ? 'fleet' : inputs.text('name') ? readName(inputs, undefined) : '',
    source,
    maxAgeMs: inputs.duration('max-age', '26h'),
    retention: readRetention(inputs),
    outcome: result
      ? {
          result: inputs.oneOf('result', ['success', 'failure', 'cancelled'] as const, 'failure'),
          message: inputs.optional('message'),
        }
      : undefined,
    notify,
    secrets: notifySecrets(notify),
  };
}

function readSource(inputs: Inputs, cwd: string): StatusSource {
  const reports = inputs.optional('status-reports');
  const sets = inputs.text('sets');
  if (reports === undefined && !sets) {
    const [store] = readStorage(inputs, cwd, false);
    return { kind: 'store', storage: store.location, s3: store.s3 };
  }
  for (const other of ['storage', 'name'] as const)
    if (inputs.text(other))
      throw new InputError(
        reports === undefined ? 'sets' : 'status-reports',
        `reads the fleet's sets, not a store: leave ${other} empty, or ${reports === undefined ? 'sets' : 'status-reports'}`,
      );
  if (reports === undefined) return { kind: 'sets', sets: readFleetSets(sets) };
  return { kind: 'reports', folder: path.resolve(cwd, reports), sets: readSets(inputs) };
}

/** The names of the fleet's sets, from the same JSON the fleet workflow takes. */
function readSets(inputs: Inputs): string[] {
  const text = inputs.text('sets');
  if (!text)
    throw new InputError(
      'sets',
      'is required with status-reports; use the fleet\'s JSON list of sets, e.g. [{"name": "shop", ...}, {"name": "crm", ...}]',
    );
  return readFleetSets(text).map((set) => set.name);
}
