/**
 * verify-latest's size rules over server backups, forged into a directory store and read with an
 * injected clock: the whole backup and each database against the previous backup's same database,
 * the outputs of the whole backup, a row per database, and the trend of whole-backup sizes.
 *
 * Covers: src/kinds/server/verify.ts, src/verify/rules.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifySettings } from '../../src/core/settings.js';
import { ModeFailure, type Table } from '../../src/core/types.js';
import { verifyLatest } from '../../src/modes/verify-latest.js';
import { DirectoryStore } from '../../src/storage/directory.js';
import { runContext } from '../support/context.js';
import { forgeServerIn } from '../support/forge-server.js';

const HOUR = 3_600_000;
const NOW = new Date('2031-03-10T08:00:00.000Z');
const ago = (hours: number) => new Date(NOW.getTime() - hours * HOUR);
const ODD = 'Café "Ölß" 2';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'server-verify-rules-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const settings = (extra: Partial<VerifySettings> = {}) =>
  ({
    name: 'shop',
    maxAgeMs: 26 * HOUR,
    maxShrink: 0.5,
    deep: false,
    otherStores: [] as VerifySettings['otherStores'],
    signingPublicKeys: [],
    ...extra,
  }) as VerifySettings;

const context = (store: DirectoryStore, warnings: string[]) =>
  runContext(store, { now: NOW, warnings });

/** A store holding a previous and a newest server backup of these sizes. */
async function twoBackups(
  slug: string,
  previous: Record<string, number>,
  newest: Record<string, number>,
) {
  const store = new DirectoryStore(path.join(work, slug));
  const before = await forgeServerIn(store, 'shop', ago(3), Object.keys(previous), {
    sizes: previous,
  });
  const after = await forgeServerIn(store, 'shop', ago(1), Object.keys(newest), { sizes: newest });
  return { store, before, after };
}

async function failureOf(run: Promise<unknown>): Promise<ModeFailure> {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ModeFailure);
  return error as ModeFailure;
}

const tableTitled = (tables: Table[] | undefined, start: string) =>
  tables?.find((table) => table.title.startsWith(start));

describe('server backups against the previous one', () => {
  it('one database emptied fails naming it, though the whole backup shrank less than max-shrink', async () => {
    const { store } = await twoBackups(
      'one-shrank',
      { crm: 10_000, [ODD]: 10_000 },
      { crm: 10_000, [ODD]: 1_000 },
    );
    const failure = await failureOf(verifyLatest(settings(), context(store, [])));
    expect(failure.message).toBe(
      `database "Café \\"Ölß\\" 2" shrank 90% against the previous backup (9.8 KiB → 1000 B), more than max-shrink 50%`,
    );
    const rows = tableTitled(failure.partial.tables, 'Databases of')?.rows;
    expect(rows?.map((row) => row.slice(0, 2))).toEqual([
      ['crm', '9.8 KiB'],
      [ODD, '1000 B'],
      ['(globals)', '64 B'],
    ]);
    const passes = await verifyLatest(settings({ maxShrink: 0.95 }), context(store, []));
    expect(passes.outputs['size-bytes']).toBe(11_064);
  });

  it('a database gone from the newest backup fails naming it; allow-missing-databases makes it a warning (issue 27, item 8)', async () => {
    const { store, before, after } = await twoBackups(
      'one-gone',
      { crm: 1_000, shop: 1_000, old: 100 },
      { crm: 1_000, shop: 1_000 },
    );
    const failure = await failureOf(verifyLatest(settings(), context(store, [])));
    expect(failure.message).toBe(
      `the previous backup ${before.id} holds database(s) the newest does not: "old"; if they were dropped or left out on purpose, set allow-missing-databases: true`,
    );
    const warnings: string[] = [];
    const allowed = settings({ allowMissingDatabases: true });
    const result = await verifyLatest(allowed, context(store, warnings));
    expect(result.outputs['latest-id']).toBe(after.id);
    expect(warnings.join('\n')).toMatch(/holds database\(s\) the newest does not: "old"/);
  });

  it('the whole backup is held to min-size and max-shrink; the trend shows whole sizes', async () => {
    const { store, before, after } = await twoBackups(
      'whole',
      { crm: 5_000, shop: 5_000 },
      { crm: 1_000, shop: 1_000 },
    );
    const failure = await failureOf(verifyLatest(settings({ minSize: 4096 }), context(store, [])));
    expect(failure.message).toMatch(/^it is 2\.0 KiB, below min-size 4\.0 KiB; it shrank 79%/);
    const trend = tableTitled(failure.partial.tables, 'Newest backups')?.rows;
    expect(trend?.map((row) => [row[0], row[2], row[3]])).toEqual([
      [after.id, '2.0 KiB', '-79.5%'],
      [before.id, '9.8 KiB', ''],
    ]);
    expect(failure.partial.outputs).toMatchObject({ 'latest-id': after.id, 'size-bytes': 2_064 });
  });
});
