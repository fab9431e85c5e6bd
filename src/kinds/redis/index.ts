/**
 * A Redis server (`source: redis`): one RDB snapshot of every logical database, read from the
 * server as a replica reads it (`redis-cli --rdb -`), with each database's key count, the RDB
 * version and the Redis that wrote it taken from the snapshot's own bytes as they are stored.
 */
import { errorMessage } from '../../core/errors.js';
import { objectExtension, objectKey } from '../../core/layout.js';
import type { RedisManifest } from '../../core/manifest.js';
import { encryptionOf, type RedisBackupSettings } from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import type { ObjectPart } from '../../pipeline/store-all.js';
import { checkRdb, readsRdbVersion } from '../../redis/check-rdb.js';
import { info, withRedis } from '../../redis/connection.js';
import { findRedisProgram } from '../../redis/programs.js';
import { openSnapshot } from '../../redis/snapshot.js';
import type { BackupPlan, SourceKind } from '../kind.js';
import { checkObject, objectRows } from '../one-object.js';
import {
  countsMismatch,
  databasesTable,
  keysLine,
  newerLine,
  serverFact,
  totalKeys,
} from './figures.js';
import { restoreRedisBackup } from './restore.js';
import { redisChecks, testRedisBackup } from './restore-test.js';

export const redisKind: SourceKind<
  RedisManifest,
  RedisBackupSettings,
  'redis',
  'count' | 'exists'
> = {
  holds: (manifest) => `Redis: ${keysLine(manifest.rdb)}`,
  restoreInto: 'redis',
  testInputs: [],
  checks: redisChecks,
  backup: {
    plan: planBackup,
    rows: (manifest) => ({
      ...objectRows(manifest.object, [serverFact(manifest), ['Keys', keysLine(manifest.rdb)]]),
      tables: [databasesTable(manifest.rdb)],
    }),
  },
  verify: {
    rules: () => [],
    async deep(manifest, settings, ctx) {
      // Asked of the local tool before the download: a snapshot it cannot read fails first.
      const checker = await findRedisProgram('redis-check-rdb');
      if (!(await readsRdbVersion(checker, manifest.rdb.version))) {
        throw new Error(newerLine(manifest, 'redis-check-rdb', checker.version));
      }
      return checkObject(manifest, settings, ctx, async (archive) => {
        const found = await checkRdb(checker, archive);
        const mismatch = countsMismatch(manifest.rdb, found);
        if (mismatch) throw new Error(mismatch);
        return { entries: totalKeys(found) };
      });
    },
    rows: (manifest) => ({ facts: [serverFact(manifest)], tables: [] }),
  },
  restoreTest: testRedisBackup,
  restore: restoreRedisBackup,
};

async function planBackup(
  settings: RedisBackupSettings,
  ctx: RunContext,
  id: string,
): Promise<BackupPlan<RedisManifest, [ObjectPart]>> {
  const target = settings.redis;
  const cli = await findRedisProgram('redis-cli');
  const server = await withRedis(target, target.display, (connection) =>
    info(connection, 'server').catch((error: unknown) => {
      throw new Error(
        `${target.display}: cannot read INFO (${errorMessage(error)}); the backup's user needs +sync +psync +replconf +info +ping (docs/redis.md)`,
      );
    }),
  );
  ctx.log.info(
    `redis-cli ${cli.version} (${cli.path}), server Redis ${server.get('redis_version') ?? '?'}`,
  );
  if (server.get('redis_mode') === 'cluster') {
    ctx.log.warning(
      `${target.display} is a Redis Cluster node: the backup holds only the slots this node serves`,
    );
  }
  const layers = objectExtension(
    'rdb',
    settings.compression,
    encryptionOf(settings.encryptionKeys),
  );
  return {
    what: `Redis ${target.display}`,
    parts: [
      { key: objectKey(settings.name, id, layers), open: async () => openSnapshot(cli, target) },
    ],
    jobs: 1,
    fields: ([snapshot]) => {
      const rdb = snapshot.facts.rdb;
      if (!rdb) throw new Error('the snapshot was stored without its figures');
      return {
        source: { kind: 'redis', ...(rdb.redisVersion ? { serverVersion: rdb.redisVersion } : {}) },
        format: 'rdb',
        object: snapshot.object,
        rdb: { version: rdb.version, databases: rdb.databases },
        dump: { program: 'redis-cli', version: cli.version },
      };
    },
  };
}
