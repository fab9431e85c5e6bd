/**
 * Which databases of a server backup a run restores, into which database each, and the checks of
 * each: all decided from the manifest and the inputs before any work, each mistake one line naming
 * its input. Pure.
 */
import {
  LINE_BREAK_BY_HAND,
  LINE_BREAK_WHY,
  lineBreakNames,
  ownTemplateRefusal,
  quotedName,
} from '../core/database-names.js';
import { InputError } from '../core/errors.js';
import type { DatabaseRecord, ServerManifest } from '../core/manifest.js';
import { selectNames } from '../core/name-glob.js';
import type { DatabaseRestoreSettings, ServerCheck } from '../core/settings.js';

export interface DatabasePair {
  record: DatabaseRecord;
  /** The database it is restored into. */
  target: string;
}

const quoted = (names: readonly string[]) => names.map(quotedName).join(', ');

/** The databases of the backup that `databases` chooses (empty: all); a pattern matching none is refused. */
export function chosenDatabases(
  manifest: ServerManifest,
  databases: readonly string[],
): DatabaseRecord[] {
  const names = manifest.databases.map((database) => database.name);
  const { selected, unmatched } = selectNames(names, databases.length > 0 ? databases : 'all');
  if (unmatched.length > 0) {
    throw new InputError(
      'databases',
      `${quoted(unmatched)} match${unmatched.length === 1 ? 'es' : ''} no database of backup ${manifest.id}, which holds ${quoted(names)}`,
    );
  }
  const unrestorable = lineBreakNames(selected);
  if (unrestorable !== undefined) {
    throw new InputError(
      'databases',
      `${unrestorable} of backup ${manifest.id} cannot be restored: ${LINE_BREAK_WHY}; choose the others with databases (? matches the line break in a pattern's place); ${LINE_BREAK_BY_HAND}`,
    );
  }
  return manifest.databases.filter((record) => selected.includes(record.name));
}

/** The databases `restore` restores and their targets; `confirm` must name exactly those targets. */
export function restoreTargets(
  manifest: ServerManifest,
  settings: Pick<DatabaseRestoreSettings, 'databases' | 'targetDatabases' | 'confirm'>,
): DatabasePair[] {
  const records = chosenDatabases(manifest, settings.databases);
  const mapping = mappingFor(
    records.map((record) => record.name),
    settings.targetDatabases,
  );
  const pairs = records.map((record) => ({ record, target: mapping[record.name] ?? record.name }));
  for (const { target } of pairs) {
    const refusal = ownTemplateRefusal(target);
    if (refusal !== undefined) throw new InputError('target-database', refusal);
  }
  refuseSharedTargets(pairs);
  checkConfirm(settings.confirm, pairs);
  return pairs;
}

function mappingFor(selected: string[], given: Record<string, string>): Record<string, string> {
  const bare = given[''];
  if (bare !== undefined) {
    if (selected.length !== 1 || !selected[0]) {
      throw new InputError(
        'target-database',
        `one name maps one database, but ${selected.length} are restored (${quoted(selected)}); give source=target lines`,
      );
    }
    return { [selected[0]]: bare };
  }
  const strangers = Object.keys(given).filter((name) => !selected.includes(name));
  if (strangers.length > 0) {
    throw new InputError(
      'target-database',
      `${quoted(strangers)} ${strangers.length === 1 ? 'is' : 'are'} not among the databases restored (${quoted(selected)})`,
    );
  }
  return given;
}

function refuseSharedTargets(pairs: DatabasePair[]): void {
  const seen = new Map<string, string>();
  for (const { record, target } of pairs) {
    const other = seen.get(target);
    if (other !== undefined) {
      throw new InputError(
        'target-database',
        `${quoted([other, record.name])} would both be restored into ${quoted([target])}; give each its own target`,
      );
    }
    seen.set(target, record.name);
  }
}

/**
 * Every target, in any order, and nothing else: one per line, or, since a workflow_dispatch box
 * holds one line, separated by commas.
 */
function checkConfirm(confirm: string, pairs: DatabasePair[]): void {
  const targets = pairs.map((pair) => pair.target);
  const names = (separator: RegExp) =>
    new Set(
      confirm
        .split(separator)
        .map((name) => name.trim())
        .filter(Boolean),
    );
  const namesAll = (given: Set<string>) =>
    given.size === targets.length && targets.every((target) => given.has(target));
  if (!namesAll(names(/\r?\n/)) && !namesAll(names(/,/))) {
    throw new InputError(
      'confirm',
      `must name every target database (one per line, or separated by commas) and no other: ${targets.join(', ')}`,
    );
  }
}

/**
 * The checks of each database tested (every one of the backup, or those `databases` chooses). A
 * check names its database; one that does not is for the only database tested, and a mistake
 * where more are.
 */
export function checksByDatabase(
  manifest: ServerManifest,
  checks: readonly ServerCheck[],
  tested: readonly DatabaseRecord[] = manifest.databases,
): Map<string, ServerCheck[]> {
  const names = tested.map((database) => database.name);
  const out = new Map<string, ServerCheck[]>(names.map((name) => [name, []]));
  for (const check of checks) {
    const database = check.database ?? (names.length === 1 ? names[0] : undefined);
    if (database === undefined) {
      throw new InputError(
        'checks',
        `"${check.text}" names no database, and ${names.length === manifest.databases.length ? `backup ${manifest.id} holds` : `databases chooses`} ${names.length}; write it as "database: check" (one of ${quoted(names)})`,
      );
    }
    const list = out.get(database);
    if (!list) {
      throw new InputError(
        'checks',
        `"${check.text}" names the database ${quotedName(database)}, ${notTested(manifest, database, names)}`,
      );
    }
    list.push(check);
  }
  return out;
}

function notTested(manifest: ServerManifest, database: string, tested: string[]): string {
  const held = manifest.databases.map((record) => record.name);
  return held.includes(database)
    ? `which databases leaves out (it chooses ${quoted(tested)})`
    : `which backup ${manifest.id} does not hold (it holds ${quoted(held)})`;
}

/** The inputs that only a server backup takes, refused in one line for a backup of one database. */
export function refuseServerInputs(
  settings: Partial<Pick<DatabaseRestoreSettings, 'databases' | 'targetDatabases'>> &
    Pick<DatabaseRestoreSettings, 'restoreGlobals'>,
  checks: readonly ServerCheck[],
  database: string | undefined,
): void {
  const given: [string, boolean][] = [
    ['databases', (settings.databases?.length ?? 0) > 0],
    ['target-database', Object.keys(settings.targetDatabases ?? {}).length > 0],
    ['restore-globals', settings.restoreGlobals],
  ];
  const set = given.find(([, isSet]) => isSet);
  if (set) {
    throw new InputError(
      set[0],
      'applies to a server backup (databases); this backup is of one database',
    );
  }
  const named = checks.find((check) => check.database !== undefined && check.database !== database);
  if (named) {
    throw new InputError(
      'checks',
      `"${named.text}" names a database, but this backup is of one database${database ? ` (${database})` : ''}`,
    );
  }
}
