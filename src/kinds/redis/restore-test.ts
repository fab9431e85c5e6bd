/**
 * restore-test of a Redis backup: the snapshot, checked, in a private folder; a scratch
 * redis-server loads it (redis/scratch.ts); each database's keys are compared with the manifest
 * and the checks run; the server is stopped and the folder removed, pass, fail or cancel.
 *
 * Checks name a logical database (`db3: …`; without one, db0): `keys >= N` bounds its key count,
 * `exists KEY` needs a key (the rest of the line, or a JSON string for any other bytes).
 */
import { formatCount } from '../../core/format.js';
import type { RedisManifest } from '../../core/manifest.js';
import type { AnyCheck, KeyCheck, ServerCheck } from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import { InputError } from '../../core/errors.js';
import { keyspace, type RedisConnection } from '../../redis/connection.js';
import { findRedisProgram } from '../../redis/programs.js';
import { printable } from '../../redis/replay.js';
import { serverReadsRdbVersion, startScratchRedis } from '../../redis/scratch.js';
import { compare, type CheckResult } from '../../restore/checks.js';
import type { Phases } from '../../restore/phases.js';
import { tableOfChecks } from '../../restore/scratch-test.js';
import type { KindRun, RestoreRows, RestoreTestSettingsOf } from '../kind.js';
import { compareKeys, differenceLine, keysTable, type KeyComparison } from './compare.js';
import { keysLine, newerLine, serverFact } from './figures.js';
import { withSnapshotFile } from './snapshot-file.js';

type RedisCheck = Extract<AnyCheck, { kind: 'count' | 'exists' }>;

export const redisChecks = {
  forms: ['count', 'exists'] as const,
  refusal: (check: AnyCheck) =>
    `"${check.text}" is SQL; a Redis backup takes "dbN: keys >= N" and "dbN: exists KEY"`,
};

/** A check with its database number, checked before anything is downloaded. */
interface PlannedCheck {
  check: RedisCheck;
  db: number;
}

interface RedisTest {
  manifest: RedisManifest;
  serverVersion?: string;
  comparison?: KeyComparison;
  checks: CheckResult[];
}

export async function testRedisBackup(
  manifest: RedisManifest,
  settings: RestoreTestSettingsOf<'count' | 'exists'>,
  ctx: RunContext,
  phases: Phases,
): Promise<KindRun> {
  const planned = settings.checks.map(planCheck);
  const server = await findRedisProgram('redis-server');
  // Asked of the local server before the download: a snapshot it cannot load fails first.
  if (!(await serverReadsRdbVersion(server, manifest.rdb.version, ctx.signal))) {
    throw new Error(newerLine(manifest, 'redis-server', server.version));
  }
  const test: RedisTest = { manifest, serverVersion: server.version, checks: [] };
  const highestDb = Math.max(0, ...manifest.rdb.databases.map(({ db }) => db));
  return {
    run: () =>
      withSnapshotFile(ctx, manifest, settings.decryption, phases, async ({ dir, file }) => {
        ctx.log.info(
          `Loading the snapshot into a scratch redis-server ${server.version} in ${dir}`,
        );
        const scratch = await phases.time('load (redis-server)', () =>
          startScratchRedis(server, dir, file, highestDb, ctx.signal),
        );
        try {
          test.comparison = compareKeys(manifest.rdb, await keyspace(scratch.connection));
          for (const one of planned) test.checks.push(await runCheck(scratch.connection, one));
        } finally {
          await scratch.stop();
        }
      }),
    problems: () => problems(test),
    rows: () => testRows(test),
  };
}

function planCheck(check: RedisCheck): PlannedCheck {
  const db = check.database === undefined ? 0 : /^db(\d{1,5})$/.exec(check.database)?.[1];
  if (db === undefined) {
    throw new InputError(
      'checks',
      `"${check.text}" names ${check.database}; a Redis check names its database as db0, db1, …`,
    );
  }
  if (
    check.kind === 'count' &&
    (check.table !== 'public.keys' || /public\.keys/.test(check.text))
  ) {
    throw new InputError(
      'checks',
      `"${check.text}" counts a table; a Redis backup counts keys: "db0: keys >= N"`,
    );
  }
  return { check, db: Number(db) };
}

async function runCheck(
  connection: RedisConnection,
  { check, db }: PlannedCheck,
): Promise<CheckResult> {
  try {
    await connection.call(['SELECT', String(db)]);
    return check.kind === 'exists'
      ? await keyExists(connection, check)
      : await keyCount(connection, check);
  } catch (error) {
    return { text: check.text, passed: false, value: `error: ${(error as Error).message}` };
  }
}

async function keyExists(connection: RedisConnection, check: KeyCheck): Promise<CheckResult> {
  const found = Number(await connection.call(['EXISTS', check.key])) === 1;
  const key = printable(Buffer.from(check.key));
  return { text: check.text, passed: found, value: found ? `${key} exists` : `${key} is missing` };
}

async function keyCount(
  connection: RedisConnection,
  check: Extract<ServerCheck, { kind: 'count' }>,
): Promise<CheckResult> {
  const found = Number(await connection.call(['DBSIZE']));
  return {
    text: check.text,
    passed: compare(found, check.operator, check.value),
    value: String(found),
  };
}

function problems({ comparison, checks }: RedisTest): string[] {
  const failed = checks.filter((check) => !check.passed);
  return [
    ...(comparison?.differing.length ? [differenceLine(comparison.differing)] : []),
    ...(failed.length > 0
      ? [
          `${failed.length} check(s) failed: ${failed.map((check) => `${check.text} (${check.value})`).join(', ')}`,
        ]
      : []),
  ];
}

function testRows(test: RedisTest): RestoreRows {
  const { manifest, comparison, checks } = test;
  const restored = comparison?.rows.reduce((sum, row) => sum + row.restored, 0);
  const passed = checks.length > 0 ? `, ${checks.length} check(s) passed` : '';
  return {
    done: 'restored',
    summary:
      restored === undefined
        ? 'not counted: the restore did not finish'
        : `${formatCount(restored)} keys, ${comparison?.differing.length ? 'differing from' : 'matching'} the snapshot's ${keysLine(manifest.rdb)}${passed}`,
    outputs: { 'restored-keys': restored ?? 0 },
    facts: [
      serverFact(manifest),
      [
        'Scratch server',
        `redis-server ${test.serverVersion ?? '?'} on a Unix socket in a temporary folder (removed)`,
      ],
      [
        'Keys',
        restored === undefined
          ? 'not counted: the restore did not finish'
          : `${formatCount(restored)} restored of ${keysLine(manifest.rdb)}`,
      ],
    ],
    tables: [...(comparison ? [keysTable(comparison)] : []), ...tableOfChecks(checks)],
    details: { comparison, checks },
  };
}
