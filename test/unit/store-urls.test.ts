/**
 * Store URLs as users write them in storage and copy-to: settings of their own as URL parameters
 * over the s3-* inputs, keys named by credentials=NAME and read from the environment (masked,
 * never in the URL), several stores where a mode reads from any copy, and the stores that are one
 * place (or one inside the other) refused, on AWS's one namespace of buckets and per endpoint
 * elsewhere, and folders compared where they really are (symbolic links followed, on a real
 * filesystem). No store is reached.
 *
 * Covers: src/inputs/stores.ts, src/inputs/copy.ts, src/core/locations.ts, src/inputs/common.ts,
 * src/files/real-path.ts.
 */
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { overlapOf, storeLabel } from '../../src/core/locations.js';
import type {
  BackupSettings,
  CopySettings,
  StoreSettings,
  VerifySettings,
} from '../../src/core/settings.js';
import { readSettings } from '../../src/modes/index.js';

const DB = 'postgresql://app:secret@db.example.com:5432/shop';
const OFFSITE = {
  OFFSITE_ACCESS_KEY_ID: 'AKIAOFFSITE',
  OFFSITE_SECRET_ACCESS_KEY: 'off/site+secret',
  OFFSITE_SESSION_TOKEN: 'session-token-value',
};

const read = (inputs: Record<string, string>, env: NodeJS.ProcessEnv = OFFSITE) =>
  readSettings((name) => inputs[name] ?? '', '/work', env);

const refusal = (inputs: Record<string, string>, env?: NodeJS.ProcessEnv) =>
  read(inputs, env).then(
    () => 'accepted',
    (error: InputError) => `${error.input}: ${error.message}`,
  );

describe('copy-to', () => {
  it('starts each store from the s3-* inputs, with its own parameters over them', async () => {
    const settings = (await read({
      mode: 'copy',
      name: 'shop',
      storage: 's3://primary/db',
      's3-endpoint': 'https://minio.internal:9000',
      's3-region': 'eu-west-1',
      's3-sse': 'AES256',
      'copy-to': [
        's3://offsite/db?endpoint=https://acct.r2.cloudflarestorage.com&region=auto&sse=&credentials=OFFSITE',
        's3://archive/db?endpoint=&region=eu-central-1&storage-class=DEEP_ARCHIVE&sse=aws:kms&sse-kms-key-id=alias/backups&role-arn=arn:aws:iam::123456789012:role/backup-action-copier',
        '/mnt/nas/backups',
      ].join('\n'),
    })) as CopySettings;
    const [r2, archive, nas] = settings.copyTo;
    expect(r2).toEqual({
      location: { kind: 's3', bucket: 'offsite', prefix: 'db' },
      s3: {
        endpoint: 'https://acct.r2.cloudflarestorage.com',
        region: 'auto',
        timeoutMs: 60_000,
        keys: {
          from: 'OFFSITE',
          accessKeyId: 'AKIAOFFSITE',
          secretAccessKey: 'off/site+secret',
          sessionToken: 'session-token-value',
        },
      },
    });
    // `endpoint=` clears the inherited endpoint: AWS itself.
    expect(archive?.s3).toEqual({
      region: 'eu-central-1',
      timeoutMs: 60_000,
      storageClass: 'DEEP_ARCHIVE',
      sse: 'aws:kms',
      sseKmsKeyId: 'alias/backups',
      roleArn: 'arn:aws:iam::123456789012:role/backup-action-copier',
    });
    // A folder takes the source's settings as they are (it uses none of them).
    expect(nas?.location).toEqual({ kind: 'directory', path: '/mnt/nas/backups' });
    expect(settings.copyCheck).toBe('listing');
    expect(settings.last).toBeUndefined();
    // The keys the environment gave are secrets the edge masks.
    expect(settings.secrets).toEqual(
      expect.arrayContaining(['off/site+secret', 'session-token-value']),
    );
  });

  it('backup takes copy-to, copy-best-effort and copy-check; copy takes copy-last', async () => {
    const backup = (await read({
      storage: '/b',
      'database-url': DB,
      'copy-to': 's3://offsite/db',
      'copy-best-effort': 'true',
      'copy-check': 'sha256',
    })) as BackupSettings;
    expect(backup.copyTo.map((store) => storeLabel(store.location))).toEqual(['s3://offsite/db']);
    expect([backup.copyBestEffort, backup.copyCheck]).toEqual([true, 'sha256']);
    const copy = (await read({
      mode: 'copy',
      name: 'shop',
      storage: '/b',
      'copy-to': '/c',
      'copy-last': '3',
    })) as CopySettings;
    expect(copy.last).toBe(3);
    const plain = (await read({ storage: '/b', 'database-url': DB })) as BackupSettings;
    expect([plain.copyTo, plain.copyBestEffort, plain.retry]).toEqual([
      [],
      false,
      { retries: 2, delayMs: 30_000 },
    ]);
  });

  it('refuses a key pasted into a URL without echoing it', async () => {
    const secret = 'wJalrXUtnFEMIK7MDENG';
    for (const line of [
      `s3://offsite/db?secret_access_key=${secret}`,
      `s3://AKIA:${secret}@offsite/db`,
      `s3://offsite/db?endpoint=https://AKIA:${secret}@r2.example.com`,
    ]) {
      const said = await refusal({ storage: '/b', 'database-url': DB, 'copy-to': line });
      expect(said).toMatch(/^copy-to: Input "copy-to": /);
      expect(said).not.toContain(secret);
    }
  });

  it('never quotes what a parameter, the user part or a refused line holds, on any refusal', async () => {
    const secret = 'wJalrXUtnFEMIK7MDENGbPxRfiCY';
    const lines = [
      `s3://offsite/db?credentials=${secret}`,
      `s3://offsite/db?role-arn=${secret}`,
      `s3://offsite/db?role-arn=arn:aws:iam::123456789012:user/${secret}`,
      `s3://offsite/db?${secret}=1`,
      `s3://offsite/db?${secret}=1&${secret}=2`,
      `s3://offsite/db?region=${secret}`,
      `s3://offsite/db?storage-class=${secret}`,
      `s3://offsite/db?sse=${secret}`,
      `s3://offsite/db?timeout=${secret}`,
      `s3://offsite/db?force-path-style=${secret}`,
      `s3://offsite/db?endpoint=ftp://AKIA:${secret}@r2.example.com`,
      `s3://offsite/db?endpoint=${secret}`,
      `s3://Off_Site/db?credentials=${secret}`,
      `s3://offsite/../db?credentials=${secret}`,
      `gs://AKIA:${secret}@offsite/db`,
      `gs://offsite/db?credentials=${secret}`,
      `file:///srv/backups?credentials=${secret}`,
    ];
    for (const line of lines) {
      for (const [input, inputs] of [
        ['copy-to', { storage: '/b', 'database-url': DB, 'copy-to': line }],
        ['storage', { mode: 'verify-latest', name: 'shop', storage: `/b\n${line}` }],
      ] as const) {
        const said = await refusal(inputs);
        expect(said, line).toMatch(new RegExp(`^${input}: Input "${input}": `));
        expect(said, line).not.toContain(secret);
      }
    }
  });

  it('names the variable that is missing, and the line, among several', async () => {
    expect(
      await refusal(
        { storage: '/b', 'database-url': DB, 'copy-to': '/c\ns3://offsite/db?credentials=OFFSITE' },
        { OFFSITE_ACCESS_KEY_ID: 'AKIA' },
      ),
    ).toBe(
      'copy-to: Input "copy-to": line 2: parameter credentials: OFFSITE_SECRET_ACCESS_KEY is not set in the environment; name them instead: credentials=NAME reads NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY from the environment',
    );
    expect(
      await refusal({
        storage: '/b',
        'database-url': DB,
        'copy-to': 's3://offsite/db?region=eu-west-1&region=us-east-1',
      }),
    ).toMatch(/parameter region is given twice/);
    expect(
      await refusal({
        storage: '/b',
        'database-url': DB,
        'copy-to': 's3://offsite/db?credentials=lower',
      }),
    ).toMatch(/parameter credentials: is not a name of A-Z, 0-9 and _, such as OFFSITE/);
  });

  it('refuses a destination that is the source, inside it, or holding it, naming both', async () => {
    const base = { mode: 'copy', name: 'shop' };
    expect(await refusal({ ...base, storage: 's3://bkt/db', 'copy-to': 's3://bkt/db' })).toBe(
      'copy-to: Input "copy-to": s3://bkt/db is the same place as the source store (storage) (s3://bkt/db): a copy there would read back what it writes; give a store of its own',
    );
    expect(
      await refusal({ ...base, storage: 's3://bkt/db', 'copy-to': 's3://bkt/db/off' }),
    ).toMatch(/s3:\/\/bkt\/db\/off is inside the source store \(storage\) \(s3:\/\/bkt\/db\)/);
    expect(await refusal({ ...base, storage: '/srv/b/db', 'copy-to': '/srv/b' })).toMatch(
      /\/srv\/b holds the source store \(storage\) \(\/srv\/b\/db\) inside it/,
    );
    expect(await refusal({ ...base, storage: '/srv/b', 'copy-to': '/srv/c\n/srv/c/d' })).toMatch(
      /\/srv\/c holds another store it lists \(\/srv\/c\/d\) inside it/,
    );
  });

  it('takes stores apart that only look alike', async () => {
    const base = { mode: 'copy', name: 'shop' };
    for (const [storage, copyTo] of [
      // A prefix that merely starts with the source's is another folder.
      ['s3://bkt/db', 's3://bkt/db2'],
      // The same bucket name on another endpoint is another bucket.
      ['s3://bkt/db', 's3://bkt/db?endpoint=https://acct.r2.cloudflarestorage.com'],
      ['/srv/backups', '/srv/backups-offsite'],
    ] as const) {
      expect(await refusal({ ...base, storage, 'copy-to': copyTo }), copyTo).toBe('accepted');
    }
  });
});

describe('folders reached through a symbolic link', () => {
  let dir: string;
  const at = (...parts: string[]) => path.join(dir, ...parts);
  const base = { mode: 'copy', name: 'shop' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'store-links-'));
    await mkdir(at('real', 'store'), { recursive: true });
    await mkdir(at('elsewhere'));
    await symlink(at('real', 'store'), at('to-store'));
    await symlink(at('real'), at('to-real'));
    await symlink(at('elsewhere'), at('to-elsewhere'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('are refused where they really are the source, inside it or holding it, naming copy-to', async () => {
    const storage = at('real', 'store');
    const real = await realpath(storage);
    expect(await refusal({ ...base, storage, 'copy-to': at('to-store') })).toBe(
      `copy-to: Input "copy-to": ${at('to-store')} is the same place as the source store (storage) (${storage}) (really ${real} and ${real}): a copy there would read back what it writes; give a store of its own`,
    );
    expect(
      await refusal({ ...base, storage, 'copy-to': at('to-real', 'store', 'offsite') }),
    ).toMatch(`${at('to-real', 'store', 'offsite')} is inside the source store (storage)`);
    expect(await refusal({ ...base, storage: at('to-store'), 'copy-to': at('real') })).toMatch(
      `${at('real')} holds the source store (storage) (${at('to-store')}) inside it`,
    );
    expect(
      await refusal({
        ...base,
        storage: '/srv/b',
        'copy-to': `${at('elsewhere')}\n${at('to-elsewhere')}`,
      }),
    ).toMatch(
      `${at('elsewhere')} is the same place as another store it lists (${at('to-elsewhere')})`,
    );
    expect(
      await refusal({
        ...base,
        storage,
        'database-url': DB,
        mode: 'backup',
        'copy-to': at('to-store'),
      }),
    ).toMatch(/^copy-to: /);
  });

  it('a link to another folder is another store', async () => {
    expect(
      await refusal({ ...base, storage: at('real', 'store'), 'copy-to': at('to-elsewhere') }),
    ).toBe('accepted');
  });
});

describe('several stores in storage', () => {
  it('verify-latest, restore-test and restore take them in order, the first the primary', async () => {
    const settings = (await read({
      mode: 'verify-latest',
      name: 'shop',
      storage: 's3://primary/db\n\ns3://offsite/db?credentials=OFFSITE\n/mnt/nas',
    })) as VerifySettings;
    expect(storeLabel(settings.storage)).toBe('s3://primary/db');
    expect(settings.otherStores.map((store) => storeLabel(store.location))).toEqual([
      's3://offsite/db',
      '/mnt/nas',
    ]);
    expect(settings.secrets).toContain('off/site+secret');
    for (const mode of ['restore-test', 'restore'])
      expect(
        await refusal({
          mode,
          name: 'shop',
          confirm: mode === 'restore' ? 'shop' : '',
          'database-url': DB,
          storage: '/a\n/b',
        }),
        mode,
      ).toBe('accepted');
  });

  it('the modes that write or prune one store refuse a second line', async () => {
    const inputs: Record<string, string>[] = [
      { storage: '/a\n/b', 'database-url': DB },
      { mode: 'retention-prune', name: 'shop', 'keep-last': '3', storage: '/a\n/b' },
      { mode: 'copy', name: 'shop', storage: '/a\n/b', 'copy-to': '/c' },
    ];
    for (const each of inputs)
      expect(await refusal(each)).toMatch(/^storage: Input "storage": takes one store here/);
  });

  it('refuses one store listed twice', async () => {
    expect(await refusal({ mode: 'verify-latest', name: 'shop', storage: '/a\n/a/' })).toMatch(
      /\/a is the same place as another store it lists/,
    );
  });
});

describe('whether two stores are one place', () => {
  const s3 = (bucket: string, prefix: string, endpoint?: string): StoreSettings => ({
    location: { kind: 's3', bucket, prefix },
    s3: endpoint ? { endpoint } : {},
  });

  it('on AWS by bucket and prefix whatever the endpoint spelling, elsewhere per endpoint', () => {
    expect(overlapOf(s3('b', 'x'), s3('b', 'x', 'https://s3.eu-west-1.amazonaws.com'))).toBe(
      'same',
    );
    expect(
      overlapOf(s3('b', 'x', 'https://R2.example.com'), s3('b', 'x', 'https://r2.example.com')),
    ).toBe('same');
    expect(
      overlapOf(s3('b', 'x', 'https://a.example.com'), s3('b', 'x', 'https://b.example.com')),
    ).toBe(undefined);
    expect(overlapOf(s3('b', ''), s3('b', 'x/y'))).toBe('contains');
    expect(overlapOf(s3('b', 'x/y'), s3('b', 'x'))).toBe('inside');
    expect(overlapOf(s3('b', 'x'), s3('c', 'x'))).toBe(undefined);
  });

  it('labels a store without query, keys or a trailing slash', () => {
    expect(storeLabel({ kind: 's3', bucket: 'b', prefix: '' })).toBe('s3://b');
    expect(storeLabel({ kind: 's3', bucket: 'b', prefix: 'p/q' })).toBe('s3://b/p/q');
    expect(storeLabel({ kind: 'directory', path: '/srv/b' })).toBe('/srv/b');
  });
});
