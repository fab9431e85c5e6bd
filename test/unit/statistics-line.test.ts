/**
 * The summary's "Planner statistics" line: where a restored database's statistics come from.
 *
 * Covers: src/restore/restore-database.ts.
 */
import { describe, expect, it } from 'vitest';
import { statisticsLine } from '../../src/restore/restore-database.js';

describe('statisticsLine', () => {
  it('says the restore did not get that far', () => {
    expect(statisticsLine(undefined)).toBe('not gathered: the restore did not finish');
  });

  it('names the tables analyzed here and those left to autovacuum', () => {
    expect(statisticsLine({ analyzed: 3, leftToAutovacuum: 1200 })).toBe(
      'ANALYZE ran on 3 table(s) autovacuum would not analyze; autovacuum analyzes the other 1,200 on its next visit to the database, as after any pg_restore (run vacuumdb --analyze-only to have them sooner)',
    );
  });

  it('says when autovacuum has them all, or none', () => {
    expect(statisticsLine({ analyzed: 0, leftToAutovacuum: 4 })).toMatch(
      /^no table needed ANALYZE here; autovacuum analyzes the 4 on its next visit/,
    );
    expect(statisticsLine({ analyzed: 7, leftToAutovacuum: 0 })).toBe(
      'ANALYZE ran on 7 table(s) autovacuum would not analyze',
    );
  });
});
