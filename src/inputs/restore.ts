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
import { readDatabaseUrl } from './database.js';
import type { Inputs } from './reader.js';

export async function readRestore(inputs: Inputs, cwd: string): Promise<RestoreSettings> {
  const targetPathText = inputs.optional('target-path');
  const given = targetPathText === undefined ? readDatabaseUrl(inputs, 'database-url') : undefined;
  const database = given?.target;
  const common = readCommon(inputs, cwd, nameFromDatabase(database?.database));
  const decryption = await readDecryption(inputs);
  const confirm = inputs.text('confirm');
  if (confirm === '') {
    const what = database
      ? `the target database's name ("${database.database}")`
      : 'the target path';
    throw new InputError('confirm', `is required; set it to ${what} to allow the restore`);
  }
  // A server backup's targets are known once its manifest is read: the mode checks confirm then.
  const expected = database?.database ?? targetPathText;
  if (targetPathText !== undefined && confirm !== expected)
    throw confirmMismatch(confirm, expected);
  const settings: RestoreSettings = {
    ...common,
    mode: 'restore',
    database,
    targetPath: targetPathText === undefined ? undefined : path.resolve(cwd, targetPathText),
    backupId: readBackupId(inputs),
    confirm,
    clean: inputs.boolean('clean', false),
    databaseSettings: inputs.boolean('restore-database-settings', true),
    jobs: readJobs(inputs),
    databases: readDatabases(inputs),
    targetDatabases: readTargetDatabases(inputs),
    restoreGlobals: inputs.boolean('restore-globals', false),
    decryption,
  };
  addSecrets(settings, ...(given?.secrets ?? []), ...decryption.identities, decryption.passphrase);
  return settings;
}

/** The one line a confirm that does not name the target fails with. */
export function confirmMismatch(confirm: string, expected: string | undefined): InputError {
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
