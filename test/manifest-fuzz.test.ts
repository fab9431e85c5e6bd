/**
 * Manifests are read from storage anyone with bucket access can write. Thousands of generated
 * malformed manifests (random bytes, truncated JSON, wrong types, huge numbers, crafted keys) must
 * each be either rejected as corrupt (ManifestError naming the key) or accepted with every field
 * the product reads of the right type and the object key its own: never any other error.
 */
import { describe, expect, it } from 'vitest';
import {
  ManifestError,
  manifestObjects,
  parseManifest,
  serializeManifest,
  type AnyManifest,
  type Manifest,
} from '../src/core/manifest.js';

const KEY = 'shop/20261101T020000Z-a1b2c3.manifest.json';
const VALID: Manifest = {
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

function mutate(next: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const text = serializeManifest(VALID);
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
      const copy = structuredClone(VALID) as unknown as Json;
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
  for (const object of manifestObjects(m)) {
    expect(object.key.startsWith(`${m.name}/${m.id}`)).toBe(true);
    expect(object.key).not.toContain('..');
    expect(Number.isSafeInteger(object.size) && object.size >= 0).toBe(true);
    expect(object.sha256).toMatch(/^[0-9a-f]{64}$/);
  }
  expect(Number.isNaN(Date.parse(m.createdAt))).toBe(false);
  const counts = 'databases' in m ? m.databases.map((d) => d.rowCounts) : [m.rowCounts];
  for (const count of counts.flatMap((c) => Object.values(c ?? {})))
    expect(Number.isSafeInteger(count)).toBe(true);
  if (m.dump) expect(typeof m.dump.version.split('.')[0]).toBe('string');
  for (const value of Object.values(m.run ?? {})) expect(typeof value).toBe('string');
  for (const value of [
    'database' in m.source ? m.source.database : undefined,
    m.source.serverVersion,
  ]) {
    expect(value === undefined || typeof value === 'string').toBe(true);
  }
}

describe('malformed manifests', () => {
  it('the valid manifest itself parses', () => {
    expectUsable(parseManifest(serializeManifest(VALID), KEY, 'shop'));
  });

  it('5,000 generated malformed manifests: each corrupt (naming its key) or safely usable', () => {
    const next = random(20261123);
    let corrupt = 0;
    for (let i = 0; i < 5000; i += 1) {
      const text = mutate(next);
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
    // Most mutations break something; the few that do not (a deleted optional field) are fine.
    expect(corrupt).toBeGreaterThan(4000);
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
