/**
 * What a Redis restore and restore-test check before they download or change anything, against
 * Debian's redis-server: a target with fewer logical databases than the backup uses, a target
 * whose Redis reads an older RDB format, a user without RESTORE, each refused in one line with
 * the target's keys untouched (even with clean: true); a snapshot newer than the local
 * redis-server refused by restore-test before the download; restore-test under a deep
 * RUNNER_TEMP (a Unix socket's path is short); and the connection's own failures (no password
 * given, no INFO) in one line each.
 *
 * Covers: src/kinds/redis/restore.ts, src/kinds/redis/restore-test.ts, src/kinds/redis/index.ts,
 * src/kinds/redis/figures.ts, src/redis/replay.ts, src/redis/scratch.ts, src/redis/check-rdb.ts,
 * src/redis/connection.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crc64 } from '../../src/redis/crc64.js';
import { lastErrorLine, runAction } from '../support/action.js';
import { startRedis, type RedisClient, type TestRedis } from '../support/redis.js';

let work: string;
/** A source with 32 logical databases, holding keys in db0 and db20. */
let source: TestRedis;
let store: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'redis-preflight-test-'));
  source = await startRedis({ args: ['--databases', '32'] });
  const send = (...args: string[]) => source.client.sendCommand(args);
  for (let index = 0; index < 20; index++) await send('SET', `user:${index}`, String(index));
  await send('SELECT', '20');
  await send('SET', 'far', 'away');
  await send('SELECT', '0');
  store = path.join(work, 'store');
  const done = await runAction({
    mode: 'backup',
    source: 'redis',
    'redis-url': source.url,
    storage: store,
    compression: 'none',
  });
  expect(done.code, done.stdout).toBe(0);
}, 60_000);

afterAll(async () => {
  await source?.stop();
  await rm(work, { recursive: true, force: true });
});

/** A target holding one key of its own, which no refused restore may lose. */
async function targetWithKey(args: string[] = []): Promise<TestRedis> {
  const target = await startRedis({ args });
  await target.client.sendCommand(['SET', 'precious', 'keep me']);
  return target;
}

async function keys(client: RedisClient): Promise<string[]> {
  return ((await client.sendCommand(['KEYS', '*'])) as Buffer[]).map(String);
}

const restoreInto = (target: TestRedis, url = target.url, from = store, clean = 'true') =>
  runAction({
    mode: 'restore',
    storage: from,
    name: 'redis',
    'redis-url': url,
    confirm: `127.0.0.1:${target.port}`,
    clean,
  });

/** A user of the target with these rules (ACL SETUSER), as a redis-url. */
async function userOf(target: TestRedis, name: string, ...rules: string[]): Promise<string> {
  await target.client.sendCommand(['ACL', 'SETUSER', name, 'on', `>${name}-pw`, ...rules]);
  return `redis://${name}:${name}-pw@127.0.0.1:${target.port}`;
}

const LIBRARY = (result: number) =>
  `#!lua name=applib\nredis.register_function('answer', function() return ${result} end)`;

async function libraries(client: RedisClient): Promise<string> {
  return JSON.stringify(await client.sendCommand(['FUNCTION', 'LIST', 'WITHCODE']), (_, value) =>
    value?.type === 'Buffer' ? Buffer.from(value.data).toString() : value,
  );
}

/** A copy of the store whose snapshot says it is RDB version 11 (Redis 7.2), checksum anew. */
async function relabelledStore(): Promise<string> {
  const copy = path.join(work, 'newer');
  await rm(copy, { recursive: true, force: true });
  const dir = path.join(copy, 'redis');
  await mkdir(dir, { recursive: true });
  const names = await readdir(path.join(store, 'redis'));
  const manifestName = names.find((name) => name.endsWith('.manifest.json'));
  const objectName = names.find((name) => name.endsWith('.rdb'));
  if (!manifestName || !objectName) throw new Error(`no backup in ${store}: ${names.join(', ')}`);
  const bytes = await readFile(path.join(store, 'redis', objectName));
  bytes.write('0011', 5, 'latin1');
  new Crc64()
    .update(bytes.subarray(0, bytes.length - 8))
    .bytes()
    .copy(bytes, bytes.length - 8);
  await writeFile(path.join(dir, objectName), bytes);
  const manifest = JSON.parse(await readFile(path.join(store, 'redis', manifestName), 'utf8')) as {
    object: { sha256: string };
    rdb: { version: number };
  };
  manifest.rdb.version = 11;
  manifest.object.sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(path.join(dir, manifestName), JSON.stringify(manifest));
  return copy;
}

describe('restore refuses a target that cannot take the snapshot, before it flushes anything', () => {
  it('a target with fewer logical databases than the backup uses', async () => {
    const target = await targetWithKey();
    try {
      const refused = await restoreInto(target);
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toMatch(
        /^the target redis:\/\/127\.0\.0\.1:\d+ has no db20, which the backup uses \(ERR DB index is out of range\); set databases 21 or more in its configuration$/,
      );
      expect(await keys(target.client)).toEqual(['precious']);
    } finally {
      await target.stop();
    }
  });

  it('a user who may not SELECT a database the backup uses is told so', async () => {
    const target = await targetWithKey(['--databases', '32']);
    try {
      const url = await userOf(target, 'nosel', '~*', '+@all', '-select');
      const refused = await restoreInto(target, url);
      expect(lastErrorLine(refused)).toMatch(
        /^redis:\/\/nosel:\*\*\*@127\.0\.0\.1:\d+: the user nosel may not SELECT db20 \(NOPERM .*'select'.*\); grant it \+restore \+select /,
      );
      expect(await keys(target.client)).toEqual(['precious']);
    } finally {
      await target.stop();
    }
  });

  it('a user who may not RESTORE', async () => {
    const target = await targetWithKey(['--databases', '32']);
    try {
      await target.client.sendCommand([
        'ACL',
        'SETUSER',
        'flusher',
        'on',
        '>flusher-password',
        '~*',
        '+@all',
        '-restore',
      ]);
      const refused = await restoreInto(
        target,
        `redis://flusher:flusher-password@127.0.0.1:${target.port}`,
      );
      expect(lastErrorLine(refused)).toMatch(
        /^redis:\/\/flusher:\*\*\*@127\.0\.0\.1:\d+: the user flusher may not write db0 key "user:\d+" \(NOPERM .*'restore'.*\); grant it \+restore /,
      );
      expect(await keys(target.client)).toEqual(['precious']);
    } finally {
      await target.stop();
    }
  });

  it('a target whose Redis reads an older RDB format than the backup’s', async () => {
    const newer = await relabelledStore();
    const target = await targetWithKey(['--databases', '32']);
    try {
      const refused = await restoreInto(target, target.url, newer);
      expect(lastErrorLine(refused)).toMatch(
        /^backup \S+ is RDB version 11 \(written by Redis [\d.]+\), newer than the target's Redis 7\.0\.\d+ reads; restore into a Redis at least as new as the one backed up$/,
      );
      expect(await keys(target.client)).toEqual(['precious']);
      // The check writes nothing, and the same target takes a backup it reads.
      const restored = await restoreInto(target);
      expect(restored.code, restored.stdout).toBe(0);
      expect((await keys(target.client)).sort()).toHaveLength(20);
    } finally {
      await target.stop();
    }
  });
});

describe('a backup holding app:* keys and a function library', () => {
  let appStore: string;

  beforeAll(async () => {
    const app = await startRedis();
    try {
      await app.client.sendCommand(['SET', 'app:1', 'one']);
      await app.client.sendCommand(['SET', 'app:2', 'two']);
      await app.client.sendCommand(['FUNCTION', 'LOAD', LIBRARY(1)]);
      appStore = path.join(work, 'app-store');
      const done = await runAction({
        mode: 'backup',
        source: 'redis',
        'redis-url': app.url,
        storage: appStore,
      });
      expect(done.code, done.stdout).toBe(0);
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('clean: true with a user who may not FUNCTION RESTORE: refused before the flush', async () => {
    const target = await targetWithKey();
    try {
      const url = await userOf(target, 'nofn', '~*', '+@all', '-function|restore');
      const refused = await restoreInto(target, url, appStore);
      expect(lastErrorLine(refused)).toMatch(
        /^redis:\/\/nofn:\*\*\*@127\.0\.0\.1:\d+: the user nofn may not restore function libraries \(FUNCTION RESTORE\) \(NOPERM .*'function\|restore'.*\); grant it /,
      );
      expect(await keys(target.client)).toEqual(['precious']);
    } finally {
      await target.stop();
    }
  });

  it('a target holding only a function library is not empty', async () => {
    const target = await startRedis();
    try {
      await target.client.sendCommand(['FUNCTION', 'LOAD', LIBRARY(2)]);
      const refused = await restoreInto(target, target.url, appStore, 'false');
      expect(lastErrorLine(refused)).toMatch(
        /^the target redis:\/\/127\.0\.0\.1:\d+ holds 1 function librar\(ies\); set clean: true /,
      );
      expect(await keys(target.client)).toEqual([]);
      // clean: true replaces the target's library with the backup's.
      const restored = await restoreInto(target, target.url, appStore);
      expect(restored.code, restored.stdout).toBe(0);
      expect((await keys(target.client)).sort()).toEqual(['app:1', 'app:2']);
      expect(await target.client.sendCommand(['FCALL', 'answer', '0'])).toBe(1);
    } finally {
      await target.stop();
    }
  });

  it('clean: true removes a library the backup does not hold', async () => {
    const target = await targetWithKey();
    try {
      await target.client.sendCommand([
        'FUNCTION',
        'LOAD',
        LIBRARY(3).replace('applib', 'otherlib').replace("'answer'", "'other'"),
      ]);
      const restored = await restoreInto(target, target.url, appStore);
      expect(restored.code, restored.stdout).toBe(0);
      expect(await libraries(target.client)).not.toContain('otherlib');
      expect(await libraries(target.client)).toContain('applib');
    } finally {
      await target.stop();
    }
  });

  it('a user limited to the backup’s key pattern restores it', async () => {
    const target = await startRedis();
    try {
      const url = await userOf(target, 'appuser', '~app:*', '+@all');
      const restored = await restoreInto(target, url, appStore);
      expect(restored.code, restored.stdout).toBe(0);
      expect((await keys(target.client)).sort()).toEqual(['app:1', 'app:2']);
    } finally {
      await target.stop();
    }
  });

  it('a user who may not write the backup’s keys is told which key, before the flush', async () => {
    const target = await targetWithKey();
    try {
      const url = await userOf(target, 'other', '~other:*', '~precious', '+@all');
      const refused = await restoreInto(target, url, appStore);
      expect(lastErrorLine(refused)).toMatch(
        /^redis:\/\/other:\*\*\*@127\.0\.0\.1:\d+: the user other may not write db0 key "app:[12]" \(NOPERM .*\); grant it .* and the backup's key patterns/,
      );
      expect(await keys(target.client)).toEqual(['precious']);
    } finally {
      await target.stop();
    }
  });
});

describe('restore-test', () => {
  it('refuses a snapshot newer than the local redis-server before the download', async () => {
    const newer = await relabelledStore();
    const tested = await runAction({ mode: 'restore-test', storage: newer, name: 'redis' });
    expect(lastErrorLine(tested)).toMatch(
      /^backup \S+ is RDB version 11 \(written by Redis [\d.]+\), newer than redis-server 7\.0\.\d+ reads; install a Redis at least as new as the one backed up$/,
    );
    expect(tested.stdout).not.toMatch(/Loading the snapshot/);
  });

  it('passes with a RUNNER_TEMP deeper than a Unix socket’s path may be', async () => {
    const deep = path.join(work, 'runner', 'd'.repeat(100));
    await mkdir(deep, { recursive: true });
    const tested = await runAction(
      { mode: 'restore-test', storage: store, name: 'redis', checks: 'db20: exists far' },
      { runnerTemp: deep },
    );
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['restored-keys']).toBe('21');
  });
});

describe('connection failures in one line', () => {
  it('a server that needs a password, given none', async () => {
    const locked = await startRedis({ password: 'locked-server-password' });
    try {
      const refused = await runAction({
        mode: 'backup',
        source: 'redis',
        'redis-url': `redis://127.0.0.1:${locked.port}`,
        storage: path.join(work, 'locked'),
      });
      expect(lastErrorLine(refused)).toMatch(
        /^redis:\/\/127\.0\.0\.1:\d+ asks for a password, and none was given: write redis:\/\/:password@host/,
      );
    } finally {
      await locked.stop();
    }
  });

  it('a user who may not read INFO is told what to grant', async () => {
    await source.client.sendCommand([
      'ACL',
      'SETUSER',
      'noinfo',
      'on',
      '>noinfo-pw',
      '~*',
      '+sync',
    ]);
    const refused = await runAction({
      mode: 'backup',
      source: 'redis',
      'redis-url': `redis://noinfo:noinfo-pw@127.0.0.1:${source.port}`,
      storage: path.join(work, 'noinfo'),
    });
    expect(lastErrorLine(refused)).toMatch(
      /^redis:\/\/noinfo:\*\*\*@127\.0\.0\.1:\d+: cannot read INFO \(NOPERM .*\); the backup's user needs \+sync \+psync \+replconf \+info \+ping/,
    );
  });
});
