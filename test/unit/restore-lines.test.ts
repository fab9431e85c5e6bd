/**
 * The summary's "Planner statistics" line: where a restored database's statistics come from.
 *
 * The summary's other lines on a restore's outcome: the database settings (restore and
 * restore-test), whether the target was replaced whole, and whether owners came back.
 *
 * Covers: src/restore/restore-database.ts, src/restore/scratch-test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { DatabasePart } from '../../src/core/manifest.js';
import type { DatabaseTarget } from '../../src/core/settings.js';
import type { Replacement } from '../../src/postgres/replace.js';
import {
  ownersLine,
  replacedLine,
  settingsLine,
  statisticsLine,
  type Outcome,
} from '../../src/restore/restore-database.js';
import { scratchSettingsLine } from '../../src/restore/scratch-test.js';

describe('statisticsLine', () => {
  it('says the restore did not get that far', () => {
    expect(statisticsLine(undefined)).toBe('not gathered: the restore did not finish');
  });

  it('names the tables analyzed here and those left to autovacuum', () => {
    expect(statisticsLine({ analyzed: 3, leftToAutovacuum: 1200, failed: [] })).toBe(
      'ANALYZE ran on 3 table(s) autovacuum would not analyze; autovacuum analyzes the other 1,200 on its next visit to the database, as after any pg_restore (run vacuumdb --analyze-only to have them sooner)',
    );
  });

  it('says when autovacuum has them all, or none', () => {
    expect(statisticsLine({ analyzed: 0, leftToAutovacuum: 4, failed: [] })).toMatch(
      /^no table needed ANALYZE here; autovacuum analyzes the 4 on its next visit/,
    );
    expect(statisticsLine({ analyzed: 7, leftToAutovacuum: 0, failed: [] })).toBe(
      'ANALYZE ran on 7 table(s) autovacuum would not analyze',
    );
  });

  it('names the tables ANALYZE failed on and how to analyze them by hand', () => {
    const failed = [
      { table: 'public.t', error: 'boom' },
      { table: 'public."Odd"', error: 'could not connect to server "remote"' },
    ];
    expect(statisticsLine({ analyzed: 5, leftToAutovacuum: 0, failed })).toBe(
      'ANALYZE ran on 5 table(s) autovacuum would not analyze; not analyzed, as ANALYZE failed on them: public.t, public."Odd"; once the cause is mended, run ANALYZE public.t, public."Odd" in the database (or vacuumdb --analyze-only --table for each)',
    );
  });

  it('prints a table name holding a control character escaped, never raw', () => {
    const failed = [{ table: 'public."a\n\u001b[2Jb"', error: 'boom' }];
    const line = statisticsLine({ analyzed: 1, leftToAutovacuum: 0, failed });
    expect(line).toContain('public."a\\n\\u001b[2Jb"');
    expect(line).not.toContain('\n');
    expect(line).not.toContain('\u001b');
  });
});

describe('settingsLine and scratchSettingsLine', () => {
  it('say the settings were not restored when restore-database-settings is false', () => {
    const line = 'not restored (restore-database-settings: false)';
    expect(settingsLine([], false)).toBe(line);
    expect(settingsLine(undefined, false)).toBe(line);
    expect(scratchSettingsLine({ total: 0, missing: [], privileges: [] }, false)).toBe(line);
  });

  it('say none were in the backup only when they were restored', () => {
    expect(settingsLine([], true)).toBe('none in the backup');
    expect(scratchSettingsLine({ total: 0, missing: [], privileges: [] }, true)).toBe(
      'none in the backup',
    );
  });
});

describe('replacedLine', () => {
  const target = { database: 'shop' } as DatabaseTarget;
  const replacement = { side: 'shop_new', old: 'shop_old' } as Replacement;
  const restored = (outcome: Outcome, clean: boolean) => ({
    part: {} as DatabasePart,
    target,
    state: { server: { version: '15.0', major: 15 }, tables: 4 },
    replacement: clean ? replacement : undefined,
    outcome,
  });

  it('says yes only once the new database was swapped in', () => {
    expect(replacedLine(restored('replaced', true))).toBe('yes (clean: true; 4 tables were there)');
    expect(replacedLine(restored('replaced, old kept', true))).toMatch(/^yes /);
  });

  it('says no for a clean restore that failed before the swap', () => {
    expect(replacedLine(restored('untouched', true))).toBe(
      'no: the restore failed before the swap (clean: true; 4 tables were there)',
    );
  });

  it('says no for a restore into an empty target', () => {
    expect(replacedLine(restored('restored', false))).toBe('no (the target was empty)');
  });

  it('owners and privileges: restored only once the restore finished', () => {
    expect(ownersLine(restored('untouched', true))).toBe(
      'not restored: the restore did not finish',
    );
    expect(ownersLine(restored('partial', false))).toBe('not restored: the restore did not finish');
    expect(ownersLine(restored('restored', false))).toBe('restored');
    expect(ownersLine(restored('replaced', true))).toBe('restored');
    expect(ownersLine({ ...restored('restored', false), ownersSkipped: 'no role ghost' })).toBe(
      'not restored: no role ghost',
    );
  });
});
