/** The inputs of `backup`: the source (a database or files), compression and encryption. */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type {
  BackupSettings,
  CommonSettings,
  DatabaseTarget,
  FilesSelection,
  ServerSelection,
} from '../core/settings.js';
import { refusedPgDumpArgument } from '../postgres/dump-args.js';
import { addSecrets, nameFromDatabase, readCommon, readNamePatterns } from './common.js';
import { readCopyCheck, readCopyTo } from './copy.js';
import { encryptionSecrets, readEncryption } from './crypto.js';
import { readDatabaseUrl } from './database.js';
import { readRedisUrl } from './redis-url.js';
import type { Inputs } from './reader.js';

type Source = 'postgres' | 'files' | 'redis';

export async function readBackup(inputs: Inputs, cwd: string): Promise<BackupSettings> {
  const source = inputs.oneOf<Source>('source', ['postgres', 'files', 'redis'], 'postgres');
  const given = source === 'postgres' ? readDatabaseUrl(inputs, 'database-url') : undefined;
  const redis = source === 'redis' ? readRedisUrl(inputs, 'redis-url', cwd) : undefined;
  const defaultName = given ? nameFromDatabase(given.target.database) : source;
  const common = readCommon(inputs, cwd, defaultName);
  const compression = inputs.oneOf('compression', ['zstd', 'gzip', 'none'] as const, 'zstd');
  const maxLevel = compression === 'zstd' ? 19 : 9;
  const compressionLevel =
    compression === 'none'
      ? undefined
      : inputs.integer('compression-level', { min: 1, max: maxLevel });
  const encryptionKeys = await readEncryption(inputs, cwd);
  const base = {
    ...common,
    mode: 'backup' as const,
    compression,
    compressionLevel,
    encryptionKeys,
    ...readBackupCopies(inputs, cwd, common),
  };
  // pg-dump-args and row-counts are checked whatever the source: a mistake in them is named.
  const pgDumpArgs = readPgDumpArgs(inputs);
  if (redis) {
    readServer(inputs, source);
    const settings: BackupSettings = { ...base, kind: 'redis', redis: redis.target };
    addSecrets(settings, ...redis.secrets, ...encryptionSecrets(encryptionKeys));
    return settings;
  }
  const from: { database: DatabaseTarget } | { files: FilesSelection } = given
    ? { database: given.target }
    : { files: readFiles(inputs, cwd) };
  const dump = {
    pgDumpArgs,
    rowCounts: inputs.oneOf('row-counts', ['exact', 'estimate', 'off'] as const, 'exact'),
  };
  const server = readServer(inputs, source);
  const settings: BackupSettings =
    'files' in from
      ? { ...base, kind: 'files', files: from.files }
      : server
        ? { ...base, ...dump, kind: 'server', database: from.database, server }
        : { ...base, ...dump, kind: 'database', database: from.database };
  addSecrets(settings, ...(given?.secrets ?? []), ...encryptionSecrets(encryptionKeys));
  return settings;
}

/** `copy-to` and how its copies are made: the backup just published, copied to each store. */
function readBackupCopies(inputs: Inputs, cwd: string, common: CommonSettings) {
  if (inputs.text('copy-last') !== '') {
    throw new InputError(
      'copy-last',
      'is for mode: copy; a backup copies the backup it made (run copy to fill in older ones)',
    );
  }
  return {
    copyTo: readCopyTo(inputs, cwd, common),
    copyBestEffort: inputs.boolean('copy-best-effort', false),
    copyCheck: readCopyCheck(inputs),
  };
}

/**
 * `databases` and what goes with it. Without it a run backs up one database as before, so
 * `globals: true` alone (roles but no databases) is refused rather than silently ignored.
 */
function readServer(inputs: Inputs, source: Source): ServerSelection | undefined {
  const listed = readNamePatterns(inputs, 'databases');
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
  if (listed.includes('all') && listed.length > 1) {
    throw new InputError(
      'databases',
      'all stands alone; give all, or names and globs one per line (exclude-databases leaves some out)',
    );
  }
  return {
    databases: listed[0] === 'all' ? 'all' : listed,
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

function readFiles(inputs: Inputs, cwd: string): FilesSelection {
  const paths = inputs.lines('paths');
  if (paths.length === 0)
    throw new InputError('paths', 'is required with source: files; give one path or glob per line');
  const excludeFrom = inputs.optional('exclude-from');
  return {
    paths,
    exclude: inputs.lines('exclude'),
    excludeFrom: excludeFrom === undefined ? undefined : path.resolve(cwd, excludeFrom),
    cwd,
    skipUnreadable: inputs.boolean('skip-unreadable', false),
  };
}
