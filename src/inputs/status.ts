/**
 * The inputs of `status`: a set, or every set of a store (no `name`), or the status reports the
 * fleet workflow's runs left (`status-reports` and `sets`); how old the newest backup may be; the
 * keep-* inputs, to say what retention will do next; and the result of the runs it follows.
 */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { isValidSetName } from '../core/layout.js';
import type { StatusSettings, StatusSource } from '../core/settings.js';
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
      source.kind === 'reports' ? 'fleet' : inputs.text('name') ? readName(inputs, undefined) : '',
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
  if (reports === undefined) {
    if (inputs.text('sets'))
      throw new InputError('sets', 'is read with status-reports only; give both, or neither');
    const [store] = readStorage(inputs, cwd, false);
    return { kind: 'store', storage: store.location, s3: store.s3 };
  }
  for (const other of ['storage', 'name'] as const)
    if (inputs.text(other))
      throw new InputError(
        'status-reports',
        `reads the sets' status reports, not a store: leave ${other} empty, or status-reports`,
      );
  return { kind: 'reports', folder: path.resolve(cwd, reports), sets: readSets(inputs) };
}

const SETS_HELP =
  'use the fleet\'s JSON list of sets, e.g. [{"name": "shop", ...}, {"name": "crm", ...}]';

/** The names of the fleet's sets, from the same JSON the fleet workflow takes. */
export function readSets(inputs: Inputs): string[] {
  const text = inputs.text('sets');
  if (!text) throw new InputError('sets', `is required with status-reports; ${SETS_HELP}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError('sets', `is not valid JSON; ${SETS_HELP}`);
  }
  if (!Array.isArray(value) || value.length === 0)
    throw new InputError('sets', `is not a non-empty JSON list; ${SETS_HELP}`);
  const names = value.map((item: unknown, index) => {
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !isValidSetName(name))
      throw new InputError(
        'sets',
        `item ${index + 1} has no name of one path segment of [a-z0-9._-]; ${SETS_HELP}`,
      );
    return name;
  });
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice) throw new InputError('sets', `names the set "${twice}" twice`);
  return names;
}
