/**
 * What a Redis backup reads and writes before any server is reached: `redis-url` in each mode,
 * the Redis checks, the Redis manifest as the strict parser judges it, and its object's key.
 * Pure: no I/O beyond a file the TLS parameters name.
 *
 * Covers: src/inputs/redis-url.ts, src/inputs/backup.ts, src/inputs/restore.ts,
 * src/inputs/checks.ts, src/core/manifest.ts, src/core/layout.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyKey } from '../../src/core/layout.js';
import { parseManifest } from '../../src/core/manifest.js';
import type { RedisBackupSettings, RedisRestoreSettings } from '../../src/core/settings.js';
import { parseCheck } from '../../src/inputs/checks.js';
import { readSettings } from '../../src/modes/index.js';

const read = (inputs: Record<string, string>) =>
  readSettings((name) => inputs[name] ?? '', '/work');
const failure = (inputs: Record<string, string>) =>
  read(inputs).then(
    () => 'no failure',
    (error: Error) => error.message,
  );
const BACKUP = { mode: 'backup', source: 'redis', storage: '/srv/backups' };
const ACCEPTED =
  'use redis://user:password@host:6379, or rediss:// for TLS (with cacert, cert, key, sni or insecure=true as parameters)';

describe('redis-url', () => {
  it('reads the host, port, ACL user and password, shown without the password and masked', async () => {
    const settings = (await read({
      ...BACKUP,
      'redis-url': 'redis://backup:p%40ss%3Aword@cache.internal:6380',
    })) as RedisBackupSettings;
    expect(settings).toMatchObject({
      kind: 'redis',
      name: 'redis',
      redis: {
        host: 'cache.internal',
        port: 6380,
        user: 'backup',
        password: 'p@ss:word',
        display: 'redis://backup:***@cache.internal:6380',
      },
    });
    expect(settings.secrets).toEqual(expect.arrayContaining(['p@ss:word', 'p%40ss%3Aword']));
  });

  it('takes the default user’s password, the default port, and TLS with its files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redis-tls-input-'));
    writeFileSync(path.join(dir, 'ca.pem'), 'not read here');
    const plain = (await read({
      ...BACKUP,
      'redis-url': 'redis://:secret-pass@h',
    })) as RedisBackupSettings;
    expect(plain.redis).toMatchObject({ host: 'h', port: 6379, password: 'secret-pass' });
    expect(plain.redis.user).toBeUndefined();
    const tls = (await read({
      ...BACKUP,
      'redis-url': `rediss://h:6380?cacert=${encodeURIComponent(path.join(dir, 'ca.pem'))}&sni=cache&insecure=false`,
    })) as RedisBackupSettings;
    expect(tls.redis.tls).toEqual({
      cacert: path.join(dir, 'ca.pem'),
      sni: 'cache',
      insecure: false,
    });
  });

  it('refuses, in one line naming the input, what is not a Redis it can reach as written', async () => {
    const cases: [string, string][] = [
      ['', 'is required'],
      ['postgresql://u@h/db', 'has the scheme "postgresql:"'],
      [
        'redis://h/0',
        'selects a database (0), but a Redis backup and restore take every database: remove the path',
      ],
      ['redis://user@h', 'names the user user without a password'],
      ['redis://h:99999', 'is not a valid URL'],
      ['redis://h?cacert=/x', 'has TLS parameters without TLS (write rediss://)'],
      [
        'rediss://h?verify=no',
        'has the parameter "verify"; only cacert, cert, key, sni, insecure are accepted',
      ],
      ['rediss://h?cert=/a', 'gives only one of cert and key (give both)'],
      ['rediss://h?cacert=/no/such/ca.pem', 'has cacert=/no/such/ca.pem, which cannot be read'],
      ['rediss://h?insecure=yes', 'has insecure that is neither true nor false'],
    ];
    for (const [url, detail] of cases) {
      expect(await failure({ ...BACKUP, 'redis-url': url })).toBe(
        `Input "redis-url": ${detail}; ${ACCEPTED}`,
      );
    }
    expect(
      await failure({ ...BACKUP, 'redis-url': 'redis://:hunter2-password@h/x' }),
    ).not.toContain('hunter2');
  });

  it('refuses PostgreSQL server inputs with source: redis', async () => {
    expect(await failure({ ...BACKUP, 'redis-url': 'redis://h', databases: 'all' })).toBe(
      'Input "databases": is for source: postgres; remove it with source: redis',
    );
  });

  it.each([
    ['database-url', 'postgresql://u:pw-for-the-db@db/shop', 'postgres'],
    ['pg-dump-args', '--no-owner', 'postgres'],
    ['pg-bin-dir', '/usr/lib/postgresql/17/bin', 'postgres'],
    ['paths', '/etc', 'files'],
    ['exclude', '*.log', 'files'],
    ['exclude-from', '.backup-exclude', 'files'],
  ])('refuses %s, which would do nothing with source: redis', async (name, value, owner) => {
    expect(await failure({ ...BACKUP, 'redis-url': 'redis://h', [name]: value })).toBe(
      `Input "${name}": is for source: ${owner}; remove it with source: redis`,
    );
  });

  it('refuses redis-url without source: redis, naming the source it would go to', async () => {
    const { source, ...postgres } = BACKUP;
    expect(source).toBe('redis');
    expect(await failure({ ...postgres, 'redis-url': 'redis://:pw-of-cache@h' })).toBe(
      'Input "redis-url": is for source: redis; set source: redis to back up a Redis (the source is postgres)',
    );
    expect(
      await failure({ ...BACKUP, source: 'files', paths: '/etc', 'redis-url': 'redis://h' }),
    ).toBe(
      'Input "redis-url": is for source: redis; set source: redis to back up a Redis (the source is files)',
    );
  });
});

describe('restore into a Redis', () => {
  const RESTORE = {
    mode: 'restore',
    storage: '/srv/backups',
    'redis-url': 'redis://:pw-longer-than-8@10.0.0.5:6390',
  };

  it('takes the target from redis-url, confirmed by its host:port', async () => {
    const settings = (await read({
      ...RESTORE,
      confirm: '10.0.0.5:6390',
      clean: 'true',
    })) as RedisRestoreSettings;
    expect(settings).toMatchObject({
      into: 'redis',
      clean: true,
      name: 'redis',
      redis: { host: '10.0.0.5', port: 6390 },
    });
    expect(settings.secrets).toContain('pw-longer-than-8');
  });

  it('refuses a confirm that does not name it, a second target, and PostgreSQL restore inputs', async () => {
    expect(await failure({ ...RESTORE })).toBe(
      'Input "confirm": is required; set it to the target\'s address ("10.0.0.5:6390") to allow the restore',
    );
    expect(await failure({ ...RESTORE, confirm: '10.0.0.5' })).toBe(
      'Input "confirm": "10.0.0.5" does not match the target; set confirm: 10.0.0.5:6390 to restore into it',
    );
    expect(await failure({ ...RESTORE, confirm: '10.0.0.5:6390', 'target-path': '/srv' })).toBe(
      'Input "redis-url": and target-path are both given; give the one target to restore into',
    );
    expect(
      await failure({ ...RESTORE, confirm: '10.0.0.5:6390', 'database-url': 'postgresql://u@h/d' }),
    ).toBe(
      'Input "redis-url": and database-url are both given; give the one target to restore into',
    );
    expect(await failure({ ...RESTORE, confirm: '10.0.0.5:6390', 'restore-globals': 'true' })).toBe(
      'Input "restore-globals": is for a server backup restored into database-url; redis-url takes a backup that has none',
    );
  });
});

describe('Redis checks', () => {
  it('reads keys counts and keys that must exist, after a database', () => {
    expect(parseCheck('db3: keys >= 100')).toMatchObject({
      kind: 'count',
      database: 'db3',
      table: 'public.keys',
      value: 100,
    });
    expect(parseCheck('exists user:1 profile')).toEqual({
      kind: 'exists',
      text: 'exists user:1 profile',
      key: 'user:1 profile',
    });
    expect(parseCheck('db1: EXISTS "a\\nb ✓"')).toMatchObject({
      kind: 'exists',
      database: 'db1',
      key: 'a\nb ✓',
    });
    expect(parseCheck('exists "unterminated')).toBeUndefined();
    expect(parseCheck('exists')).toBeUndefined();
  });
});

const ID = '20260102T030405Z-a1b2c3';
const KEY = `cache/${ID}.rdb.zst`;
const manifest = (change: (m: Record<string, unknown>) => void = () => undefined) => {
  const m: Record<string, unknown> = {
    version: 1,
    id: ID,
    name: 'cache',
    createdAt: '2026-01-02T03:04:05Z',
    completedAt: '2026-01-02T03:04:09Z',
    source: { kind: 'redis', serverVersion: '7.0.15' },
    format: 'rdb',
    compression: 'zstd',
    encryption: 'none',
    object: { key: KEY, size: 10, sha256: 'a'.repeat(64) },
    rdb: {
      version: 10,
      databases: [
        { db: 0, keys: 3, expires: 1 },
        { db: 4, keys: 1, expires: 0 },
      ],
    },
    tool: { name: 'backup-action', version: '1.0.0' },
    dump: { program: 'redis-cli', version: '7.0.15' },
  };
  change(m);
  return JSON.stringify(m);
};
const problem = (change: (m: Record<string, unknown>) => void) => {
  try {
    parseManifest(manifest(change), 'k');
    return 'parsed';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('the Redis manifest', () => {
  it('parses as a backup writes it, and its object is a key a prune may touch', () => {
    expect(parseManifest(manifest(), 'k')).toMatchObject({
      source: { kind: 'redis' },
      format: 'rdb',
    });
    expect(classifyKey('cache', KEY)).toEqual({ kind: 'object', id: ID, extension: 'rdb.zst' });
    expect(classifyKey('cache', `cache/${ID}.rdb.gz.age`)).toMatchObject({ kind: 'object' });
    expect(classifyKey('cache', `cache/${ID}.rdbx`)).toBeUndefined();
  });

  it('refuses one that is not exactly what a Redis backup writes', () => {
    expect(problem((m) => (m.format = 'tar'))).toBe('corrupt manifest k: bad format');
    expect(
      problem((m) => (m.object = { key: `cache/${ID}.dump.zst`, size: 1, sha256: 'a'.repeat(64) })),
    ).toBe('corrupt manifest k: object.key is not this backup’s own key');
    expect(problem((m) => delete m.rdb)).toBe('corrupt manifest k: bad rdb');
    expect(problem((m) => (m.rowCounts = { 'public.t': 1 }))).toBe(
      'corrupt manifest k: a Redis backup records its keys under rdb',
    );
    expect(
      problem(
        (m) =>
          (m.rdb = {
            version: 10,
            databases: [
              { db: 4, keys: 1, expires: 0 },
              { db: 0, keys: 1, expires: 0 },
            ],
          }),
      ),
    ).toBe('corrupt manifest k: bad rdb.databases');
    expect(
      problem((m) => (m.rdb = { version: 10, databases: [{ db: 0, keys: 1, expires: 2 }] })),
    ).toBe('corrupt manifest k: bad rdb.databases');
    expect(problem((m) => (m.source = { kind: 'redis', database: 'x' }))).toBe(
      'corrupt manifest k: bad source',
    );
  });

  it('a PostgreSQL manifest with an rdb field is refused', () => {
    expect(
      problem((m) => {
        m.source = { kind: 'postgres', database: 'shop' };
        m.format = 'pg_dump-custom';
        m.object = { key: `cache/${ID}.dump.zst`, size: 1, sha256: 'a'.repeat(64) };
      }),
    ).toBe('corrupt manifest k: rdb without source redis');
  });
});
