/**
 * restore of a Redis backup into the Redis of `redis-url`, guarded by `confirm` (its host:port).
 * A target that holds keys is refused unless `clean`, which flushes it (FLUSHALL) first.
 *
 * What it cannot do atomically: Redis has no way to swap a whole dataset in (SWAPDB swaps one
 * logical database with another of the same server, which a restore cannot fill unseen), so keys
 * arrive one by one (RESTORE, redis/replay.ts) and clients see the target partly restored until
 * the end; with `clean`, the old keys are gone from the flush on. So everything that can fail is
 * checked first: the target (reachable, a primary, not a cluster, empty or clean), then every
 * byte of the backup and its snapshot's own checksum and key counts, in a local file; only then
 * is the target flushed and written.
 */
import { errorMessage } from '../../core/errors.js';
import { formatCount } from '../../core/format.js';
import type { RedisManifest } from '../../core/manifest.js';
import type { RedisRestoreSettings, RedisTarget } from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import { info, keyspace, withRedis, type RedisConnection } from '../../redis/connection.js';
import {
  functionsRefusal,
  keysRefusal,
  versionRefusal,
  type KeyRefusal,
} from '../../redis/probe.js';
import { printable, replaySnapshot, type Replayed } from '../../redis/replay.js';
import type { Phases } from '../../restore/phases.js';
import type { KindRun, RestoreRows } from '../kind.js';
import { compareKeys, differenceLine, keysTable, type KeyComparison } from './compare.js';
import { keysLine, newerLine, serverFact } from './figures.js';
import { withSnapshotFile } from './snapshot-file.js';

interface TargetState {
  version: string;
  keys: ReadonlyMap<number, number>;
  /** Function libraries the target holds (FUNCTION LIST). */
  functions: number;
}

interface RedisRestore {
  manifest: RedisManifest;
  target: RedisTarget;
  state: TargetState;
  clean: boolean;
  /** untouched → flushed → writing → restored. */
  stage: 'untouched' | 'flushed' | 'writing' | 'restored';
  replayed?: Replayed;
  comparison?: KeyComparison;
}

export async function restoreRedisBackup(
  manifest: RedisManifest,
  settings: RedisRestoreSettings,
  ctx: RunContext,
  phases: Phases,
): Promise<KindRun> {
  const target = settings.redis;
  const state = await withRedis(target, target.display, (connection) =>
    inspectTarget(connection, manifest, target),
  );
  const held = [...state.keys]
    .filter(([, keys]) => keys > 0)
    .map(([db, keys]) => `${formatCount(keys)} keys in db${db}`);
  if (state.functions > 0) held.push(`${formatCount(state.functions)} function librar(ies)`);
  if (held.length > 0 && !settings.clean) {
    throw new Error(
      `the target ${target.display} holds ${held.join(', ')}; set clean: true to flush it (FLUSHALL, and its function libraries) and restore the backup in its place`,
    );
  }
  const restore: RedisRestore = {
    manifest,
    target,
    state,
    clean: settings.clean,
    stage: 'untouched',
  };
  return {
    run: () =>
      withSnapshotFile(ctx, manifest, settings.decryption, phases, ({ file, summary }) =>
        withRedis(target, target.display, async (connection) => {
          const functions = settings.clean && state.functions > 0 ? 'FLUSH' : 'APPEND';
          await refuseUnwritable(
            connection,
            restore,
            file,
            summary.functions > 0 || functions === 'FLUSH',
          );
          if (settings.clean) {
            await phases.time('flush the target (FLUSHALL)', () => connection.call(['FLUSHALL']));
            restore.stage = 'flushed';
          }
          restore.stage = 'writing';
          const { replayed } = await phases.time('restore (RESTORE each key)', () =>
            replaySnapshot(file, connection, {
              functions,
              signal: ctx.signal,
            }),
          );
          restore.replayed = replayed;
          restore.stage = 'restored';
          await connection.call(['SELECT', '0']);
          restore.comparison = compareKeys(manifest.rdb, await keyspace(connection));
        }),
      ),
    problems: () =>
      restore.comparison?.differing.length ? [differenceLine(restore.comparison.differing)] : [],
    rows: () => restoreRows(restore),
  };
}

/**
 * The target's version and keys; a replica, a cluster node, or a target that cannot take the
 * snapshot (too few logical databases, an older RDB format, a user without RESTORE) is refused
 * before anything is downloaded or flushed.
 */
async function inspectTarget(
  connection: RedisConnection,
  manifest: RedisManifest,
  target: RedisTarget,
): Promise<TargetState> {
  const server = await info(connection, 'server');
  const replication = await info(connection, 'replication');
  if (replication.get('role') === 'slave') {
    throw new Error('the target is a replica, which takes no writes; restore into its primary');
  }
  if (server.get('redis_mode') === 'cluster') {
    throw new Error(
      'the target is a Redis Cluster node; a snapshot restores into a standalone Redis (docs/redis.md)',
    );
  }
  const version = server.get('redis_version') ?? '?';
  await selectsEveryDatabase(connection, manifest, target);
  const refusal = await versionRefusal(connection, manifest.rdb.version);
  if (refusal !== undefined) throw new Error(refusalLine(refusal, manifest, target, version));
  return {
    version,
    keys: await keyspace(connection),
    functions: await functionCount(connection, target),
  };
}

/** A Redis older than 7 has no functions (and no FUNCTION command): none. */
async function functionCount(connection: RedisConnection, target: RedisTarget): Promise<number> {
  try {
    const libraries = await connection.call(['FUNCTION', 'LIST']);
    return Array.isArray(libraries) ? libraries.length : 0;
  } catch (error) {
    const message = errorMessage(error);
    if (/unknown command/i.test(message)) return 0;
    throw new Error(
      refusalLine(message, undefined, target, '', 'list function libraries (FUNCTION LIST)'),
    );
  }
}

/**
 * Every command the restore sends after the flush, tried first on the target with the
 * snapshot's own keys: nothing is flushed before each is shown to be allowed.
 */
async function refuseUnwritable(
  connection: RedisConnection,
  { manifest, target, state }: RedisRestore,
  file: string,
  sendsFunctions: boolean,
): Promise<void> {
  const refused = await keysRefusal(connection, file, manifest.rdb.version);
  if (refused) throw new Error(keyRefusalLine(refused, manifest, target, state.version));
  if (!sendsFunctions) return;
  const refusal = await functionsRefusal(connection, manifest.rdb.version);
  if (refusal !== undefined) {
    const what = 'restore function libraries (FUNCTION RESTORE)';
    throw new Error(refusalLine(refusal, manifest, target, state.version, what));
  }
}

/** The highest logical database the snapshot uses exists on the target. */
async function selectsEveryDatabase(
  connection: RedisConnection,
  manifest: RedisManifest,
  target: RedisTarget,
): Promise<void> {
  const highest = Math.max(0, ...manifest.rdb.databases.map(({ db }) => db));
  try {
    await connection.call(['SELECT', String(highest)]);
  } catch (error) {
    const message = errorMessage(error);
    if (/NOPERM/.test(message)) {
      throw new Error(refusalLine(message, undefined, target, '', `SELECT db${highest}`));
    }
    throw new Error(
      `the target ${target.display} has no db${highest}, which the backup uses (${errorMessage(error)}); set databases ${highest + 1} or more in its configuration`,
    );
  } finally {
    await connection.call(['SELECT', '0']).catch(() => undefined);
  }
}

/** A refusal of one of the snapshot's keys; the key is named. */
function keyRefusalLine(
  refused: KeyRefusal,
  manifest: RedisManifest,
  target: RedisTarget,
  version: string,
): string {
  const what = refused.key
    ? `write db${refused.db} key ${printable(refused.key)}`
    : `SELECT db${refused.db}`;
  return refusalLine(refused.message, manifest, target, version, what);
}

function refusalLine(
  refusal: string,
  manifest: RedisManifest | undefined,
  target: RedisTarget,
  version: string,
  what = "write the backup's keys",
): string {
  if (manifest && /payload version or checksum/i.test(refusal)) {
    return newerLine(
      manifest,
      `the target's Redis`,
      version,
      'restore into a Redis at least as new as the one backed up',
    );
  }
  if (/NOPERM/.test(refusal)) {
    return `${target.display}: the user${target.user === undefined ? '' : ` ${target.user}`} may not ${what} (${refusal}); grant it +restore +select +info +flushall +function and the backup's key patterns (ACL SETUSER)`;
  }
  return `the target ${target.display} refuses to ${what}: ${refusal}`;
}

const STANDING = {
  untouched: 'untouched',
  flushed: 'flushed (clean: true), and the restore did not start: the target is empty',
  writing: 'partly restored: the restore stopped after some keys were written',
  restored: 'restored',
} as const;

function restoreRows(restore: RedisRestore): RestoreRows {
  const { manifest, target, state, comparison, replayed } = restore;
  const restored = comparison?.rows.reduce((sum, row) => sum + row.restored, 0);
  const before = [...state.keys.values()].reduce((sum, keys) => sum + keys, 0);
  return {
    done: `restored into ${target.display}`,
    summary:
      restored === undefined
        ? 'not counted: the restore did not finish'
        : `${formatCount(restored)} keys of the snapshot's ${keysLine(manifest.rdb)}`,
    outputs: { 'restored-keys': restored ?? 0 },
    facts: [
      serverFact(manifest),
      ['Target', `${target.display} (Redis ${state.version})`],
      ['Target now', STANDING[restore.stage]],
      [
        'Flushed first',
        restore.clean
          ? `yes (clean: true; ${formatCount(before)} keys were there)`
          : 'no (the target was empty)',
      ],
      [
        'Atomic',
        'no: keys arrived one by one (RESTORE); clients could see the target partly restored',
      ],
      ['Functions', replayed ? `${replayed.libraries} librar(ies) restored` : 'not restored'],
    ],
    tables: comparison ? [keysTable(comparison)] : [],
    details: { target: target.display, targetNow: restore.stage, comparison, replayed },
  };
}
