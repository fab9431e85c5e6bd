/** The inputs of `backup`: the source (a database or files), compression and encryption. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LINE_BREAK_WHY, lineBreakNames } from '../core/database-names.js';
import { InputError } from '../core/errors.js';
import type {
  BackupSettings,
  CommonSettings,
  DatabaseTarget,
  FilesSelection,
  ServerSelection,
} from '../core/settings.js';
import { refusedPgDumpArgument } from '../postgres/dump-args.js';
import {
  addSecrets,
  nameFromDatabase,
  readCommon,
  readDatabases,
  readNamePatterns,
} from './common.js';
import { readCopyCheck, readCopyTo } from './copy.js';
import { encryptionSecrets, readEncryption } from './crypto.js';
import { readDatabaseUrl } from './database.js';
import { readRedisUrl } from './redis-url.js';
import { isGiven, type InputName } from './names.js';
import type { Inputs } from './reader.js';
import { readSigningKey } from './signing.js';

type Source = 'postgres' | 'files' | 'redis';

export async function readBackup(inputs: Inputs, cwd: string): Promise<BackupSettings> {
  const source = inputs.oneOf<Source>('source', ['postgres', 'files', 'redis'], 'postgres');
  refuseOtherSources(inputs, source);
  if (source !== 'files' && inputs.lines('paths').length > 0) {
    throw new InputError(
      'paths',
      `is for source: files; set source: files to back up directories, or remove paths (source is ${source})`,
    );
  }
  const given = source === 'postgres' ? readDatabaseUrl(inputs, 'database-url') : undefined;
  const redis = source === 'redis' ? readRedisUrl(inputs, 'redis-url', cwd) : undefined;
  const defaultName = given ? nameFromDatabase(given.target.database) : source;
  const common = readCommon(inputs, cwd, defaultName, { postgres: source === 'postgres' });
  const compression = inputs.oneOf('compression', ['zstd', 'gzip', 'none'] as const, 'zstd');
  const maxLevel = compression === 'zstd' ? 19 : 9;
  if (compression === 'none') inputs.notUsed('compression-level', 'compression: none');
  const compressionLevel =
    compression === 'none'
      ? undefined
      : inputs.integer('compression-level', { min: 1, max: maxLevel });
  const encryptionKeys = await readEncryption(inputs, cwd);
  if (!encryptionKeys) refuseDecryptionOnly(inputs);
  const base = {
    ...common,
    mode: 'backup' as const,
    compression,
    compressionLevel,
    encryptionKeys,
    signingKey: readSigningKey(inputs),
    ...(await readBackupCopies(inputs, cwd, common)),
  };
  if (redis) {
    readServer(inputs, source);
    const settings: BackupSettings = { ...base, kind: 'redis', redis: redis.target };
    addSecrets(settings, ...redis.secrets, ...encryptionSecrets(encryptionKeys));
    return settings;
  }
  const from: { database: DatabaseTarget } | { files: FilesSelection } = given
    ? { database: given.target }
    : { files: await readFiles(inputs, cwd) };
  // Read only for a PostgreSQL source: given with another, they are named as unused.
  const dump = () => ({
    pgDumpArgs: readPgDumpArgs(inputs),
    rowCounts: inputs.oneOf('row-counts', ['exact', 'estimate', 'off'] as const, 'exact'),
  });
  const server = readServer(inputs, source);
  const settings: BackupSettings =
    'files' in from
      ? { ...base, kind: 'files', files: from.files }
      : server
        ? { ...base, ...dump(), kind: 'server', database: from.database, server }
        : { ...base, ...dump(), kind: 'database', database: from.database };
  if (settings.kind === 'database') refuseLineBreak(settings.database.database);
  addSecrets(settings, ...(given?.secrets ?? []), ...encryptionSecrets(encryptionKeys));
  return settings;
}

/** A database pg_dump dumps but that no restore could recreate: refused before any work. */
function refuseLineBreak(database: string): void {
  const found = lineBreakNames([database]);
  if (found === undefined) return;
  throw new InputError(
    'database-url',
    `names the database ${found}, which cannot be backed up: ${LINE_BREAK_WHY}, so no restore could recreate it; rename it to back it up`,
  );
}

/** `copy-to` and how its copies are made: the backup just published, copied to each store. */
async function readBackupCopies(inputs: Inputs, cwd: string, common: CommonSettings) {
  if (inputs.text('copy-last') !== '') {
    throw new InputError(
      'copy-last',
      'is for mode: copy; a backup copies the backup it made (run copy to fill in older ones)',
    );
  }
  const copyTo = await readCopyTo(inputs, cwd, common);
  // How copies are made means nothing without any: read only with copy-to, else named as unused.
  if (copyTo.length === 0) return { copyTo, copyBestEffort: false, copyCheck: 'listing' as const };
  return {
    copyTo,
    copyBestEffort: inputs.boolean('copy-best-effort', false),
    copyCheck: readCopyCheck(inputs),
  };
}

/** What each key that only decrypts would have to be given as, to encrypt instead. */
const TO_ENCRYPT: [InputName, string][] = [
  ['age-identity', 'age-recipients (its public key, age1…) or encryption-passphrase'],
  ['gpg-private-key', 'gpg-recipients (its public key)'],
  ['gpg-passphrase', 'gpg-recipients, or encryption-passphrase for age'],
];

/**
 * A backup given only a key that decrypts would be written in plaintext while its owner believes
 * it encrypted: refused. Read only when nothing encrypts, so beside a real key they are named as
 * unused.
 */
function refuseDecryptionOnly(inputs: Inputs): void {
  const given = TO_ENCRYPT.find(([name]) => inputs.text(name) !== '');
  if (given) {
    const [name, instead] = given;
    throw new InputError(name, `decrypts; to encrypt backups give ${instead}`);
  }
}

/** The inputs of the other sources, by the source they belong to. */
const OTHER_SOURCES: [InputName, Source][] = [
  ['database-url', 'postgres'],
  ['pg-dump-args', 'postgres'],
  ['pg-bin-dir', 'postgres'],
  ['postgres-client', 'postgres'],
  ['pg-client-mirror', 'postgres'],
  ['paths', 'files'],
  ['exclude', 'files'],
  ['exclude-from', 'files'],
];

/**
 * An input of another source means the source is not the one meant (`redis-url` without
 * `source: redis`) or the input would do nothing: either way it is named rather than ignored.
 * Only Redis's side is checked: files and PostgreSQL backups have long shared a step's inputs.
 */
function refuseOtherSources(inputs: Inputs, source: Source): void {
  if (source !== 'redis') {
    if (inputs.optional('redis-url') === undefined) return;
    throw new InputError(
      'redis-url',
      `is for source: redis; set source: redis to back up a Redis (the source is ${source})`,
    );
  }
  const other = OTHER_SOURCES.find(([name]) => isGiven(name, inputs.text(name)));
  if (other) {
    throw new InputError(other[0], `is for source: ${other[1]}; remove it with source: redis`);
  }
}

/**
 * `databases` and what goes with it. Without it a run backs up one database as before, so
 * `globals: true` alone (roles but no databases) is refused rather than silently ignored.
 */
function readServer(inputs: Inputs, source: Source): ServerSelection | undefined {
  const listed = readDatabases(inputs);
  const globals = inputs.oneOf('globals', ['auto', 'true', 'false'] as const, 'auto');
  if (listed.length === 0) {
    if (globals === 'true') {
      throw new InputError(
        'globals',
        'true needs databases (all, or names one per line): roles are backed up with a whole server',
      );
    }
    if (inputs.lines('exclude-databases').length > 0) {
      throw new InputError(
        'exclude-databases',
        'needs databases (all, or names and globs one per line) to leave databases out of',
      );
    }
    return undefined;
  }
  if (source !== 'postgres') {
    throw new InputError('databases', `is for source: postgres; remove it with source: ${source}`);
  }
  return {
    databases: listed,
    exclude: readNamePatterns(inputs, 'exclude-databases'),
    globals,
    jobs: inputs.integer('jobs', { min: 1, max: 16 }) ?? 1,
  };
}

/** pg_dump's output format and destination are the product's; everything else is the user's. */
function readPgDumpArgs(inputs: Inputs): string[] {
  const args = inputs.lines('pg-dump-args', { comments: false });
  const refused = refusedPgDumpArgument(args);
  if (refused !== undefined) {
    throw new InputError(
      'pg-dump-args',
      `${refused} (custom format to its own stream, database from database-url); give other pg_dump options, one per line`,
    );
  }
  return args;
}

async function readFiles(inputs: Inputs, cwd: string): Promise<FilesSelection> {
  const paths = inputs.lines('paths');
  if (paths.length === 0)
    throw new InputError('paths', 'is required with source: files; give one path or glob per line');
  return {
    paths,
    exclude: inputs.lines('exclude'),
    excludeFrom: await readExcludeFrom(inputs, cwd),
    cwd,
    skipUnreadable: inputs.boolean('skip-unreadable', false),
  };
}

/** The exclude file, proven readable before anything is stored (it is read again by the walk). */
async function readExcludeFrom(inputs: Inputs, cwd: string): Promise<string | undefined> {
  const given = inputs.optional('exclude-from');
  if (given === undefined) return undefined;
  const file = path.resolve(cwd, given);
  await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      'exclude-from',
      `${file} cannot be read (${error.code ?? error.message}); give a file of exclude patterns, one per line`,
    );
  });
  return file;
}
