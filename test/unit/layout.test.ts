/**
 * Ids, keys and manifests: the stable storage layout, as pure logic.
 *
 * Covers: src/core/ids.ts, src/core/layout.ts, src/core/manifest.ts, src/retention/policy.ts.
 */
import { describe, expect, it } from 'vitest';
import { idTime, newBackupId, newestFirst, startedAt } from '../../src/core/ids.js';
import { decide } from '../../src/retention/policy.js';
import {
  classifyKey,
  databaseFileName,
  databaseObjectKey,
  globalsObjectKey,
  identityKey,
  manifestKey,
  objectExtension,
  objectKey,
} from '../../src/core/layout.js';
import {
  manifestObjects,
  manifestSize,
  parseManifest,
  serializeManifest,
  type DatabaseManifest,
} from '../../src/core/manifest.js';

const ID = '20261122T030000Z-a1b2c3';

function manifest(overrides: Partial<DatabaseManifest> = {}): DatabaseManifest {
  return {
    version: 1,
    id: ID,
    name: 'shop',
    createdAt: '2026-11-22T03:00:00.000Z',
    completedAt: '2026-11-22T03:01:00.000Z',
    source: { kind: 'postgres', database: 'shop', serverVersion: '15.18' },
    format: 'pg_dump-custom',
    compression: 'zstd',
    encryption: 'age',
    object: { key: `shop/${ID}.dump.zst.age`, size: 10, sha256: 'a'.repeat(64) },
    rowCounts: { 'public.orders': 3 },
    rowCountsMode: 'exact',
    tool: { name: 'backup-action', version: '0.1.0' },
    ...overrides,
  };
}

describe('ids', () => {
  it('are the UTC start time and six hex digits, and sort by time', () => {
    const id = newBackupId(new Date('2026-01-02T03:04:05.678Z'), () =>
      Buffer.from([0xab, 0xcd, 0xef]),
    );
    expect(id).toBe('20260102T030405Z-abcdef');
    expect(idTime(id)?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    const later = newBackupId(new Date('2026-01-02T03:04:06Z'), () => Buffer.from([0, 0, 0]));
    expect([later, id].sort()).toEqual([id, later]);
    expect(idTime('20261322T000000Z-000000')?.getUTCMonth()).not.toBe(12);
  });

  // Seen in CI: two backups of one second; retention-prune kept the one whose suffix sorts last
  // while verify-latest named the other, started later, as latest.
  it('of one second are ordered by their manifests, as latest orders them, for retention too', () => {
    const early = { id: '20261207T134324Z-fff000', createdAt: '2026-12-07T13:43:24.100Z' };
    const late = { id: '20261207T134324Z-000fff', createdAt: '2026-12-07T13:43:24.900Z' };
    const candidates = [early, late].map(({ id, createdAt }) => ({
      id,
      createdAt: startedAt(id, createdAt) ?? new Date(NaN),
    }));
    const kept = decide(candidates, { last: 1 }, 'UTC').filter((one) => one.keep);
    expect(kept.map((one) => one.id)).toEqual([late.id]);
    // A manifest dated in another second is not believed over its id.
    expect(startedAt(late.id, '2030-01-01T00:00:00.500Z')?.toISOString()).toBe(
      '2026-12-07T13:43:24.000Z',
    );
    expect(startedAt('not-an-id', late.createdAt)).toBeUndefined();
  });

  it('in the one order of backups: by start to the millisecond, then by second, a broken id last', () => {
    const early = { id: '20261207T134324Z-fff000', createdAt: '2026-12-07T13:43:24.100Z' };
    const late = { id: '20261207T134324Z-000fff', createdAt: '2026-12-07T13:43:24.900Z' };
    const next = { id: '20261207T134325Z-000000', createdAt: '2026-12-07T13:43:25.000Z' };
    const broken = { id: 'not-an-id', createdAt: '2030-01-01T00:00:00.000Z' };
    expect([broken, early, next, late].sort(newestFirst)).toEqual([next, late, early, broken]);
    // Two of one time (forged alike) still order, by id, whatever order they come in.
    const twin = { ...early, id: '20261207T134324Z-aaa000' };
    expect([twin, early].sort(newestFirst)).toEqual([early, twin]);
    expect([early, twin].sort(newestFirst)).toEqual([early, twin]);
  });
});

describe('keys', () => {
  it('name each layer in the extension', () => {
    expect(objectExtension('pg_dump-custom', 'zstd', 'age')).toBe('dump.zst.age');
    expect(objectExtension('pg_dump-custom', 'zstd', 'gpg')).toBe('dump.zst.gpg');
    expect(objectExtension('tar', 'gzip', 'none')).toBe('tar.gz');
    expect(objectExtension('tar', 'none', 'gpg')).toBe('tar.gpg');
    expect(objectExtension('pg_dump-custom', 'none', 'none')).toBe('dump');
    expect(objectKey('shop', ID, 'dump.zst')).toBe(`shop/${ID}.dump.zst`);
    expect(manifestKey('shop', ID)).toBe(`shop/${ID}.manifest.json`);
  });

  it('classify only the set’s own layout', () => {
    expect(classifyKey('shop', `shop/${ID}.manifest.json`)).toEqual({ kind: 'manifest', id: ID });
    expect(classifyKey('shop', `shop/${ID}.manifest.json.sig`)).toEqual({
      kind: 'signature',
      id: ID,
    });
    for (const extension of ['dump.zst.age', 'dump.zst.gpg', 'tar.gz.gpg', 'tar.gpg']) {
      expect(classifyKey('shop', `shop/${ID}.${extension}`)).toEqual({
        kind: 'object',
        id: ID,
        extension,
      });
    }
    for (const foreign of [
      `shop2/${ID}.dump`,
      `shop/${ID}.txt`,
      `shop/${ID}.dump.gpg.zst`,
      `shop/${ID}.dump.age.gpg`,
      `shop/${ID}.dump.pgp`,
      'shop/notes.txt',
      `shop/sub/${ID}.dump`,
      `shop/.${ID}.dump.partial-0a0b0c0d`,
      `other/shop/${ID}.dump`,
    ]) {
      expect(classifyKey('shop', foreign), foreign).toBeUndefined();
    }
  });
});

describe('a passphrase backup’s identity', () => {
  const identity = { key: identityKey('shop', ID), size: 257, sha256: 'b'.repeat(64) };
  const text = (changes: Record<string, unknown>) => JSON.stringify({ ...manifest(), ...changes });

  it('is an object of its backup: counted, copied and deleted with it, but not in its size', () => {
    expect(identity.key).toBe(`shop/${ID}.identity.age`);
    expect(classifyKey('shop', identity.key)).toEqual({
      kind: 'object',
      id: ID,
      extension: 'identity.age',
    });
    const parsed = parseManifest(text({ identity }), manifestKey('shop', ID));
    expect(manifestObjects(parsed)).toEqual([manifest().object, identity]);
    expect(manifestSize(parsed)).toBe(manifest().object.size);
  });

  it('is only ever its own backup’s, of an age backup, and small', () => {
    const key = manifestKey('shop', ID);
    const cases: [Record<string, unknown>, string][] = [
      [
        { identity: { ...identity, key: identityKey('shop', '20261122T030000Z-ffffff') } },
        'identity.key is not this backup’s own key',
      ],
      [
        { identity: { ...identity, key: `shop/${ID}.dump.zst.age` } },
        'identity.key is not this backup’s own key',
      ],
      [
        {
          identity,
          encryption: 'gpg',
          object: { ...manifest().object, key: `shop/${ID}.dump.zst.gpg` },
        },
        'identity without encryption age',
      ],
      [{ identity: { ...identity, size: 1 << 20 } }, 'bad identity.size'],
      [{ identity: { ...identity, sha256: 'nope' } }, 'bad identity.sha256'],
    ];
    for (const [changes, problem] of cases) {
      expect(() => parseManifest(text(changes), key), problem).toThrow(`: ${problem}`);
    }
  });
});

describe('a server backup’s keys', () => {
  const ODD = 'Café "Ölß" 2';
  const oddFile = databaseFileName(ODD);

  it('name each database by a safe file name, the globals by one of their own', () => {
    expect(databaseFileName('crm_2')).toBe('crm_2');
    expect(oddFile).toMatch(/^[a-z0-9_]+-[0-9a-f]{16}$/);
    // Two names that reduce alike still get two files.
    expect(databaseFileName('Crm')).not.toBe(databaseFileName('CRM'));
    expect(databaseFileName('crm')).not.toBe(databaseFileName('Crm'));
    expect(databaseObjectKey('shop', ID, ODD, 'zstd', 'age')).toBe(
      `shop/${ID}/${oddFile}.dump.zst.age`,
    );
    expect(globalsObjectKey('shop', ID, 'gzip', 'none')).toBe(`shop/${ID}/globals.sql.gz`);
    expect(globalsObjectKey('shop', ID, 'zstd', 'gpg')).toBe(`shop/${ID}/globals.sql.zst.gpg`);
  });

  it('classify as objects of their id, in every layer', () => {
    for (const file of [
      'crm.dump',
      'crm.dump.zst',
      'crm.dump.gz.age',
      `${oddFile}.dump.zst.age`,
      'globals.sql',
      'globals.sql.zst.age',
      'crm.dump.zst.gpg',
      'globals.sql.gpg',
    ]) {
      expect(classifyKey('shop', `shop/${ID}/${file}`), file).toEqual({
        kind: 'object',
        id: ID,
        extension: file,
      });
    }
  });

  it('anything else in or around an id folder is not ours to touch', () => {
    for (const hostile of [
      `shop/${ID}/../${ID}.dump`,
      `shop/${ID}/..`,
      `shop/${ID}/../../etc/passwd`,
      `shop/../${ID}/crm.dump`,
      `shop/${ID}/./crm.dump`,
      `shop/${ID}/sub/crm.dump`,
      `shop/${ID}/${ID}/crm.dump`,
      `shop/${ID}//crm.dump`,
      `shop/${ID}/`,
      `shop/20261122T030000Z-A1B2C3/crm.dump`,
      `shop/20261122T030000Z/crm.dump`,
      `shop/not-an-id/crm.dump`,
      `shop/${ID}.dump/crm.dump`,
      `shop/${ID}/CRM.dump`,
      `shop/${ID}/Globals.sql`,
      `shop/${ID}/crm.DUMP`,
      `shop/${ID}/crm`,
      `shop/${ID}/globals`,
      `shop/${ID}/crm.dump.txt`,
      `shop/${ID}/crm.tar`,
      `shop/${ID}/crm.sql`,
      `shop/${ID}/crm.dump.age.zst`,
      `shop/${ID}/crm.dump.gpg.age`,
      `shop/${ID}/crm.manifest.json`,
      `shop/${ID}/.crm.dump.zst.partial-0a0b0c0d`,
      `shop/${ID}/crm-abc.dump`,
      `shop/${ID}/cr m.dump`,
      `shop/${ID}/crm.dump\n`,
      `shop/${ID}\\crm.dump`,
      `shop2/${ID}/crm.dump`,
      `other/shop/${ID}/crm.dump`,
    ]) {
      expect(classifyKey('shop', hostile), hostile).toBeUndefined();
    }
  });
});

describe('manifests', () => {
  it('round-trip', () => {
    const m = manifest();
    expect(parseManifest(serializeManifest(m), 'k', 'shop')).toEqual(m);
    const gpg = manifest({
      encryption: 'gpg',
      object: { key: `shop/${ID}.dump.zst.gpg`, size: 10, sha256: 'a'.repeat(64) },
    });
    expect(parseManifest(serializeManifest(gpg), 'k', 'shop')).toEqual(gpg);
  });

  it.each([
    ['not JSON', '{"version":1', /not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    [
      'another set',
      serializeManifest(
        manifest({
          name: 'other',
          object: { key: `other/${ID}.dump`, size: 1, sha256: 'a'.repeat(64) },
        }),
      ),
      /belongs to set "other"/,
    ],
    [
      'a key outside the set',
      serializeManifest(
        manifest({ object: { key: `../etc/${ID}.dump`, size: 1, sha256: 'a'.repeat(64) } }),
      ),
      /object.key/,
    ],
    [
      'an absolute key',
      serializeManifest(
        manifest({ object: { key: `/shop/${ID}.dump`, size: 1, sha256: 'a'.repeat(64) } }),
      ),
      /object.key/,
    ],
    [
      'another backup’s key',
      serializeManifest(
        manifest({
          object: { key: 'shop/20200101T000000Z-000000.dump', size: 1, sha256: 'a'.repeat(64) },
        }),
      ),
      /object.key/,
    ],
    [
      'a negative size',
      serializeManifest(
        manifest({ object: { key: `shop/${ID}.dump`, size: -1, sha256: 'a'.repeat(64) } }),
      ),
      /object.size/,
    ],
    [
      'a huge size',
      JSON.stringify({
        ...manifest(),
        object: { key: `shop/${ID}.dump`, size: 1e300, sha256: 'a'.repeat(64) },
      }),
      /object.size/,
    ],
    ['a bad time', serializeManifest(manifest({ createdAt: 'yesterday' })), /createdAt/],
    ['a string row count', JSON.stringify({ ...manifest(), rowCounts: { t: '3' } }), /rowCounts/],
    // Each source is written in one format: a mix was never written, and would pick the wrong kind.
    [
      'a database dump as a tar',
      JSON.stringify({
        ...manifest(),
        format: 'tar',
        object: { key: `shop/${ID}.tar.zst.age`, size: 10, sha256: 'a'.repeat(64) },
      }),
      /bad format/,
    ],
    // The layers are in the key: a manifest whose key says another layer than it records is not
    // what a run writes, and reading it would undo the wrong layer.
    [
      'gpg encryption with an age key',
      JSON.stringify({ ...manifest(), encryption: 'gpg' }),
      /object\.key is not this backup’s own key/,
    ],
    [
      'a .gpg key with age encryption',
      JSON.stringify({
        ...manifest(),
        object: { key: `shop/${ID}.dump.zst.gpg`, size: 10, sha256: 'a'.repeat(64) },
      }),
      /object\.key is not this backup’s own key/,
    ],
    [
      'an encryption no release wrote',
      JSON.stringify({
        ...manifest(),
        encryption: 'pgp',
        object: { key: `shop/${ID}.dump.zst.pgp`, size: 10, sha256: 'a'.repeat(64) },
      }),
      /bad encryption/,
    ],
    [
      'files as a pg_dump archive',
      JSON.stringify({ ...manifest(), source: { kind: 'files' }, rowCounts: undefined }),
      /bad format/,
    ],
  ])('refuses %s, naming the key', (_label, text, reason) => {
    expect(() => parseManifest(text, 'shop/x.manifest.json', 'shop')).toThrow(
      /^corrupt manifest shop\/x\.manifest\.json: /,
    );
    expect(() => parseManifest(text, 'shop/x.manifest.json', 'shop')).toThrow(reason);
  });
});
