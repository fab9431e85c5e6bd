/** The inputs of `restore-test`: the scratch server, the backup and the checks. */
import { KIND_TEST_INPUTS, type RestoreTestSettings } from '../core/settings.js';
import { readChecks } from './checks.js';
import {
  addSecrets,
  readBackupId,
  readChosenDatabases,
  readCommon,
  readJobs,
  readRestoreGlobals,
} from './common.js';
import { decryptionSecrets, readDecryption } from './crypto.js';
import { readDatabaseUrl } from './database.js';
import type { Inputs } from './reader.js';
import { readSigningPublicKeys } from './signing.js';

export async function readRestoreTest(inputs: Inputs, cwd: string): Promise<RestoreTestSettings> {
  // What restore does to a real target: a scratch database is always new, named by the run.
  const scratch =
    'restore-test restores into new scratch databases it names and drops (keep-database: true keeps them)';
  inputs.notUsed('clean', scratch);
  inputs.notUsed('target-database', scratch);
  const given = inputs.optional('database-url')
    ? readDatabaseUrl(inputs, 'database-url', { databaseOptional: true })
    : undefined;
  const database = given?.target;
  const common = readCommon(inputs, cwd, undefined, { severalStores: true });
  const decryption = await readDecryption(inputs);
  const settings: RestoreTestSettings = {
    ...common,
    mode: 'restore-test',
    database,
    backupId: readBackupId(inputs),
    checks: await readChecks(inputs, cwd),
    jobs: readJobs(inputs),
    keepDatabase: inputs.boolean('keep-database', false),
    ...readRestoreGlobals(inputs),
    databaseSettings: inputs.boolean('restore-database-settings', true),
    databases: readChosenDatabases(inputs),
    kindInputs: KIND_TEST_INPUTS.filter((name) => inputs.given(name)),
    sharedKindInputs: [],
    decryption,
    ...readSigningPublicKeys(inputs),
  };
  addSecrets(settings, ...(given?.secrets ?? []), ...decryptionSecrets(decryption));
  return settings;
}
