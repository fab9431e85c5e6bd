/** The inputs of `restore`: the target (a database or a path) and the confirmation naming it. */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { RestoreSettings } from '../core/settings.js';
import { addSecrets, nameFromDatabase, readBackupId, readCommon, readJobs } from './common.js';
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
  const expected = database?.database ?? targetPathText;
  if (confirm !== expected) {
    throw new InputError(
      'confirm',
      `"${confirm}" does not match the target; set confirm: ${expected} to restore into it`,
    );
  }
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
    databases: [],
    targetDatabases: {},
    restoreGlobals: false,
    decryption,
  };
  addSecrets(settings, ...(given?.secrets ?? []), ...decryption.identities, decryption.passphrase);
  return settings;
}
