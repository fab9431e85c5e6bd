/**
 * Manifests are read from storage anyone with bucket access can write. Thousands of generated
 * malformed manifests (random bytes, truncated JSON, wrong types, huge numbers, crafted keys) must
 * each be either rejected as corrupt (ManifestError naming the key) or accepted with every field
 * the product reads of the right type and the object key its own: never any other error.
 *
 * Covers: src/core/manifest.ts.
 */
import { describe, expect, it } from 'vitest';
import { databaseFileName, databaseObjectKey, globalsObjectKey } from '../../src/core/layout.js';
import {
  ManifestError,
  manifestObjects,
  parseManifest,
  serializeManifest,
  type AnyManifest,
  type DatabaseManifest,
  type FilesManifest,
  type ServerManifest,
} from '../../src/core/manifest.js';

const KEY = 'shop/20261101T020000Z-a1b2c3.manifest.json';
/** Every field a manifest of one object may hold, those of a files backup too. */
const VALID: DatabaseManifest & Pick<FilesManifest, 'files'> = {
  version: 1,
  id: '20261101T020000Z-a1b2c3',
  name: 'shop',
  createdAt: '2026-11-01T02:00:00.000Z',
  completedAt: '2026-11-01T02:01:00.000Z',
  source: { kind: 'postgres', database: 'shop', serverVersion: '15.18' },
  format: 'pg_dump-custom',
  compression: 'zstd',
  encryption: 'age',
  object: { key: 'shop/20261101T020000Z-a1b2c3.dump.zst.age', size: 1234, sha256: 'ab'.repeat(32) },
  rowCounts: { 'public.orders': 10, 'sales.items': 0 },
  rowCountsMode: 'exact',
  files: { count: 3, bytes: 10, listDigest: 'cd'.repeat(32) },
  tool: { name: 'backup-action', version: '1.0.0' },
  dump: { program: 'pg_dump', version: '15.18' },
  run: { repository: 'acme/shop', runId: '42' },
};

const ID = '20261101T020000Z-a1b2c3';
/** Needs quoting in SQL and a hashed file name: upper case, a space, a quote and non-ASCII. */
const ODD_NAME = 'Café "Ölß" 2';
const SERVER: ServerManifest = {
  version: 1,
  id: ID,
  name: 'shop',
  createdAt: '2026-11-01T02:00:00.000Z',
  completedAt: '2026-11-01T02:09:00.000Z',
  source: { kind: 'server', serverVersion: '15.18' },
  format: 'pg_dump-custom',
  compression: 'zstd',
  encryption: 'age',
  databases: [
    {
      name: 'crm',
      object: { key: `shop/${ID}/crm.dump.zst.age`, size: 4321, sha256: 'ef'.repeat(32) },
      rowCounts: { 'public.contacts': 100 },
      serverVersion: '15.18',
    },
    {
      name: ODD_NAME,
      object: {
        key: databaseObjectKey('shop', ID, ODD_NAME, 'zstd', 'age'),
        size: 99,
        sha256: '01'.repeat(32),
      },
      rowCounts: { 'public.items': 0 },
    },
  ],
  globals: {
    object: { key: `shop/${ID}/globals.sql.zst.age`, size: 800, sha256: '23'.repeat(32) },
    roles: ['app', 'Ädmin'],
    rolePasswords: true,
  },
  rowCountsMode: 'exact',
  tool: { name: 'backup-action', version: '1.0.0' },
  dump: { program: 'pg_dump', version: '15.18' },
};

/** A small, seeded generator, so every run tries the same cases and a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const WEIRD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  '',
  'x'.repeat(10_000),
  '../../etc/passwd',
  '/etc/passwd',
  'other/20261101T020000Z-a1b2c3.dump.zst.age',
  'shop/../other/20261101T020000Z-a1b2c3.dump.zst.age',
  'shop/20261101T020000Z-a1b2c3.dump',
  '\u0000',
  [],
  [1, 2],
  {},
  { toString: 'x' },
  { __proto__: { polluted: true } },
];

type Json = Record<string, unknown>;

/** Every path to a value in `value`, e.g. ['object', 'key']. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [
    prefix,
    ...Object.entries(value).flatMap(([name, child]) => paths(child, [...prefix, name])),
  ];
}

function mutate(next: () => number, valid: AnyManifest = VALID): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const text = JSON.stringify(valid, null, 2);
  switch (pick(['bytes', 'truncate', 'value', 'delete', 'flip'] as const)) {
    case 'bytes':
      return Buffer.from(
        Array.from({ length: Math.floor(next() * 400) }, () => next() * 256),
      ).toString(pick(['utf8', 'latin1'] as const));
    case 'truncate':
      return text.slice(0, Math.floor(next() * text.length));
    case 'flip': {
      const at = Math.floor(next() * text.length);
      return text.slice(0, at) + String.fromCharCode(Math.floor(next() * 128)) + text.slice(at + 1);
    }
    default: {
      const copy = structuredClone(valid) as unknown as Json;
      const path = pick(paths(copy).filter((p) => p.length > 0));
      const parent = path.slice(0, -1).reduce<Json>((node, name) => node[name] as Json, copy);
      const last = path.at(-1)!;
      if (next() < 0.3) delete parent[last];
      else parent[last] = pick(WEIRD_VALUES);
      return JSON.stringify(copy);
    }
  }
}

/** What the product relies on in an accepted manifest. */
function expectUsable(m: AnyManifest): void {
  expect(m.version).toBe(1);
  expect(m.name).toBe('shop');
  const folder = 'databases' in m ? `${m.name}/${m.id}/` : `${m.name}/${m.id}.`;
  for (const object of manifestObjects(m)) {
    expect(object.key.startsWith(folder)).toBe(true);
    expect(object.key.slice(folder.length)).not.toContain('/');
    expect(object.key).not.toContain('..');
    expect(Number.isSafeInteger(object.size) && object.size >= 0).toBe(true);
    expect(object.sha256).toMatch(/^[0-9a-f]{64}$/);
  }
  expect(Number.isNaN(Date.parse(m.createdAt))).toBe(false);
  const counts =
    'databases' in m ? m.databases.map((d) => d.rowCounts) : ['rowCounts' in m ? m.rowCounts : {}];
  for (const count of counts.flatMap((c) => Object.values(c ?? {})))
    expect(Number.isSafeInteger(count)).toBe(true);
  if (m.dump) expect(typeof m.dump.version.split('.')[0]).toBe('string');
  if ('databases' in m) expectUsableServer(m);
  for (const value of Object.values(m.run ?? {})) expect(typeof value).toBe('string');
  for (const value of [
    'database' in m.source ? m.source.database : undefined,
    'serverVersion' in m.source ? m.source.serverVersion : undefined,
  ]) {
    expect(value === undefined || typeof value === 'string').toBe(true);
  }
}

/** Each object is exactly the key a run writes for its database's exact name, one per database. */
function expectUsableServer(m: ServerManifest): void {
  expect(m.format).toBe('pg_dump-custom');
  expect(m.databases.length).toBeGreaterThan(0);
  const layers = [m.compression, m.encryption] as const;
  for (const database of m.databases) {
    expect(typeof database.name).toBe('string');
    expect(database.object.key).toBe(databaseObjectKey(m.name, m.id, database.name, ...layers));
    expect(
      database.object.key.split('/')[2]?.startsWith(`${databaseFileName(database.name)}.`),
    ).toBe(true);
  }
  expect(new Set(m.databases.map((d) => d.object.key)).size).toBe(m.databases.length);
  if (m.globals) {
    expect(m.globals.object.key).toBe(globalsObjectKey(m.name, m.id, ...layers));
    expect(m.globals.roles.every((role) => typeof role === 'string')).toBe(true);
    expect(typeof m.globals.rolePasswords).toBe('boolean');
  }
}

/**
 * Parses 5,000 mutations of `valid` drawn from `seed`: each must be refused as corrupt, naming its
 * key, or be safely usable. Returns how many were refused.
 */
function corruptOf5000(seed: number, valid: AnyManifest): number {
  const next = random(seed);
  let corrupt = 0;
  for (let i = 0; i < 5000; i += 1) {
    const text = mutate(next, valid);
    let parsed: AnyManifest | undefined;
    try {
      parsed = parseManifest(text, KEY, 'shop');
    } catch (error) {
      expect(error, text).toBeInstanceOf(ManifestError);
      expect((error as Error).message.startsWith(`corrupt manifest ${KEY}: `)).toBe(true);
      corrupt += 1;
    }
    if (parsed) expectUsable(parsed);
  }
  return corrupt;
}

describe('malformed manifests', () => {
  it('the valid manifest itself parses', () => {
    expectUsable(parseManifest(serializeManifest(VALID), KEY, 'shop'));
  });

  it('5,000 generated malformed manifests: each corrupt (naming its key) or safely usable', () => {
    // Most mutations break something; the few that do not (a deleted optional field) are fine.
    expect(corruptOf5000(20261123, VALID)).toBeGreaterThan(4000);
  });

  it('an object key outside its own backup is corrupt, whatever its form', () => {
    for (const key of [
      '../shop/20261101T020000Z-a1b2c3.dump.zst.age',
      '/shop/20261101T020000Z-a1b2c3.dump.zst.age',
      'shop/../other/20261101T020000Z-a1b2c3.dump.zst.age',
      'other/20261101T020000Z-a1b2c3.dump.zst.age',
      'shop/20261101T020000Z-ffffff.dump.zst.age',
      'shop/20261101T020000Z-a1b2c3.manifest.json',
      'shop/20261101T020000Z-a1b2c3.dump',
      'shop/sub/20261101T020000Z-a1b2c3.dump.zst.age',
    ]) {
      const text = JSON.stringify({ ...VALID, object: { ...VALID.object, key } });
      expect(() => parseManifest(text, KEY, 'shop'), key).toThrow(/own key/);
    }
  });
});

describe('malformed server manifests', () => {
  it('the valid server manifest itself parses, the odd name kept exactly', () => {
    const parsed = parseManifest(JSON.stringify(SERVER), KEY, 'shop');
    expectUsable(parsed);
    expect('databases' in parsed && parsed.databases[1]?.name).toBe(ODD_NAME);
  });

  it('5,000 generated mutations: each corrupt (naming its key) or safely usable', () => {
    const corrupt = corruptOf5000(20261202, SERVER);
    expect(corrupt).toBeGreaterThan(4000);
    // Some mutations (a deleted optional field) leave a usable manifest: those were checked too.
    expect(corrupt).toBeLessThan(5000);
  });

  it('a database object key that is not its own file is corrupt, whatever its form', () => {
    const own = SERVER.databases[1]!.object.key;
    for (const key of [
      `shop/${ID}/../${ID}.dump.zst.age`,
      `shop/${ID}/crm.dump.zst.age`,
      `shop/${ID}/sub/${own.split('/')[2]}`,
      `shop/20261101T020000Z-ffffff/${own.split('/')[2]}`,
      `other/${ID}/${own.split('/')[2]}`,
      `shop/${ID}/${own.split('/')[2]?.toUpperCase()}`,
      `shop/${ID}/${own.split('/')[2]?.replace('.dump.zst.age', '')}`,
      `shop/${ID}/cafe____2.dump.zst.age`,
      `shop/${ID}.dump.zst.age`,
      `/${own}`,
    ]) {
      const copy = structuredClone(SERVER);
      copy.databases[1]!.object.key = key;
      expect(() => parseManifest(JSON.stringify(copy), KEY, 'shop'), key).toThrow(
        /databases\[1\]\.object\.key is not this backup’s own key/,
      );
    }
  });

  it('a renamed database (same key), a duplicate name or an overlong name is corrupt', () => {
    const renamed = structuredClone(SERVER);
    renamed.databases[1]!.name = 'Cafe "Olss" 2';
    const duplicate = structuredClone(SERVER);
    duplicate.databases[1] = structuredClone(SERVER.databases[0]!);
    const long = structuredClone(SERVER);
    long.databases[0]!.name = 'é'.repeat(32);
    long.databases[0]!.object.key = databaseObjectKey(
      'shop',
      ID,
      long.databases[0]!.name,
      'zstd',
      'age',
    );
    for (const [manifest, problem] of [
      [renamed, /databases\[1\]\.object\.key/],
      [duplicate, /databases\[1\]\.name/],
      [long, /databases\[0\]\.name/],
    ] as const) {
      expect(() => parseManifest(JSON.stringify(manifest), KEY, 'shop')).toThrow(problem);
    }
  });

  it('the globals at another key, or a server manifest with a single object, is corrupt', () => {
    const globals = structuredClone(SERVER);
    globals.globals!.object.key = `shop/${ID}/globals.sql`;
    expect(() => parseManifest(JSON.stringify(globals), KEY, 'shop')).toThrow(
      /globals\.object\.key/,
    );
    const mixed = { ...SERVER, object: SERVER.databases[0]!.object };
    expect(() => parseManifest(JSON.stringify(mixed), KEY, 'shop')).toThrow(/under databases/);
  });
});
