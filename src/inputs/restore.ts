/** The inputs of `restore`: the target (a database or a path) and the confirmation naming it. */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { RestoreInto, RestoreSettings } from '../core/settings.js';
import {
  addSecrets,
  nameFromDatabase,
  readBackupId,
  readCommon,
  readJobs,
  readChosenDatabases,
  readRestoreGlobals,
} from './common.js';
import { decryptionSecrets, readDecryption } from './crypto.js';
import { readDatabaseUrl, type DatabaseInput } from './database.js';
import { readRedisUrl, redisAddress, type RedisInput } from './redis-url.js';
import type { InputName } from './names.js';
import type { Inputs } from './reader.js';
import { readSigningPublicKeys } from './signing.js';

type Target =
  | { into: 'database'; given: DatabaseInput }
  | { into: 'path'; targetPath: string }
  | { into: 'redis'; given: RedisInput };

export async function readRestore(inputs: Inputs, cwd: string): Promise<RestoreSettings> {
  const target = readTarget(inputs, cwd);
  const database = target.into === 'database' ? target.given.target : undefined;
  const common = readCommon(
    inputs,
    cwd,
    target.into === 'redis' ? 'redis' : nameFromDatabase(database?.database),
    { severalStores: true, postgres: target.into === 'database' },
  );
  const decryption = await readDecryption(inputs);
  const confirm = inputs.text('confirm');
  // A server backup's targets are known once its manifest is read: the mode checks confirm then.
  const named =
    target.into === 'path'
      ? target.targetPath
      : target.into === 'redis'
        ? redisAddress(target.given.target)
        : undefined;
  if (confirm === '') {
    const what = database
      ? `the target database's name ("${database.database}")`
      : target.into === 'redis'
        ? `the target's address ("${named}")`
        : 'the target path';
    throw new InputError('confirm', `is required; set it to ${what} to allow the restore`);
  }
  if (named !== undefined && confirm !== named) throw confirmMismatch(confirm, named);
  const base = {
    ...common,
    mode: 'restore' as const,
    backupId: readBackupId(inputs),
    confirm,
    clean: inputs.boolean('clean', false),
    decryption,
    ...readSigningPublicKeys(inputs),
  };
  const keys = decryptionSecrets(decryption);
  if (target.into === 'database') {
    const settings: RestoreSettings = {
      ...base,
      ...readDatabaseRestore(inputs),
      into: 'database',
      database: target.given.target,
    };
    addSecrets(settings, ...target.given.secrets, ...keys);
    return settings;
  }
  refuseServerChoices(inputs, TARGET_INPUTS[target.into]);
  const settings: RestoreSettings =
    target.into === 'redis'
      ? { ...base, into: 'redis', redis: target.given.target }
      : { ...base, into: 'path', targetPath: path.resolve(cwd, target.targetPath) };
  addSecrets(settings, ...(target.into === 'redis' ? target.given.secrets : []), ...keys);
  return settings;
}

/** One target: `redis-url`, `target-path`, or else `database-url`. */
function readTarget(inputs: Inputs, cwd: string): Target {
  const targetPath = inputs.optional('target-path');
  if (inputs.optional('redis-url') === undefined) {
    if (targetPath === undefined)
      return { into: 'database', given: readDatabaseUrl(inputs, 'database-url') };
    if (inputs.optional('database-url') !== undefined) {
      throw new InputError(
        'target-path',
        'and database-url are both given; give the one target to restore into',
      );
    }
    return { into: 'path', targetPath };
  }
  const other =
    targetPath === undefined ? inputs.optional('database-url') && 'database-url' : 'target-path';
  if (other) {
    throw new InputError(
      'redis-url',
      `and ${other} are both given; give the one target to restore into`,
    );
  }
  return { into: 'redis', given: readRedisUrl(inputs, 'redis-url', cwd) };
}

/** What only a restore into a database takes. */
function readDatabaseRestore(inputs: Inputs) {
  return {
    databaseSettings: inputs.boolean('restore-database-settings', true),
    jobs: readJobs(inputs),
    databases: readChosenDatabases(inputs),
    targetDatabases: readTargetDatabases(inputs),
    ...readRestoreGlobals(inputs),
  };
}

/**
 * `target-path` and `redis-url` restore backups that have no PostgreSQL databases and no roles:
 * the inputs that choose them are refused in one line saying so; pg_restore's own (jobs,
 * restore-database-settings) are left unread, so that given they are refused as unused.
 */
function refuseServerChoices(inputs: Inputs, target: InputName): void {
  const set = SERVER_CHOICES.find((name) => inputs.given(name));
  if (set) {
    throw new InputError(
      set,
      `is for a server backup restored into database-url; ${target} takes a backup that has none`,
    );
  }
  for (const name of ['jobs', 'restore-database-settings'] as const)
    inputs.notUsed(name, `${target} runs no pg_restore`);
}

const SERVER_CHOICES: readonly InputName[] = ['databases', 'target-database', 'restore-globals'];

/** The input that names each kind of restore target. */
export const TARGET_INPUTS: Record<RestoreInto, InputName> = {
  database: 'database-url',
  path: 'target-path',
  redis: 'redis-url',
};

/** The one line a confirm that does not name the target fails with. */
export function confirmMismatch(confirm: string, expected: string): InputError {
  return new InputError(
    'confirm',
    `"${confirm}" does not match the target; set confirm: ${expected} to restore into it`,
  );
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
