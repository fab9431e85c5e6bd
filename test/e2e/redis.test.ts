/**
 * Redis backups end to end, against Debian's redis-server: a server with several logical
 * databases, large values, every kind of value (streams with consumer groups included), expiring
 * keys, binary and compressed key names and a function library, reached as an ACL user with a
 * password, and over TLS. The action is run as the runner runs it; the stored object is restored
 * by hand with age, zstd and redis-server; verify-latest, restore-test and restore are run on it,
 * and backups in an S3 store (s3rver) are pruned by retention-prune;
 * a server that refuses SYNC, a transfer cut mid-way and an RDB newer than the local tools each
 * fail in one line with nothing published.
 *
 * Covers: src/kinds/redis/index.ts, src/kinds/redis/restore-test.ts, src/kinds/redis/restore.ts,
 * src/kinds/redis/snapshot-file.ts, src/kinds/redis/compare.ts, src/kinds/redis/figures.ts,
 * src/redis/snapshot.ts, src/redis/check-rdb.ts, src/redis/scratch.ts, src/redis/replay.ts,
 * src/redis/connection.ts, src/redis/programs.ts, src/redis/rdb-stream.ts, src/kinds/accepts.ts.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execFile } from 'node:child_process';
import { watch } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crc64 } from '../../src/redis/crc64.js';
import { lastErrorLine, runAction, type ActionRun, type RunOptions } from '../support/action.js';
import { unwrapByHand } from '../support/by-hand.js';
import { S3_ENV, testS3Bucket, testS3ClientConfig, testS3Endpoint } from '../support/env.js';
import {
  makeCertificates,
  startRedis,
  startRelay,
  type Certificates,
  type RedisClient,
  type TestRedis,
} from '../support/redis.js';

const run = promisify(execFile);
const ADMIN = 'admin-password-for-tests';
const USER = { name: 'backup', password: 'pässword with spaces:@/', rules: ['~*', '+@all'] };
const BIG = randomBytes(3 * 1024 * 1024);
const BINARY_KEY = Buffer.from([0, 255, 10, 13, 0x80]);
const LONG_KEY = `${'session:'.repeat(40)}end`;

let work: string;
let source: TestRedis;

/** Keys per logical database, as the server counts them. */
async function keyspace(client: RedisClient): Promise<Record<string, number>> {
  const text = String(await client.sendCommand(['INFO', 'keyspace']));
  return Object.fromEntries(
    [...text.matchAll(/^db(\d+):keys=(\d+)/gm)].map(([, db, keys]) => [`db${db}`, Number(keys)]),
  );
}

/** Every key of every database with its value's digest (whatever its encoding) and expiry. */
async function contents(client: RedisClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const db of Object.keys(await keyspace(client)).map((name) => name.slice(2))) {
    await client.sendCommand(['SELECT', db]);
    let cursor = '0';
    do {
      const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'COUNT', '1000'])) as [
        Buffer,
        Buffer[],
      ];
      cursor = next.toString();
      for (const key of keys) {
        const [digest] = (await client.sendCommand(['DEBUG', 'DIGEST-VALUE', key])) as Buffer[];
        const expires = Number(await client.sendCommand(['PEXPIRETIME', key]));
        out.set(`db${db} ${key.toString('hex')}`, `${String(digest)} expires ${expires}`);
      }
    } while (cursor !== '0');
  }
  await client.sendCommand(['SELECT', '0']);
  return out;
}

async function fill(client: RedisClient): Promise<void> {
  const send = (...args: (string | Buffer)[]) => client.sendCommand(args);
  const many: Promise<unknown>[] = [];
  for (let index = 0; index < 2000; index++)
    many.push(send('SET', `user:${index}`, `name ${index}`));
  for (let index = 0; index < 100; index++)
    many.push(send('SET', `cache:${index}`, 'x', 'EX', '3600'));
  for (let index = 0; index < 1000; index++) {
    many.push(send('HSET', 'big-hash', `field${index}`, `value ${index}`));
    many.push(send('SADD', 'big-set', `member ${index}`));
    many.push(send('ZADD', 'big-zset', String(index / 3), `z${index}`));
  }
  for (let index = 0; index < 5000; index++) many.push(send('RPUSH', 'big-list', `item ${index}`));
  await Promise.all(many);
  await send('SET', 'big-value', BIG);
  await send('HSET', 'small-hash', 'a', '1', 'b', '2');
  await send('SADD', 'numbers', '1', '2', '3');
  await send('ZADD', 'small-zset', '1.5', 'a', 'inf', 'b');
  await send('SET', BINARY_KEY, 'binary key');
  await send('SET', LONG_KEY, 'a long key, LZF-compressed in the snapshot');
  await send('SET', 'ünïcødé', 'text');
  await send('SET', 'line\nbreak ✓', 'a key a check writes as a JSON string');
  for (let index = 0; index < 50; index++) await send('XADD', 'events', '*', 'n', String(index));
  await send('XGROUP', 'CREATE', 'events', 'workers', '0');
  await send('XREADGROUP', 'GROUP', 'workers', 'alice', 'COUNT', '5', 'STREAMS', 'events', '>');
  await send(
    'FUNCTION',
    'LOAD',
    "#!lua name=tools\nredis.register_function('answer', function() return 42 end)",
  );
  await send('SELECT', '1');
  for (let index = 0; index < 50; index++) await send('SET', `order:${index}`, String(index));
  await send('SELECT', '7');
  for (let index = 0; index < 10; index++) await send('SET', `temp:${index}`, 'x', 'EX', '86400');
  await send('SELECT', '0');
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'redis-backup-test-'));
  source = await startRedis({ password: ADMIN, user: USER });
  await fill(source.client);
}, 60_000);

afterAll(async () => {
  await source?.stop();
  await rm(work, { recursive: true, force: true });
});

const storeOf = (name: string) => path.join(work, name);

async function backup(
  store: string,
  inputs: Record<string, string> = {},
  options: RunOptions = {},
): Promise<ActionRun> {
  return runAction(
    { mode: 'backup', source: 'redis', 'redis-url': source.url, storage: store, ...inputs },
    options,
  );
}

async function storedFiles(store: string): Promise<string[]> {
  return (await readdir(store, { recursive: true })).filter((name) => name.includes('.'));
}

describe('backup of a Redis', () => {
  const store = () => storeOf('main');
  let done: ActionRun;
  let identity: string;
  const madeInTemp: string[] = [];
  /** A run on this backup: its store, its set, its key. */
  const onBackup = (inputs: Record<string, string>, options?: RunOptions) =>
    runAction({ storage: store(), name: 'redis', 'age-identity': identity, ...inputs }, options);

  beforeAll(async () => {
    identity = await generateIdentity();
    // Every temporary folder the run could use, watched while it runs.
    const temp = await mkdtemp(path.join(work, 'backup-temp-'));
    const watcher = watch(temp, { recursive: true }, (_event, name) => madeInTemp.push(`${name}`));
    try {
      done = await backup(
        store(),
        { 'age-recipients': await identityToRecipient(identity) },
        { env: { TMPDIR: temp, RUNNER_TEMP: temp } },
      );
    } finally {
      watcher.close();
    }
  }, 120_000);

  it('streams the snapshot to the store: nothing but its report is written to a temporary folder', () => {
    expect(done.code, done.stdout).toBe(0);
    // The run's report (the report-file output) is the one file it leaves there, by design.
    const report = /^backup-action-report-[0-9a-f]+\.json$/;
    expect(madeInTemp.filter((name) => !report.test(name))).toEqual([]);
    expect(madeInTemp).not.toEqual([]); // the watch saw the report: it was watching
  });

  it('stores the snapshot as <name>/<id>.rdb.zst.age with each database’s keys from the snapshot', async () => {
    expect(done.code, done.stdout).toBe(0);
    const id = done.outputs['backup-id'] ?? '';
    expect(done.outputs['backup-key']).toBe(`redis/${id}.rdb.zst.age`);
    const manifest = JSON.parse(
      await readFile(path.join(store(), 'redis', `${id}.manifest.json`), 'utf8'),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      source: { kind: 'redis', serverVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/) },
      format: 'rdb',
      encryption: 'age',
      dump: { program: 'redis-cli' },
    });
    const rdb = manifest.rdb as {
      version: number;
      databases: { db: number; keys: number; expires: number }[];
    };
    expect(rdb.version).toBeGreaterThanOrEqual(9);
    const counted = Object.fromEntries(rdb.databases.map(({ db, keys }) => [`db${db}`, keys]));
    expect(counted).toEqual(await keyspace(source.client));
    expect(rdb.databases.find(({ db }) => db === 0)?.expires).toBe(100);
    expect(rdb.databases.find(({ db }) => db === 7)?.expires).toBe(10);
    expect(done.summary).toContain('Keys per database');
  });

  it('never shows the password, and gives it to redis-cli through its environment only', () => {
    const shown = done.everything
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(shown).not.toContain(USER.password);
    expect(shown).not.toContain(encodeURIComponent(USER.password));
    expect(done.stdout).toContain('redis://backup:***@127.0.0.1');
  });

  it('restores by hand: age -d, zstd -d, and redis-server --dbfilename hold every key and value', async () => {
    const dir = await mkdtemp(path.join(work, 'by-hand-'));
    const stored = path.join(store(), done.outputs['backup-key'] ?? '');
    const plain = await unwrapByHand(stored, dir, { identity });
    const copy = await startRedis({
      args: ['--dir', path.dirname(plain), '--dbfilename', path.basename(plain)],
    });
    try {
      expect(await contents(copy.client)).toEqual(await contents(source.client));
      expect(String(await copy.client.sendCommand(['FCALL', 'answer', '0']))).toBe('42');
    } finally {
      await copy.stop();
    }
  });

  it('verify-latest reads it with redis-check-rdb and compares its keys with the manifest', async () => {
    const verified = await onBackup({ mode: 'verify-latest' });
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/checksum and archive verified/);
    expect(verified.summary).toMatch(/readable: 2,1\d\d entries/);
  });

  it('restore-test loads it in a scratch redis-server, compares every database and runs the checks', async () => {
    const tested = await onBackup({
      mode: 'restore-test',
      checks:
        'keys >= 2000\ndb1: keys = 50\ndb0: exists big-value\nexists "line\\nbreak ✓"\ndb7: keys > 5',
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(Number(tested.outputs['restored-keys'])).toBe(
      Object.values(await keyspace(source.client)).reduce((a, b) => a + b, 0),
    );
    expect(tested.summary).toMatch(/db1\s*\|\s*50\s*\|\s*0\s*\|\s*50\s*\|\s*match/);
    expect(tested.summary).toMatch(/Recovery time/);
    const leftovers = (await readdir(os.tmpdir())).filter((name) =>
      name.startsWith('backup-action-redis-'),
    );
    expect(leftovers).toEqual([]);
  });

  it('restore-test cancelled (SIGTERM) stops its scratch server and removes its folder', async () => {
    // A redis-server that takes its time to start, so that the cancel lands while it loads.
    const bin = await mkdtemp(path.join(work, 'slow-bin-'));
    const real = (await run('which', ['redis-server'])).stdout.trim();
    await writeFile(
      path.join(bin, 'redis-server'),
      `#!/bin/sh\n[ "$1" = --version ] || { sleep 30 >/dev/null 2>&1 & wait $!; }\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    let folder = '';
    const cancelled = await onBackup(
      { mode: 'restore-test' },
      {
        env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
        onStart: (child) =>
          child.stdout?.on('data', (chunk: Buffer) => {
            const shown = /scratch redis-server \S+ in (\S+)/.exec(chunk.toString())?.[1];
            if (shown && !folder) {
              folder = shown;
              setTimeout(() => child.kill('SIGTERM'), 300);
            }
          }),
      },
    );
    expect(cancelled.code).not.toBe(0);
    expect(cancelled.stderr).toContain('Received SIGTERM: cancelling');
    expect(folder).toMatch(/backup-action-redis-/);
    await expect(readdir(folder)).rejects.toThrow(/ENOENT/);
    const { stdout } = await run('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(folder);
  });

  it('restore-test fails a check that fails, and refuses SQL in one line', async () => {
    const failing = await onBackup({
      mode: 'restore-test',
      checks: 'db0: exists no-such-key',
    });
    expect(failing.code).not.toBe(0);
    expect(lastErrorLine(failing)).toBe(
      '1 check(s) failed: db0: exists no-such-key ("no-such-key" is missing)',
    );
    const sql = await onBackup({
      mode: 'restore-test',
      checks: 'SELECT true',
    });
    expect(lastErrorLine(sql)).toBe(
      'Input "checks": "SELECT true" is SQL; a Redis backup takes "dbN: keys >= N" and "dbN: exists KEY"',
    );
  });

  it('restore writes every key, value and expiry into an empty Redis, guarded by confirm', async () => {
    const target = await startRedis();
    const restoreInto = (inputs: Record<string, string>) =>
      onBackup({
        mode: 'restore',
        'redis-url': target.url,
        confirm: `127.0.0.1:${target.port}`,
        ...inputs,
      });
    try {
      const wrong = await restoreInto({ confirm: 'elsewhere:6379' });
      expect(lastErrorLine(wrong)).toMatch(
        /^Input "confirm": "elsewhere:6379" does not match the target; set confirm: 127\.0\.0\.1:\d+/,
      );
      const restored = await restoreInto({});
      expect(restored.code, restored.stdout).toBe(0);
      expect(await contents(target.client)).toEqual(await contents(source.client));
      expect(String(await target.client.sendCommand(['FCALL', 'answer', '0']))).toBe('42');
      expect(restored.summary).toMatch(/Atomic.*no: keys arrived one by one/);

      await target.client.sendCommand(['SET', 'stray', 'x']);
      const refused = await restoreInto({});
      expect(lastErrorLine(refused)).toMatch(
        /^the target redis:\/\/127\.0\.0\.1:\d+ holds 2,1\d\d keys in db0, 50 keys in db1, 10 keys in db7(, 1 function librar\(ies\))?; set clean: true/,
      );
      const clean = await restoreInto({ clean: 'true' });
      expect(clean.code, clean.stdout).toBe(0);
      expect(Number(await target.client.sendCommand(['EXISTS', 'stray']))).toBe(0);
      expect(await contents(target.client)).toEqual(await contents(source.client));
    } finally {
      await target.stop();
    }
  }, 120_000);

  it('restore that fails mid-way (the target runs out of memory) says so in one line, and that the target is partly restored', async () => {
    const target = await startRedis({ args: ['--maxmemory-policy', 'noeviction'] });
    try {
      // Room for some of the keys and not for the 3 MiB value.
      const memory = String(await target.client.sendCommand(['INFO', 'memory']));
      const used = Number(/^used_memory:(\d+)/m.exec(memory)?.[1]);
      await target.client.sendCommand(['CONFIG', 'SET', 'maxmemory', String(used + (1 << 20))]);
      const failed = await onBackup({
        mode: 'restore',
        'redis-url': target.url,
        confirm: `127.0.0.1:${target.port}`,
      });
      expect(failed.code).not.toBe(0);
      expect(lastErrorLine(failed)).toMatch(
        /^RESTORE of db\d+ key "[^"]+" failed: OOM command not allowed/,
      );
      expect(failed.summary).toMatch(/Target now.*partly restored/);
      const total = (client: RedisClient) =>
        keyspace(client).then((dbs) => Object.values(dbs).reduce((a, b) => a + b, 0));
      const held = await total(target.client);
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThan(await total(source.client));
    } finally {
      await target.stop();
    }
  }, 120_000);

  it('a PostgreSQL target for a Redis backup is refused, naming the input it needs', async () => {
    const refused = await onBackup({
      mode: 'restore',
      'database-url': 'postgresql://u@127.0.0.1:1/shop',
      confirm: 'shop',
    });
    expect(lastErrorLine(refused)).toMatch(
      /^Input "database-url": backup \S+ holds Redis: [\d,]+ keys in 3 databases; give redis-url to restore it$/,
    );
  });
});

describe('in an S3 store', () => {
  const prefix = `redis-${process.pid}`;
  const inS3 = (inputs: Record<string, string>) =>
    runAction(
      { storage: `s3://${testS3Bucket()}/${prefix}`, 's3-endpoint': testS3Endpoint(), ...inputs },
      { env: S3_ENV },
    );

  async function listed(): Promise<string[]> {
    const client = new S3Client(testS3ClientConfig());
    try {
      const listing = await client.send(
        new ListObjectsV2Command({ Bucket: testS3Bucket(), Prefix: `${prefix}/` }),
      );
      return (listing.Contents ?? []).map(({ Key }) => Key ?? '').sort();
    } finally {
      client.destroy();
    }
  }

  it('backs up, and retention-prune deletes the older backup whole and keeps the newer one restorable', async () => {
    const redis = { mode: 'backup', source: 'redis', 'redis-url': source.url, name: 'cache' };
    const older = await inS3({ ...redis, compression: 'gzip' });
    expect(older.code, older.stdout).toBe(0);
    await sleep(1100); // backup ids are to the second: the two are told apart by their time
    const newer = await inS3(redis);
    expect(newer.code, newer.stdout).toBe(0);
    const id = newer.outputs['backup-id'] ?? '';
    expect(await listed()).toEqual(
      [
        `${prefix}/cache/${older.outputs['backup-id']}.manifest.json`,
        `${prefix}/cache/${older.outputs['backup-id']}.rdb.gz`,
        `${prefix}/cache/${id}.manifest.json`,
        `${prefix}/cache/${id}.rdb.zst`,
      ].sort(),
    );

    const pruned = await inS3({ mode: 'retention-prune', name: 'cache', 'keep-last': '1' });
    expect(pruned.code, pruned.stdout).toBe(0);
    expect(pruned.outputs).toMatchObject({ kept: '1', deleted: '1' });
    expect(await listed()).toEqual([
      `${prefix}/cache/${id}.manifest.json`,
      `${prefix}/cache/${id}.rdb.zst`,
    ]);

    const tested = await inS3({ mode: 'restore-test', name: 'cache', checks: 'db1: keys = 50' });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toContain(id);
  }, 120_000);
});

describe('expiring keys', () => {
  it('keys that expire between the backup and the restore test are told apart from lost keys', async () => {
    const store = storeOf('expiring');
    await source.client.sendCommand(['SELECT', '2']);
    const expiry = Date.now() + 6000;
    for (let index = 0; index < 5; index++)
      await source.client.sendCommand(['SET', `soon:${index}`, 'x', 'PXAT', String(expiry)]);
    await source.client.sendCommand(['SET', 'stays', 'x']);
    await source.client.sendCommand(['SELECT', '0']);
    const done = await backup(store, { name: 'expiring' });
    expect(done.code, done.stdout).toBe(0);
    await sleep(Math.max(0, expiry + 500 - Date.now()));
    const tested = await runAction({ mode: 'restore-test', storage: store, name: 'expiring' });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.summary).toMatch(
      /db2\s*\|\s*6\s*\|\s*5\s*\|\s*1\s*\|\s*match \(5 expired since\)/,
    );
  }, 60_000);
});

describe('over TLS', () => {
  let certificates: Certificates;
  let secure: TestRedis;

  beforeAll(async () => {
    certificates = await makeCertificates();
    secure = await startRedis({ tls: certificates, password: ADMIN, user: USER });
    await secure.client.sendCommand(['SET', 'over', 'tls']);
  }, 60_000);

  afterAll(async () => {
    await secure?.stop();
    await rm(certificates.dir, { recursive: true, force: true });
  });

  it('backs up a rediss:// server with its CA, and restore-tests the backup', async () => {
    const store = storeOf('tls');
    const done = await runAction({
      mode: 'backup',
      source: 'redis',
      'redis-url': secure.url,
      storage: store,
      name: 'tls',
    });
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toContain('rediss://backup:***@127.0.0.1');
    const tested = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'tls',
      checks: 'exists over',
    });
    expect(tested.code, tested.stdout).toBe(0);
  });
});

describe('hostile state: one line, nothing published', () => {
  it('a server that refuses SYNC (as managed services do) says so and what to use instead', async () => {
    const managed = await startRedis({
      args: ['--rename-command', 'SYNC', '', '--rename-command', 'PSYNC', ''],
    });
    const store = storeOf('managed');
    try {
      await managed.client.sendCommand(['SET', 'a', 'b']);
      const refused = await runAction({
        mode: 'backup',
        source: 'redis',
        'redis-url': managed.url,
        storage: store,
      });
      expect(refused.code).not.toBe(0);
      expect(lastErrorLine(refused)).toMatch(
        /^redis:\/\/127\.0\.0\.1:\d+ refuses SYNC, .*managed services \(ElastiCache, .*\) disable it; use the provider's own snapshot export there/,
      );
      expect(await storedFiles(store).catch(() => [])).toEqual([]);
    } finally {
      await managed.stop();
    }
  });

  it('an ACL user without SYNC is told which permissions to grant', async () => {
    await source.client.sendCommand([
      'ACL',
      'SETUSER',
      'nosync',
      'on',
      '>nosync-password',
      '~*',
      '+@all',
      '-sync',
      '-psync',
    ]);
    const url = `redis://nosync:nosync-password@127.0.0.1:${source.port}`;
    const refused = await runAction({
      mode: 'backup',
      source: 'redis',
      'redis-url': url,
      storage: storeOf('nosync'),
    });
    expect(lastErrorLine(refused)).toMatch(
      /the user nosync may not run SYNC; grant it \+sync \+psync \+replconf/,
    );
  });

  it('a transfer cut mid-way fails and leaves nothing in the store', async () => {
    const relay = await startRelay(source.port, 60_000);
    const store = storeOf('cut');
    try {
      const url = `redis://${encodeURIComponent(USER.name)}:${encodeURIComponent(USER.password)}@127.0.0.1:${relay.port}`;
      const cut = await runAction({
        mode: 'backup',
        source: 'redis',
        'redis-url': url,
        storage: store,
      });
      expect(cut.code).not.toBe(0);
      expect(lastErrorLine(cut)).toMatch(
        /^the snapshot from redis:\/\/backup:\*\*\*@127\.0\.0\.1:\d+ broke off after \d+ bytes \(redis-cli: I\/O Error reading RDB payload from socket\)$/,
      );
      expect(await storedFiles(store).catch(() => [])).toEqual([]);
    } finally {
      await relay.close();
    }
  });

  /**
   * A backup of the source whose stored snapshot `patch` then changes, its manifest made to
   * match (a store anyone with access could write): only the snapshot's own checks can tell.
   */
  async function forged(name: string, patch: (bytes: Buffer) => void, rdbVersion?: number) {
    const store = storeOf(name);
    const done = await backup(store, { name, compression: 'none' });
    expect(done.code, done.stdout).toBe(0);
    const file = path.join(store, done.outputs['backup-key'] ?? '');
    const bytes = await readFile(file);
    patch(bytes);
    await writeFile(file, bytes);
    const manifestFile = path.join(store, name, `${done.outputs['backup-id']}.manifest.json`);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
      object: { size: number; sha256: string };
      rdb: { version: number };
    };
    if (rdbVersion !== undefined) manifest.rdb.version = rdbVersion;
    manifest.object.sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(manifestFile, JSON.stringify(manifest));
    return store;
  }

  /** The snapshot's CRC-64, its last 8 bytes, made to match its changed bytes. */
  function checksumAnew(bytes: Buffer): void {
    new Crc64()
      .update(bytes.subarray(0, bytes.length - 8))
      .bytes()
      .copy(bytes, bytes.length - 8);
  }

  it('an RDB newer than the local redis-check-rdb and redis-server fails verify-latest before the download, and restore-test in one line', async () => {
    // The same snapshot, relabelled as a format no Redis writes yet, its checksum made anew.
    const store = await forged(
      'newer',
      (bytes) => {
        bytes.write('0099', 5, 'latin1');
        checksumAnew(bytes);
      },
      99,
    );
    const verified = await runAction({ mode: 'verify-latest', storage: store, name: 'newer' });
    expect(lastErrorLine(verified)).toMatch(
      /^backup \S+ is RDB version 99 \(written by Redis [\d.]+\), newer than redis-check-rdb [\d.]+ reads; install a Redis at least as new as the one backed up$/,
    );
    const tested = await runAction({ mode: 'restore-test', storage: store, name: 'newer' });
    // Checked before the download, as verify-latest is, against the scratch server's own Redis.
    expect(lastErrorLine(tested)).toMatch(
      /^backup \S+ is RDB version 99 \(written by Redis [\d.]+\), newer than redis-server [\d.]+ reads; install a Redis at least as new as the one backed up$/,
    );
  });

  it('a snapshot damaged inside a value (its sha256 forged to match) fails verify-latest and restore-test by its own checksum', async () => {
    const store = await forged('damaged', (bytes) => {
      const at = bytes.indexOf('name 1234');
      bytes[at] = 'N'.charCodeAt(0);
    });
    const verified = await runAction({ mode: 'verify-latest', storage: store, name: 'damaged' });
    expect(verified.code).not.toBe(0);
    expect(lastErrorLine(verified)).toMatch(/its checksum does not match its bytes/);
    expect(verified.everything).not.toMatch(/Unexpected EOF/);
    const tested = await runAction({ mode: 'restore-test', storage: store, name: 'damaged' });
    expect(lastErrorLine(tested)).toMatch(/its checksum does not match its bytes/);
  });

  it('a value whose own structure is broken (checksum made anew) fails verify-latest with redis-check-rdb’s finding', async () => {
    const store = await forged('broken', (bytes) => {
      // small-hash is a listpack: after the key, its length byte, then 4 bytes of its total
      // size; its last byte is the 0xff end mark.
      const value = bytes.indexOf('small-hash') + 'small-hash'.length + 1;
      bytes[value + bytes.readUInt32LE(value) - 1] = 0xfe;
      checksumAnew(bytes);
    });
    const verified = await runAction({ mode: 'verify-latest', storage: store, name: 'broken' });
    expect(verified.code).not.toBe(0);
    expect(lastErrorLine(verified)).toMatch(
      /^redis-check-rdb found the snapshot damaged: .*integrity check failed/,
    );
  });
});

describe('redis-url', () => {
  it('refuses a URL that selects one database, and names the input', async () => {
    const bad = await runAction({
      mode: 'backup',
      source: 'redis',
      'redis-url': 'redis://127.0.0.1:6379/2',
      storage: storeOf('bad'),
    });
    expect(lastErrorLine(bad)).toBe(
      'Input "redis-url": selects a database (2), but a Redis backup and restore take every database: remove the path; use redis://user:password@host:6379, or rediss:// for TLS (with cacert, cert, key, sni or insecure=true as parameters)',
    );
  });

  it('reaches redis-cli without the password in its arguments', async () => {
    const { cliConnectionArgs, cliEnv } = await import('../../src/redis/programs.js');
    const target = {
      host: 'h',
      port: 1,
      user: 'u',
      password: 'secret-value',
      display: 'redis://u:***@h:1',
    };
    expect(cliConnectionArgs(target).join(' ')).not.toContain('secret-value');
    expect(cliEnv(target).REDISCLI_AUTH).toBe('secret-value');
  });
});

it('the by-hand tools exist (redis-server, redis-cli, redis-check-rdb)', async () => {
  for (const program of ['redis-server', 'redis-cli', 'redis-check-rdb']) {
    const { stdout } = await run(program, ['--version']);
    expect(stdout).toMatch(/\d+\.\d+\.\d+/);
  }
});
