/**
 * Names read from a backup, as a log line shows them: every control character (C0, DEL, C1), the
 * line and paragraph separators and the direction marks escaped inside quotes; a plain name as
 * it is. The escaped text reads back, as JSON, to the exact name.
 *
 * Covers: src/core/database-names.ts.
 */
import { describe, expect, it } from 'vitest';
import { printableName, quotedName } from '../../src/core/database-names.js';

const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe('quotedName and printableName', () => {
  it.each([
    ['tab\tdb', '"tab\\tdb"'],
    ['esc\x1b[31mdb', '"esc\\u001b[31mdb"'],
    ['del\x7fdb', '"del\\u007fdb"'],
    ['csi\u009bdb', '"csi\\u009bdb"'],
    ['nel\u0085db', '"nel\\u0085db"'],
    ['ls\u2028ps\u2029db', '"ls\\u2028ps\\u2029db"'],
    ['rlo\u202edb\u2066', '"rlo\\u202edb\\u2066"'],
    ['nl\ndb', '"nl\\ndb"'],
  ])('%j is shown as %s, and reads back exactly', (name, shown) => {
    expect(printableName(name)).toBe(shown);
    expect(quotedName(name)).toBe(shown);
    expect(UNSAFE.test(shown)).toBe(false);
    expect(JSON.parse(shown)).toBe(name);
  });

  it('a plain name, however unusual, is printed as it is by printableName', () => {
    for (const name of ['shop', 'Zürich "Kunden"', '::warning::x', 'a b', '日本']) {
      expect(printableName(name)).toBe(name);
    }
    expect(quotedName('Zürich "Kunden"')).toBe('"Zürich \\"Kunden\\""');
  });
});
