/**
 * What a copy decides from a destination's listing alone, and how far a store is behind: pure
 * decisions, each case as a destination could be found (nothing there, a leftover without a
 * manifest, a torn or foreign copy, an object rewritten after its manifest, a complete one).
 *
 * Covers: src/copy/compare.ts, src/core/lag.ts.
 */
import { describe, expect, it } from 'vitest';
import { compareListed } from '../../src/copy/compare.js';
import { formatLag, lagMs } from '../../src/core/lag.js';
import type { AnyManifest } from '../../src/core/manifest.js';
import type { SetEntry } from '../../src/storage/catalog.js';

const ID = '20260301T030000Z-abcdef';
const OBJECT = `shop/${ID}.dump.zst`;
const MANIFEST = `shop/${ID}.manifest.json`;
const manifest = {
  object: { key: OBJECT, size: 1000, sha256: 'a'.repeat(64) },
  source: { kind: 'postgres' },
} as unknown as AnyManifest;
const at = (seconds: number) => new Date(Date.UTC(2026, 2, 1, 3, 0, seconds));
const source: SetEntry = {
  id: ID,
  manifest: { key: MANIFEST, size: 700 },
  objects: [{ key: OBJECT, size: 1000 }],
};
const there = (change: Partial<SetEntry> = {}): SetEntry => ({
  id: ID,
  manifest: { key: MANIFEST, size: 700, modified: at(10) },
  objects: [{ key: OBJECT, size: 1000, modified: at(5) }],
  ...change,
});

describe('a backup at the destination, from its listing', () => {
  it('is equal when the manifest is there at its size and every object at its size, older', () => {
    expect(compareListed(source, manifest, there())).toEqual({ equal: true });
    // Written in the same second as its manifest (a store's clock counts whole seconds).
    const same = there({ objects: [{ key: OBJECT, size: 1000, modified: at(10) }] });
    expect(compareListed(source, manifest, same)).toEqual({ equal: true });
    // A store that lists no times: sizes alone.
    const timeless = there({
      manifest: { key: MANIFEST, size: 700 },
      objects: [{ key: OBJECT, size: 1000 }],
    });
    expect(compareListed(source, manifest, timeless)).toEqual({ equal: true });
  });

  it.each([
    ['nothing there', undefined, 'not there'],
    [
      'a leftover without a manifest',
      there({ manifest: undefined }),
      'only objects without a manifest there',
    ],
    [
      'a foreign or future-dated manifest of another size',
      there({ manifest: { key: MANIFEST, size: 702, modified: at(10) } }),
      "its manifest there holds 702 bytes, the source's 700",
    ],
    ['a torn copy', there({ objects: [] }), `${OBJECT} is missing there`],
    [
      'another object at the same key',
      there({ objects: [{ key: OBJECT, size: 999, modified: at(5) }] }),
      `${OBJECT} holds 999 bytes there, not 1000`,
    ],
    [
      'an object rewritten after its manifest (a flipped byte)',
      there({ objects: [{ key: OBJECT, size: 1000, modified: at(11) }] }),
      `${OBJECT} was written there after its manifest`,
    ],
  ])('is copied again over %s', (_what, entry, reason) => {
    expect(compareListed(source, manifest, entry)).toEqual({ equal: false, reason });
  });
});

describe('a signed backup at the destination', () => {
  const signature = { key: `${MANIFEST}.sig`, size: 300 };
  const signed: SetEntry = { ...source, signature };

  it('is equal only with its signature there at its size', () => {
    expect(compareListed(signed, manifest, there({ signature }))).toEqual({ equal: true });
    expect(compareListed(signed, manifest, there())).toEqual({
      equal: false,
      reason: 'its signature is missing there',
    });
    const other = there({ signature: { ...signature, size: 299 } });
    expect(compareListed(signed, manifest, other)).toEqual({
      equal: false,
      reason: 'its signature there differs in size',
    });
  });
});

describe("a store's lag", () => {
  const now = new Date(Date.UTC(2026, 2, 3, 12, 0, 0));
  const backups = [
    { id: '20260303T030000Z-000003', createdAt: '2026-03-03T03:00:00.000Z' },
    { id: '20260302T030000Z-000002', createdAt: '2026-03-02T03:00:00.000Z' },
    { id: '20260301T030000Z-000001', createdAt: '2026-03-01T03:00:00.000Z' },
  ];
  const hours = (h: number) => h * 3_600_000;

  it('is 0 when it holds the newest, whatever older ones it lacks', () => {
    expect(lagMs(backups, (id) => id.endsWith('3'), now)).toBe(0);
  });

  it('runs from when the oldest backup newer than its newest was made', () => {
    // It holds the first night's: it has lacked the second night's since it was made.
    expect(lagMs(backups, (id) => id.endsWith('1'), now)).toBe(hours(24 + 9));
    expect(lagMs(backups, (id) => id.endsWith('2'), now)).toBe(hours(9));
  });

  it('runs from the oldest backup when it holds none', () => {
    expect(lagMs(backups, () => false, now)).toBe(hours(48 + 9));
    expect(lagMs([], () => false, now)).toBe(0);
  });

  it('reads as a person says it', () => {
    expect(formatLag(0)).toBe('holds the newest');
    expect(formatLag(hours(33))).toBe('1d 9h behind');
  });
});
