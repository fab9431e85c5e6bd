/** The inputs of `backup`: the source (a database or files), compression and encryption. */
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { BackupSettings } from '../core/settings.js';
import { refusedPgDumpArgument } from '../postgres/dump-args.js';
import { addSecrets, nameFromDatabase, readCommon } from './common.js';
import { readEncryption } from './crypto.js';
import { readDatabaseUrl } from './database.js';
import type { Inputs } from './reader.js';

export async function readBackup(inputs: Inputs, cwd: string): Promise<BackupSettings> {
  const source = inputs.oneOf('source', ['postgres', 'files'] as const, 'postgres');
  const given = source === 'postgres' ? readDatabaseUrl(inputs, 'database-url') : undefined;
  const database = given?.target;
  const common = readCommon(
    inputs,
    cwd,
    source === 'files' ? 'files' : nameFromDatabase(database?.database),
  );
  const compression = inputs.oneOf('compression', ['zstd', 'gzip', 'none'] as const, 'zstd');
  const maxLevel = compression === 'zstd' ? 19 : 9;
  const compressionLevel =
    compression === 'none'
      ? undefined
      : inputs.integer('compression-level', { min: 1, max: maxLevel });
  const encryption = await readEncryption(inputs);
  const settings: BackupSettings = {
    ...common,
    mode: 'backup',
    source,
    database,
    pgDumpArgs: readPgDumpArgs(inputs),
    files: source === 'files' ? readFiles(inputs, cwd) : undefined,
    compression,
    compressionLevel,
    encryption,
    rowCounts: inputs.oneOf('row-counts', ['exact', 'estimate', 'off'] as const, 'exact'),
  };
  addSecrets(settings, ...(given?.secrets ?? []), encryption?.passphrase);
  return settings;
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

function readFiles(inputs: Inputs, cwd: string) {
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
