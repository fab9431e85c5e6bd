/**
 * Database name patterns (databases, exclude-databases): what each matches, what a selection
 * keeps, and patterns that can match nothing.
 *
 * Covers: src/core/name-glob.ts.
 */
import { describe, expect, it } from 'vitest';
import { nameMatcher, patternProblem, selectNames } from '../../src/core/name-glob.js';

describe('database name patterns', () => {
  it.each([
    ['shop', 'shop', true],
    ['shop', 'Shop', false],
    ['shop_*', 'shop_eu', true],
    ['shop_*', 'shop', false],
    ['*', 'a/b c', true],
    ['tenant_??', 'tenant_01', true],
    ['tenant_??', 'tenant_1', false],
    ['[a-c]*', 'crm', true],
    ['[!a-c]*', 'crm', false],
    ['[!a-c]*', 'docs', true],
    ['a.b', 'axb', false],
    ['(x)+', '(x)+', true],
    ['[unclosed', '[unclosed', true],
    ['Crm Ünï*', 'Crm Ünïcode', true],
  ])('%s against %s: %s', (pattern, name, expected) => {
    expect(nameMatcher(pattern)(name)).toBe(expected);
  });

  it('selects by include and exclude, and names include patterns that matched nothing', () => {
    const names = ['shop', 'shop_eu', 'crm', 'analytics'];
    expect(selectNames(names, 'all', ['shop_*'])).toEqual({
      selected: ['shop', 'crm', 'analytics'],
      unmatched: [],
    });
    expect(selectNames(names, ['shop*', 'billing', 'crm'], ['shop_eu'])).toEqual({
      selected: ['shop', 'crm'],
      unmatched: ['billing'],
    });
  });

  it('names a pattern that cannot be matched, and passes every other', () => {
    expect(patternProblem('[z-a]*')).toMatch(/^"\[z-a\]\*" is not a usable pattern/);
    for (const pattern of ['shop', 'shop_*', '[a-z]?', '[unclosed', 'a\\b', '(x)+']) {
      expect(patternProblem(pattern), pattern).toBeUndefined();
    }
  });
});
