/**
 * The prune plan: only classified keys, manifests before objects, the newest never; history
 * records go with the backups they came after.
 *
 * Covers: src/retention/plan.ts, src/storage/catalog.ts.
 */
import { describe, expect, it } from 'vitest';
import { planPrune, staleUploads, type PruneSet } from '../../src/retention/plan.js';
import type { SetEntry } from '../../src/storage/catalog.js';

const at = (iso: string) => new Date(iso);

const listing: PruneSet = {
  complete: [
    {
      id: '20260102T000000Z-bbbbbb',
      manifest: { key: 'db/20260102T000000Z-bbbbbb.manifest.json', size: 1 },
      objects: [{ key: 'db/20260102T000000Z-bbbbbb.dump.zst', size: 9 }],
    },
    {
      id: '20260101T000000Z-aaaaaa',
      manifest: { key: 'db/20260101T000000Z-aaaaaa.manifest.json', size: 1 },
      objects: [{ key: 'db/20260101T000000Z-aaaaaa.dump.zst', size: 9 }],
    },
  ],
  leftovers: [
    {
      id: '20260101T120000Z-cccccc',
      objects: [
        { key: 'db/20260101T120000Z-cccccc.dump.zst', size: 3, modified: at('2026-01-01T12:00Z') },
      ],
    },
    {
      id: '20260102T230000Z-dddddd',
      objects: [
        { key: 'db/20260102T230000Z-dddddd.dump.zst', size: 3, modified: at('2026-01-02T23:00Z') },
      ],
    },
  ],
  records: [
    record('20260102T010000Z-111111', 'restore-test'),
    record('20260101T010000Z-222222', 'verify-latest'),
    record('20251231T010000Z-333333', 'restore-test'),
  ],
};
function record(id: string, mode: 'restore-test' | 'verify-latest') {
  return { id, mode, key: `db/history/${id}.${mode}.json`, size: 300 };
}

describe('planPrune', () => {
  it('dates a leftover by when the store last wrote any of its objects, never by its id', () => {
    const leftover = (id: string, ...modified: (string | undefined)[]) => ({
      id,
      objects: modified.map((time, i) => ({
        key: `db/${id}/${i}.dump.zst`,
        size: 1,
        modified: time === undefined ? undefined : at(time),
      })),
    });
    const plan = planPrune(
      {
        complete: [],
        leftovers: [
          // An id two years old, but still being written: a long server backup.
          leftover('20240101T000000Z-aaaaaa', '2026-01-01T00:00Z', '2026-01-02T23:00Z'),
          // An id from the future, written long ago.
          leftover('20990101T000000Z-bbbbbb', '2025-12-01T00:00Z'),
          // A store that gave no time for one object: never known to be stale.
          leftover('20250101T000000Z-cccccc', '2025-12-01T00:00Z', undefined),
        ],
        records: [],
      },
      [],
      at('2026-01-03T00:00:00Z'),
      24 * 3_600_000,
    );
    expect(plan.orphanKeys).toEqual(['db/20990101T000000Z-bbbbbb/0.dump.zst']);
  });

  it('deletes manifests and objects of dropped backups, and orphans older than the grace', () => {
    const plan = planPrune(
      listing,
      [
        {
          id: '20260102T000000Z-bbbbbb',
          createdAt: at('2026-01-02T00:00:00Z'),
          keep: true,
          rules: ['last', 'newest'],
        },
        {
          id: '20260101T000000Z-aaaaaa',
          createdAt: at('2026-01-01T00:00:00Z'),
          keep: false,
          rules: [],
        },
      ],
      at('2026-01-03T00:00:00Z'),
      24 * 3_600_000,
    );
    expect(plan.manifestKeys).toEqual(['db/20260101T000000Z-aaaaaa.manifest.json']);
    expect(plan.objectKeys).toEqual(['db/20260101T000000Z-aaaaaa.dump.zst']);
    expect(plan.orphanKeys).toEqual(['db/20260101T120000Z-cccccc.dump.zst']);
    // The records of runs before the oldest backup kept (2 January) go; the one after it stays.
    expect(plan.recordKeys).toEqual([
      'db/history/20260101T010000Z-222222.verify-latest.json',
      'db/history/20251231T010000Z-333333.restore-test.json',
    ]);
  });

  it("deletes a signed backup's signature with it, and a signature left without a manifest after the grace", () => {
    const signed = (id: string, modified?: Date) => ({
      key: `db/${id}.manifest.json.sig`,
      size: 300,
      modified,
    });
    const [newest, oldest] = listing.complete as [SetEntry, SetEntry];
    const plan = planPrune(
      {
        complete: [newest, { ...oldest, signature: signed(oldest.id) }],
        leftovers: [
          {
            id: '20260101T130000Z-eeeeee',
            objects: [],
            signature: signed('20260101T130000Z-eeeeee', at('2026-01-01T13:00Z')),
          },
          {
            id: '20260102T220000Z-ffffff',
            objects: [],
            signature: signed('20260102T220000Z-ffffff', at('2026-01-02T22:00Z')),
          },
        ],
        records: [],
      },
      [
        { id: newest.id, createdAt: at('2026-01-02T00:00:00Z'), keep: true, rules: ['newest'] },
        { id: oldest.id, createdAt: at('2026-01-01T00:00:00Z'), keep: false, rules: [] },
      ],
      at('2026-01-03T00:00:00Z'),
      24 * 3_600_000,
    );
    expect(plan.objectKeys).toEqual([
      'db/20260101T000000Z-aaaaaa.dump.zst',
      'db/20260101T000000Z-aaaaaa.manifest.json.sig',
    ]);
    expect(plan.orphanKeys).toEqual(['db/20260101T130000Z-eeeeee.manifest.json.sig']);
  });

  it('deletes no record when no backup is kept (none complete)', () => {
    const plan = planPrune(
      { complete: [], leftovers: [], records: listing.records },
      [],
      at('2026-01-03T00:00:00Z'),
      0,
    );
    expect(plan.recordKeys).toEqual([]);
  });

  it('keeps every record when the oldest backup kept is older than them all', () => {
    const keepBoth = ['20260102T000000Z-bbbbbb', '20260101T000000Z-aaaaaa'].map((id) => ({
      id,
      createdAt: at(`${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T00:00:00Z`),
      keep: true,
      rules: ['last' as const],
    }));
    const plan = planPrune(listing, keepBoth, at('2026-01-03T00:00:00Z'), 0);
    expect(plan.recordKeys).toEqual(['db/history/20251231T010000Z-333333.restore-test.json']);
  });

  it('refuses a plan that would delete the newest backup', () => {
    expect(() =>
      planPrune(
        listing,
        [
          {
            id: '20260102T000000Z-bbbbbb',
            createdAt: at('2026-01-02T00:00:00Z'),
            keep: false,
            rules: [],
          },
        ],
        at('2026-01-03T00:00:00Z'),
        0,
      ),
    ).toThrow('refusing to delete the newest backup');
  });

  it('refuses a plan that would delete anything but a complete backup of the set', () => {
    const decision = (id: string) => ({
      id,
      createdAt: at('2026-01-01T00:00:00Z'),
      keep: false,
      rules: [],
    });
    expect(() =>
      planPrune(
        listing,
        [decision('20260101T000000Z-aaaaaa'), decision('20260101T120000Z-cccccc')],
        at('2026-01-03T00:00:00Z'),
        0,
      ),
    ).toThrow('refusing to delete a backup that is not a complete backup of this set');
  });
});

describe('incomplete uploads to abort', () => {
  const now = new Date('2026-01-03T00:00:00Z');
  const GRACE = 24 * 3_600_000;
  const upload = (key: string, initiated: string) => ({
    key,
    uploadId: key,
    initiated: new Date(initiated),
  });

  it('only this set’s layout, and only older than the grace', () => {
    const uploads = [
      upload('db/20260101T000000Z-aaaaaa.dump.zst', '2026-01-01T00:00:00Z'),
      upload('db/20260102T230000Z-bbbbbb.dump.zst', '2026-01-02T23:00:00Z'),
      upload('db/video.mp4', '2025-01-01T00:00:00Z'),
      upload('db2/20260101T000000Z-cccccc.dump.zst', '2026-01-01T00:00:00Z'),
      upload('db/sub/20260101T000000Z-dddddd.dump.zst', '2026-01-01T00:00:00Z'),
    ];
    expect(staleUploads(uploads, 'db', now, GRACE).map((u) => u.key)).toEqual([
      'db/20260101T000000Z-aaaaaa.dump.zst',
    ]);
  });
});
