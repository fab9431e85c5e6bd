/**
 * Row-count keys name one table each (quoted as quote_ident quotes), old manifests' bare keys
 * still compare, and table names pg_restore --list cannot print on one line do not break the
 * table of contents.
 *
 * Covers: src/restore/compare.ts, src/postgres/toc.ts, src/postgres/dump.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { compareCounts } from '../../src/restore/compare.js';
import { hasEntry, parseToc } from '../../src/postgres/toc.js';
import { runAction } from '../support/action.js';
import { freshDatabase, type FreshDatabase } from '../support/db.js';

describe('row-count keys', () => {
  it('maps an old manifest’s bare keys onto the quoted keys when only one table fits', () => {
    const found = { 'public."x.y"': 3, 'public."Orders"': 5, 'public.plain': 1 };
    const old = { 'public.x.y': 3, 'public.Orders': 5, 'public.plain': 1 };
    expect(compareCounts(old, found, { strangersFail: true }).differing).toEqual([]);
  });

  it('keeps a bare key that could mean two tables, so it fails rather than guesses', () => {
    const found = { 'public."x.y"': 3, '"public.x".y': 2 };
    const { differing } = compareCounts({ 'public.x.y': 3 }, found, { strangersFail: true });
    expect(differing.map((row) => row.table)).toContain('public.x.y');
  });

  it('finds a quoted key’s table in the listing, line breaks printed as spaces', () => {
    const toc = parseToc(
      [
        '215; 1259 16390 TABLE public x.y postgres',
        '216; 1259 16391 TABLE public.x y postgres',
        '217; 1259 16392 TABLE public a b postgres',
        '3340; 0 16390 TABLE DATA public x.y postgres',
      ].join('\n'),
    );
    expect(hasEntry(toc, 'TABLE DATA', 'public."x.y"')).toBe(true);
    expect(hasEntry(toc, 'TABLE DATA', '"public.x".y')).toBe(false);
    expect(hasEntry(toc, 'TABLE', '"public.x".y')).toBe(true);
    expect(hasEntry(toc, 'TABLE', 'public."a\nb"')).toBe(true);
  });
});

let db: FreshDatabase;
let store: string;

beforeAll(async () => {
  db = await freshDatabase('row_keys');
  store = await mkdtemp(path.join(os.tmpdir(), 'row-keys-'));
  await withClient(db.url, (client) =>
    client.query(`
      CREATE SCHEMA "public.x";
      CREATE TABLE "public.x".y (id int);
      INSERT INTO "public.x".y SELECT generate_series(1, 2);
      CREATE TABLE public."x.y" (id int);
      INSERT INTO public."x.y" SELECT generate_series(1, 3);
      CREATE TABLE public."line
break" (id int);
      INSERT INTO public."line
break" SELECT generate_series(1, 4);
      CREATE TABLE public.excluded (id int);
      INSERT INTO public.excluded SELECT generate_series(1, 5);
      CREATE TABLE public.rows_excluded (id int);
      INSERT INTO public.rows_excluded SELECT generate_series(1, 6);
    `),
  );
});

afterAll(async () => {
  await db.drop();
  await rm(store, { recursive: true, force: true });
});

describe('a backup of tables whose names hold dots and line breaks', () => {
  it('records one count per dumped table, and restore-tests with --exclude-table', async () => {
    const made = await runAction({
      storage: store,
      name: 'keys',
      'database-url': db.url,
      // Spelled as pg_dump allows: the counts follow pg_dump's own reading of the patterns.
      'pg-dump-args': '-T\nPUBLIC.EXCL*\n--exclude-table-data=public.rows_?xcluded',
    });
    expect(made.code, made.stdout).toBe(0);
    const details = (made.report?.details ?? {}) as {
      manifest?: { rowCounts?: Record<string, number> };
    };
    // Neither left-out table was counted (nor scanned).
    expect(details.manifest?.rowCounts).toEqual({
      '"public.x".y': 2,
      'public."x.y"': 3,
      'public."line\nbreak"': 4,
    });

    const tested = await runAction({
      mode: 'restore-test',
      storage: store,
      name: 'keys',
      'database-url': db.url,
    });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.outputs['restored-tables']).toBe('4');
  });
});
