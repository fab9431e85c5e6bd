/** The inputs of `restore`: the target (a database or a path) and the confirmation naming it. */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { RestoreSettings } from '../core/settings.js';
import {
  addSecrets,
  nameFromDatabase,
  readBackupId,
  readCommon,
  readJobs,
  readNamePatterns,
} from './common.js';
import { readDecryption } from './crypto.js';
import { readDatabaseUrl, type DatabaseInput } from './database.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';

export async function readRestore(inputs: Inputs, cwd: string): Promise<RestoreSettings> {
  const targetPath = inputs.optional('target-path');
  const into: { given: DatabaseInput } | { targetPath: string } =
    targetPath === undefined ? { given: readDatabaseUrl(inputs, 'database-url') } : { targetPath };
  const database = 'given' in into ? into.given.target : undefined;
  const common = readCommon(inputs, cwd, nameFromDatabase(database?.database), {
    severalStores: true,
  });
  const decryption = await readDecryption(inputs);
  const confirm = inputs.text('confirm');
  if (confirm === '') {
    const what = database
      ? `the target database's name ("${database.database}")`
      : 'the target path';
    throw new InputError('confirm', `is required; set it to ${what} to allow the restore`);
  }
  // A server backup's targets are known once its manifest is read: the mode checks confirm then.
  if (targetPath !== undefined && confirm !== targetPath)
    throw confirmMismatch(confirm, targetPath);
  const base = {
    ...common,
    mode: 'restore' as const,
    backupId: readBackupId(inputs),
    confirm,
    clean: inputs.boolean('clean', false),
    decryption,
  };
  const keys = [...decryption.identities, decryption.passphrase];
  if ('given' in into) {
    const settings: RestoreSettings = {
      ...base,
      ...readDatabaseRestore(inputs),
      into: 'database',
      database: into.given.target,
    };
    addSecrets(settings, ...into.given.secrets, ...keys);
    return settings;
  }
  refuseServerChoices(inputs);
  const settings: RestoreSettings = {
    ...base,
    into: 'path',
    targetPath: path.resolve(cwd, into.targetPath),
  };
  addSecrets(settings, ...keys);
  return settings;
}

/** What only a restore into a database takes. */
function readDatabaseRestore(inputs: Inputs) {
  return {
    databaseSettings: inputs.boolean('restore-database-settings', true),
    jobs: readJobs(inputs),
    databases: readDatabases(inputs),
    targetDatabases: readTargetDatabases(inputs),
    restoreGlobals: inputs.boolean('restore-globals', false),
  };
}

/**
 * `target-path` restores a files backup, which has no databases and no roles: the inputs that
 * choose them are refused in one line rather than ignored (the others are only checked).
 */
function refuseServerChoices(inputs: Inputs): void {
  const { databases, targetDatabases, restoreGlobals } = readDatabaseRestore(inputs);
  const given: [InputName, boolean][] = [
    ['databases', databases.length > 0],
    ['target-database', Object.keys(targetDatabases).length > 0],
    ['restore-globals', restoreGlobals],
  ];
  const set = given.find(([, isSet]) => isSet);
  if (set) {
    throw new InputError(
      set[0],
      'is for a server backup restored into database-url; target-path takes a files backup, which has none',
    );
  }
}

/** The one line a confirm that does not name the target fails with. */
export function confirmMismatch(confirm: string, expected: string): InputError {
  return new InputError(
    'confirm',
    `"${confirm}" does not match the target; set confirm: ${expected} to restore into it`,
  );
}

/** `databases`: names and globs, one per line; empty or `all`: every database of the backup. */
function readDatabases(inputs: Inputs): string[] {
  const lines = readNamePatterns(inputs, 'databases');
  return lines.length === 1 && lines[0] === 'all' ? [] : lines;
}

/**
 * `target-database`: `source=target` lines, or one bare name for the one database restored
 * (kept under the key '', which no database name can be).
 */
function readTargetDatabases(inputs: Inputs): Record<string, string> {
  const lines = inputs.lines('target-database', { comments: false });
  const mapping: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf('=');
    const [from, to] = at < 0 ? ['', line] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
    if (at < 0 && lines.length > 1) {
      throw new InputError(
        'target-database',
        `"${line}" has no "="; give source=target lines, or one name when one database is restored`,
      );
    }
    if ((at >= 0 && from === '') || to === '' || Buffer.byteLength(to) > 63) {
      throw new InputError('target-database', `"${line}" is not accepted; use source=target`);
    }
    if (from in mapping) {
      throw new InputError('target-database', `${from} is mapped twice; give each database once`);
    }
    mapping[from] = to;
  }
  return mapping;
}
