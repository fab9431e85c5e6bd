/**
 * The pure parts of restore-test: comparing counts and evaluating count checks.
 *
 * Covers: src/restore/compare.ts, src/restore/checks.ts.
 */
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/restore/checks.js';
import { compareCounts, countsTable, describeDifference } from '../../src/restore/compare.js';

describe('compareCounts', () => {
  it('finds missing, extra and different tables, sorted', () => {
    const { tables, differing } = compareCounts(
      { 'public.a': 3, 'public.b': 5, 'sales.gone': 1 },
      { 'public.a': 3, 'public.b': 0, 'public.new': 2 },
      { strangersFail: true },
    );
    expect(tables.map((row) => row.table)).toEqual([
      'public.a',
      'public.b',
      'public.new',
      'sales.gone',
    ]);
    expect(differing.map(describeDifference)).toEqual([
      'public.b: expected 5, found 0',
      'public.new: found 2, not in the manifest',
      'sales.gone: expected 1, missing after restore',
    ]);
  });

  it('reads `constructor` and `__proto__` as tables, never as what an object inherits', () => {
    const recorded = JSON.parse('{"constructor": 1, "__proto__": 2, "public.a": 3}') as Record<
      string,
      number
    >;
    const { differing } = compareCounts(recorded, { 'public.a': 3 }, { strangersFail: true });
    expect(differing.map(describeDifference)).toEqual([
      '__proto__: expected 2, missing after restore',
      'constructor: expected 1, missing after restore',
    ]);
  });

  it('finds nothing when every count matches', () => {
    expect(
      compareCounts({ 'public.a': 0 }, { 'public.a': 0 }, { strangersFail: true }).differing,
    ).toEqual([]);
  });
});

describe('the summary’s table of row counts', () => {
  const many = (n: number, off = -1) =>
    Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`public.t${i}`, i === off ? i + 1 : i]),
    );

  it('beyond its limit, says that every table matches when all do, with the totals', () => {
    const table = countsTable(compareCounts(many(539), many(539), { strangersFail: true }));
    expect(table.title).toBe('Row counts: all 539 tables match the manifest');
    expect(table.rows).toEqual([['all 539 tables', '144,991', '144,991', '✅']]);
  });

  it('beyond its limit, lists only the tables that differ', () => {
    const table = countsTable(compareCounts(many(539), many(539, 7), { strangersFail: true }));
    expect(table.title).toBe('Row counts: the 1 of 539 tables that do not simply match');
    expect(table.rows[0]).toEqual(['public.t7', '7', '8', '❌']);
  });
});

describe('count checks', () => {
  it.each([
    [10, '>=', 10, true],
    [9, '>=', 10, false],
    [11, '>', 10, true],
    [10, '>', 10, false],
    [10, '=', 10, true],
    [10, '<=', 9, false],
    [8, '<', 9, true],
  ] as const)('%i %s %i is %s', (found, operator, bound, expected) => {
    expect(compare(found, operator, bound)).toBe(expected);
  });
});
