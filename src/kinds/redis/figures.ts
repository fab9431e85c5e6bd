/** A Redis backup's figures: what its manifest records against what a snapshot holds. */
import { formatCount } from '../../core/format.js';
import type { RdbRecord, RedisManifest } from '../../core/manifest.js';
import type { Fact } from '../kind.js';
import type { Table } from '../../core/types.js';

/** One line naming the first difference, or undefined when the snapshot is the one recorded. */
export function countsMismatch(recorded: RdbRecord, found: RdbRecord): string | undefined {
  if (found.version !== recorded.version) {
    return `the snapshot is RDB version ${found.version}, but its manifest records ${recorded.version}`;
  }
  const line = (databases: RdbRecord['databases']) =>
    databases.map(({ db, keys, expires }) => `db${db} ${keys}/${expires}`).join(', ') || 'no keys';
  if (line(found.databases) !== line(recorded.databases)) {
    return `the snapshot holds ${line(found.databases)} (keys/expiring), but its manifest records ${line(recorded.databases)}`;
  }
  return undefined;
}

export function totalKeys(rdb: RdbRecord): number {
  return rdb.databases.reduce((sum, database) => sum + database.keys, 0);
}

/** `613 keys in 3 databases` */
export function keysLine(rdb: RdbRecord): string {
  const databases = rdb.databases.length;
  return `${formatCount(totalKeys(rdb))} keys in ${databases} database${databases === 1 ? '' : 's'}`;
}

export function serverFact(manifest: RedisManifest): Fact {
  const server = manifest.source.serverVersion ?? '?';
  return [
    'Server',
    `Redis ${server}, RDB version ${manifest.rdb.version}, ${manifest.dump?.program ?? 'redis-cli'} ${manifest.dump?.version ?? '?'}`,
  ];
}

export function databasesTable(rdb: RdbRecord): Table {
  return {
    title: 'Keys per database',
    header: ['database', 'keys', 'expiring'],
    rows: rdb.databases.map(({ db, keys, expires }) => [
      `db${db}`,
      formatCount(keys),
      formatCount(expires),
    ]),
  };
}

/** The local Redis program (or the target) is older than the RDB format of the backup. */
export function newerLine(
  manifest: RedisManifest,
  program: string,
  version: string,
  advice = 'install a Redis at least as new as the one backed up',
): string {
  const by = manifest.source.serverVersion
    ? ` (written by Redis ${manifest.source.serverVersion})`
    : '';
  return `backup ${manifest.id} is RDB version ${manifest.rdb.version}${by}, newer than ${program} ${version} reads; ${advice}`;
}
