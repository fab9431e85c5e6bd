/**
 * fleet.yml's `sets`: a JSON list of sets, each the inputs of one nightly chain. Checked whole
 * before any leg starts (fleet.yml's first job), so that a mistake fails the fleet once, naming
 * the set and the field, instead of per leg or after every leg ran; what comes out is the matrix
 * the legs run, each value of the one type nightly.yml takes.
 */
import { InputError } from '../core/errors.js';
import { isValidSetName } from '../core/layout.js';
import type { FleetSet } from '../core/settings.js';

type FleetValue = FleetSet[string];

/**
 * GitHub's limit on the jobs one matrix makes: "A matrix will generate a maximum of 256 jobs per
 * workflow run" (docs.github.com, workflow syntax, jobs.<job_id>.strategy.matrix).
 */
export const MAX_MATRIX_JOBS = 256;

/** The secrets nightly.yml takes, each a set may name a caller's secret for. */
export const FLEET_SECRETS = [
  'DATABASE_URL',
  'AGE_IDENTITY',
  'ENCRYPTION_PASSPHRASE',
  'GPG_PRIVATE_KEY',
  'GPG_PASSPHRASE',
  'SIGNING_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
] as const;

/** A field's value as nightly.yml takes it, or what the field accepts. */
type Read = { value: FleetValue } | { accepts: string };
type Field = (value: unknown) => Read;
const ok = (value: FleetValue): Read => ({ value });
const accepts = (what: string): Read => ({ accepts: what });

const TEXT: Field = (value) => (typeof value === 'string' ? ok(value) : accepts('a string'));

/** keep-*: nightly.yml takes text; as a number 0 would read as absent (`0 || '14'`). */
const COUNT: Field = (value) =>
  (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
  (typeof value === 'string' && /^\d{1,6}$/.test(value))
    ? ok(String(value))
    : accepts('a whole number, 0 or more');

const MINUTES: Field = (value) => {
  const minutes = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value;
  return typeof minutes === 'number' && Number.isSafeInteger(minutes) && minutes > 0
    ? ok(minutes)
    : accepts('a whole number of minutes, 1 or more');
};

const FLAG: Field = (value) => (typeof value === 'boolean' ? ok(value) : accepts('true or false'));

/** A runner label, or the JSON nightly.yml reads from text (a list of labels, a group). */
const RUNNER: Field = (value) => {
  if (typeof value === 'string' && value !== '') return ok(value);
  const labels = Array.isArray(value) && value.length > 0 && value.every(isLabel);
  const group = isPlainObject(value) && Object.keys(value).length > 0;
  return labels || group
    ? ok(JSON.stringify(value))
    : accepts('a runner label, a list of labels or a group');
};
const isLabel = (value: unknown) => typeof value === 'string' && value !== '';

/** A caller's secret's name, as GitHub allows it (letters, digits, _; no GITHUB_ prefix). */
const SECRET_NAME = /^(?!GITHUB_)[A-Z_][A-Z0-9_]*$/i;

const SECRETS: Field = (value) => {
  const what = accepts(
    `an object naming, for any of ${FLEET_SECRETS.join(', ')}, a secret of the caller`,
  );
  if (!isPlainObject(value)) return what;
  for (const [key, name] of Object.entries(value)) {
    if (!(FLEET_SECRETS as readonly string[]).includes(key)) return what;
    if (typeof name !== 'string' || !SECRET_NAME.test(name))
      return accepts(`for ${key} a secret's name (letters, digits and _, not starting GITHUB_)`);
  }
  return ok(value as Record<string, string>);
};

const FIELDS: Record<string, Field> = {
  name: TEXT,
  storage: TEXT,
  's3-endpoint': TEXT,
  'aws-region': TEXT,
  'aws-role-arn': TEXT,
  'age-recipients': TEXT,
  'gpg-recipients': TEXT,
  'signing-public-key': TEXT,
  databases: TEXT,
  'exclude-databases': TEXT,
  globals: TEXT,
  'restore-globals': FLAG,
  checks: TEXT,
  'postgres-version': TEXT,
  'keep-daily': COUNT,
  'keep-weekly': COUNT,
  'keep-monthly': COUNT,
  'runs-on': RUNNER,
  'timeout-minutes': MINUTES,
  secrets: SECRETS,
};

/** The fields a set may give (fleet.yml's legs read no others: test/unit/fleet-sets checks it). */
export const FLEET_FIELDS: readonly string[] = Object.keys(FIELDS);

const HELP =
  'use a JSON list of sets, e.g. [{"name": "shop", "storage": "s3://bucket/prefix"}, ...] (docs/history.md)';

/** The fleet's sets, each checked, or an InputError naming the first mistake. */
export function readFleetSets(text: string): FleetSet[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError('sets', `is not valid JSON; ${HELP}`);
  }
  if (!Array.isArray(value) || value.length === 0)
    throw new InputError('sets', `is not a non-empty JSON list; ${HELP}`);
  if (value.length > MAX_MATRIX_JOBS)
    throw new InputError(
      'sets',
      `holds ${value.length} sets; a GitHub matrix runs at most ${MAX_MATRIX_JOBS} jobs per workflow run: split the fleet between callers`,
    );
  const sets = value.map((item: unknown, index) => readSet(item, index + 1));
  const names = sets.map((set) => set.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice)
    throw new InputError(
      'sets',
      `names the set "${twice}" twice; each set needs a name of its own (two legs would back up one set)`,
    );
  return sets;
}

function readSet(item: unknown, position: number): FleetSet {
  if (!isPlainObject(item)) throw new InputError('sets', `item ${position} is not an object`);
  const name = item.name;
  if (typeof name !== 'string' || !isValidSetName(name))
    throw new InputError(
      'sets',
      `item ${position} has no name of one path segment of [a-z0-9._-] (at most 128 characters)`,
    );
  const set: Record<string, FleetValue> = {};
  for (const [field, raw] of Object.entries(item)) {
    const read = Object.hasOwn(FIELDS, field) ? FIELDS[field] : undefined;
    if (!read)
      throw new InputError(
        'sets',
        `set "${name}" has the field ${JSON.stringify(field.slice(0, 40))}, which a set does not take; a set takes ${Object.keys(FIELDS).join(', ')}`,
      );
    const done = read(raw);
    if ('accepts' in done)
      throw new InputError('sets', `set "${name}": ${field} must be ${done.accepts}`);
    set[field] = done.value;
  }
  if (typeof set.storage !== 'string' || set.storage.trim() === '')
    throw new InputError('sets', `set "${name}" has no storage (e.g. "s3://bucket/prefix")`);
  return set as FleetSet;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
