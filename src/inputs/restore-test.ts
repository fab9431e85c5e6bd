/** The inputs of `restore-test`: the scratch server, the backup and the checks. */
import type { RestoreTestSettings } from '../core/settings.js';
import { readChecks } from './checks.js';
import { addSecrets, readBackupId, readCommon, readJobs, readRestoreGlobals } from './common.js';
import { decryptionSecrets, readDecryption } from './crypto.js';
import { readDatabaseUrl } from './database.js';
import type { Inputs } from './reader.js';
import { readSigningPublicKeys } from './signing.js';

export async function readRestoreTest(inputs: Inputs, cwd: string): Promise<RestoreTestSettings> {
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
    decryption,
    ...readSigningPublicKeys(inputs),
  };
  addSecrets(settings, ...(given?.secrets ?? []), ...decryptionSecrets(decryption));
  return settings;
}
