/**
 * What counts as a complete backup, as pure logic: a listed entry and its manifest's text, judged
 * against an injected clock. Every way a set can hold something that looks like a backup and is
 * not must come out unusable, with a line naming the key and the cause.
 *
 * Covers: src/storage/catalog.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  CLOCK_TOLERANCE_MS,
  isComplete,
  judgeBackup,
  listedSize,
  listSet,
  newestComplete,
  type SetEntry,
  type UnusableBackup,
} from '../../src/storage/catalog.js';
import { databaseObjectKey } from '../../src/core/layout.js';
import { serializeManifest, type Manifest, type ServerManifest } from '../../src/core/manifest.js';
import type { Store } from '../../src/storage/index.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const ID = '20260601T110000Z-a1b2c3';
const OBJECT = `shop/${ID}.dump.zst`;

const VALID: Manifest = {
  version: 1,
  id: ID,
  name: 'shop',
  createdAt: '2026-06-01T11:00:00.412Z',
  completedAt: '2026-06-01T11:03:10.000Z',
  source: { kind: 'postgres', database: 'shop' },
  format: 'pg_dump-custom',
  compression: 'zstd',
  encryption: 'none',
  object: { key: OBJECT, size: 100, sha256: 'ab'.repeat(32) },
  tool: { name: 'backup-action', version: '1.0.0' },
};

function entry(id = ID, objects = [{ key: `shop/${id}.dump.zst`, size: 100 }]): SetEntry {
  return { id, manifest: { key: `shop/${id}.manifest.json`, size: 500 }, objects };
}

/** VALID with the id (and the keys and times that follow from it) moved to `time`. */
function dated(time: Date): { manifest: Manifest; entry: SetEntry } {
  const id = `${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-a1b2c3`;
  return {
    manifest: {
      ...VALID,
      id,
      createdAt: time.toISOString(),
      completedAt: time.toISOString(),
      object: { ...VALID.object, key: `shop/${id}.dump.zst` },
    },
    entry: entry(id),
  };
}

const text = (manifest: unknown) => JSON.stringify(manifest);

interface Case {
  what: string;
  entry?: SetEntry;
  text: string;
  /** A part of the problem line; the key is always named too. */
  problem: RegExp;
  /** Its manifest is valid but its objects are not all there: the judgement carries it. */
  torn?: true;
}

const YEAR_AHEAD = dated(new Date(NOW.getTime() + 365 * 86_400_000));
const JUST_AHEAD = dated(new Date(NOW.getTime() + CLOCK_TOLERANCE_MS + 1000));

/** Date.UTC would roll month 13 of 2026 over into January 2027. */
const NO_TIME = '20261301T000000Z-a1b2c3';

const UNUSABLE: Case[] = [
  {
    what: 'an id that names no time (month 13)',
    entry: entry(NO_TIME),
    text: text({
      ...VALID,
      id: NO_TIME,
      createdAt: '2027-01-01T00:00:00.000Z',
      completedAt: '2027-01-01T00:00:00.000Z',
      object: { ...VALID.object, key: `shop/${NO_TIME}.dump.zst` },
    }),
    problem: /disagrees with its id/,
  },
  { what: 'not JSON', text: 'not json\n', problem: /not valid JSON/ },
  { what: 'empty (a torn write)', text: '', problem: /not valid JSON/ },
  {
    what: 'truncated JSON',
    text: serializeManifest(VALID).slice(0, 200),
    problem: /not valid JSON/,
  },
  { what: 'a byte-order mark', text: `\uFEFF${text(VALID)}`, problem: /not valid JSON/ },
  { what: 'a JSON array', text: '[]', problem: /not a JSON object/ },
  { what: 'JSON null', text: 'null', problem: /not a JSON object/ },
  { what: 'a later manifest version', text: text({ ...VALID, version: 2 }), problem: /version/ },
  {
    what: 'another set’s manifest',
    text: text({
      ...VALID,
      name: 'other',
      object: { ...VALID.object, key: `other/${ID}.dump.zst` },
    }),
    problem: /belongs to set "other"/,
  },
  {
    what: 'another backup’s manifest copied under this key',
    text: text(dated(new Date('2026-05-01T00:00:00Z')).manifest),
    problem: /records id 20260501T000000Z-a1b2c3/,
  },
  {
    what: 'an object key outside its own',
    text: text({ ...VALID, object: { ...VALID.object, key: 'shop/../etc/passwd' } }),
    problem: /own key/,
  },
  {
    what: 'createdAt a year after its id',
    text: text({
      ...VALID,
      createdAt: '2027-06-01T11:00:00.000Z',
      completedAt: '2027-06-01T11:00:00.000Z',
    }),
    problem: /createdAt 2027-06-01T11:00:00.000Z disagrees with its id/,
  },
  {
    what: 'createdAt a second before its id',
    text: text({ ...VALID, createdAt: '2026-06-01T10:59:59.999Z' }),
    problem: /disagrees with its id/,
  },
  {
    what: 'completedAt before createdAt',
    text: text({ ...VALID, completedAt: '2026-06-01T10:00:00.000Z' }),
    problem: /completedAt .* is before createdAt/,
  },
  {
    what: 'dated a year ahead (clock skew)',
    entry: YEAR_AHEAD.entry,
    text: text(YEAR_AHEAD.manifest),
    problem: /is dated 2027-06-01T12:00:00.000Z, ahead of this machine's clock/,
  },
  {
    what: 'dated just beyond the tolerance',
    entry: JUST_AHEAD.entry,
    text: text(JUST_AHEAD.manifest),
    problem: /ahead of this machine's clock/,
  },
  {
    what: 'completed a year ahead',
    text: text({ ...VALID, completedAt: '2027-06-01T11:00:00.000Z' }),
    problem: /is dated 2027-06-01T11:00:00.000Z, ahead/,
  },
  {
    what: 'its object missing (torn)',
    entry: entry(ID, []),
    text: text(VALID),
    torn: true,
    problem: /its object shop\/20260601T110000Z-a1b2c3.dump.zst is missing from the store/,
  },
  {
    what: 'only an object of other layers',
    entry: entry(ID, [{ key: `shop/${ID}.dump.gz`, size: 100 }]),
    text: text(VALID),
    torn: true,
    problem: /is missing from the store/,
  },
  {
    what: 'its object shorter than recorded',
    entry: entry(ID, [{ key: OBJECT, size: 99 }]),
    text: text(VALID),
    torn: true,
    problem: /holds 99 bytes, but its manifest records 100/,
  },
];

describe('a complete backup', () => {
  it('is a valid manifest for its own key whose object is listed at its size', () => {
    const judged = judgeBackup(entry(), text(VALID), 'shop', NOW);
    expect(isComplete(judged)).toBe(true);
  });

  it('may be dated within the clock tolerance ahead', () => {
    const ahead = dated(new Date(NOW.getTime() + CLOCK_TOLERANCE_MS - 1000));
    expect(isComplete(judgeBackup(ahead.entry, text(ahead.manifest), 'shop', NOW))).toBe(true);
  });

  it('named by the user is not held against the clock', () => {
    expect(isComplete(judgeBackup(YEAR_AHEAD.entry, text(YEAR_AHEAD.manifest), 'shop'))).toBe(true);
  });
});

describe('anything else is unusable, named with its cause', () => {
  it.each(UNUSABLE)('$what', (c) => {
    const listed = c.entry ?? entry();
    const key = `shop/${listed.id}.manifest.json`;
    const judged = judgeBackup(listed, c.text, 'shop', NOW);
    expect(judged).toEqual({
      entry: listed,
      key,
      problem: expect.stringMatching(c.problem),
      ...(c.torn ? { torn: expect.objectContaining({ id: listed.id }) } : {}),
    });
    expect((judged as UnusableBackup).problem).toContain(key);
  });
});

describe('a server backup is complete only with every object at its size', () => {
  const SERVER_ID = '20260601T100000Z-d4e5f6';
  const ODD = 'Café 2';
  const objectOf = (key: string, size: number) => ({ key, size, sha256: 'cd'.repeat(32) });
  const crm = `shop/${SERVER_ID}/crm.dump.zst`;
  const odd = databaseObjectKey('shop', SERVER_ID, ODD, 'zstd', 'none');
  const globals = `shop/${SERVER_ID}/globals.sql.zst`;
  const SERVER: ServerManifest = {
    version: 1,
    name: 'shop',
    compression: 'zstd',
    encryption: 'none',
    tool: VALID.tool,
    id: SERVER_ID,
    createdAt: '2026-06-01T10:00:00.250Z',
    completedAt: '2026-06-01T10:05:00.000Z',
    source: { kind: 'server' },
    format: 'pg_dump-custom',
    databases: [
      { name: 'crm', object: objectOf(crm, 300) },
      { name: ODD, object: objectOf(odd, 200) },
    ],
    globals: { object: objectOf(globals, 50), roles: ['app'], rolePasswords: true },
  };
  const listed = (objects: { key: string; size: number }[]): SetEntry => ({
    id: SERVER_ID,
    manifest: { key: `shop/${SERVER_ID}.manifest.json`, size: 900 },
    objects,
  });
  const ALL = [
    { key: crm, size: 300 },
    { key: odd, size: 200 },
    { key: globals, size: 50 },
  ];
  const judge = (objects: { key: string; size: number }[]) =>
    judgeBackup(listed(objects), text(SERVER), 'shop', NOW);

  it('every object listed at its size: complete, whatever else its folder holds', () => {
    expect(isComplete(judge(ALL))).toBe(true);
    const extra = [...ALL, { key: `shop/${SERVER_ID}/old.dump.zst`, size: 7 }];
    expect(isComplete(judge(extra))).toBe(true);
  });

  it.each([
    ['one database object missing', [ALL[0]!, ALL[2]!], `its object ${odd} is missing`],
    [
      'a database object at the wrong size',
      [ALL[0]!, { key: odd, size: 199 }, ALL[2]!],
      `its object ${odd} holds 199 bytes, but its manifest records 200`,
    ],
    ['the globals missing', [ALL[0]!, ALL[1]!], `its object ${globals} is missing`],
    [
      'the globals of other layers only',
      [ALL[0]!, ALL[1]!, { key: `${globals}.age`, size: 50 }],
      `its object ${globals} is missing`,
    ],
    ['every object missing', [], `its object ${crm} is missing`],
  ])('%s: torn, naming the object', (_what, objects, problem) => {
    expect(judge(objects)).toEqual({
      entry: listed(objects),
      key: `shop/${SERVER_ID}.manifest.json`,
      problem: `torn backup shop/${SERVER_ID}.manifest.json: ${problem}${problem.endsWith('missing') ? ' from the store' : ''}`,
      torn: expect.objectContaining({ id: SERVER_ID }),
    });
  });

  it('an unknown file in its folder is not the layout: listed as foreign, not as its object', async () => {
    const store = {
      async *list() {
        yield* [
          ...ALL,
          { key: `shop/${SERVER_ID}.manifest.json`, size: 900 },
          { key: `shop/${SERVER_ID}/notes.txt`, size: 3 },
          { key: `shop/${SERVER_ID}/Crm.dump.zst`, size: 3 },
          { key: `shop/${SERVER_ID}/deeper/crm.dump.zst`, size: 3 },
        ];
      },
    } as unknown as Store;
    const listing = await listSet(store, 'shop');
    expect(listing.foreignKeys).toBe(3);
    expect(listing.backups.map((entry) => entry.objects.map((o) => o.key))).toEqual([
      ALL.map((o) => o.key),
    ]);
    expect(isComplete(judgeBackup(listing.backups[0]!, text(SERVER), 'shop', NOW))).toBe(true);
  });
});

describe('two backups started in the same second', () => {
  it('the newest is the one whose manifest says it started last, whatever the random suffixes', async () => {
    // Started at .900 and .100 of one second: the later one's suffix sorts first as a string.
    const later = { ...dated(new Date('2026-06-01T11:00:00.900Z')), id: '20260601T110000Z-000000' };
    const earlier = {
      ...dated(new Date('2026-06-01T11:00:00.100Z')),
      id: '20260601T110000Z-ffffff',
    };
    const manifests = new Map<string, string>();
    const entries = [earlier, later].map(({ id, manifest }) => {
      const object = { ...manifest.object, key: `shop/${id}.dump.zst` };
      manifests.set(`shop/${id}.manifest.json`, text({ ...manifest, id, object }));
      return entry(id);
    });
    const store = {
      read: async (key: string) => Buffer.from(manifests.get(key) ?? ''),
      async *list() {
        for (const listed of entries) yield* [listed.manifest!, ...listed.objects];
      },
    } as unknown as Store;
    const listing = await listSet(store, 'shop');
    // As strings, ffffff sorts first: the id alone would name the earlier run.
    expect(listing.backups.map((each) => each.id)).toEqual([earlier.id, later.id]);
    const found = await newestComplete(store, 'shop', listing.backups, NOW);
    expect(found.newest?.entry.id).toBe(later.id);
  });
});

describe('a backup’s size as listed', () => {
  it('is its data’s: a passphrase backup’s identity, listed first, is not counted', () => {
    const id = '20260601T110000Z-a1b2c3';
    const files = {
      id,
      objects: [
        { key: `site/${id}.identity.age`, size: 257 },
        { key: `site/${id}.tar.zst.age`, size: 4096 },
      ],
    };
    expect(listedSize(files)).toBe(4096);
    const server = {
      id,
      objects: [
        { key: `srv/${id}.identity.age`, size: 257 },
        { key: `srv/${id}/shop.dump.zst.age`, size: 1000 },
        { key: `srv/${id}/crm.dump.zst.age`, size: 24 },
      ],
    };
    expect(listedSize(server)).toBe(1024);
  });
});
