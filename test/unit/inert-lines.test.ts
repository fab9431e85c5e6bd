/**
 * Lines the GitHub runner would obey as workflow commands are printed inert. The runner's rule
 * (actions/runner, src/Runner.Common/ActionCommand.cs: TryParseV2 trims leading whitespace and
 * looks for `::`; TryParse, the older form, for `##[`), checked line by line on \r, \n and \r\n.
 *
 * Covers: src/core/inert-lines.ts.
 */
import { describe, expect, it } from 'vitest';
import { inertLines } from '../../src/core/inert-lines.js';

const COMMAND_START = /^[\s\u0085]*(::|##\[)/;
const obeyed = (text: string) =>
  text.split(/\r\n|\r|\n/).filter((line) => COMMAND_START.test(line));

describe('inertLines', () => {
  it.each([
    '::warning::injected: testing in scratch database x',
    '  ::stop-commands::token',
    '\t::add-mask::secret',
    '\u00a0::error::nbsp',
    '\u0085::error::next line',
    '\u2028::error::line separator',
    '##[error]old form',
    'shop: done\n::set-output name=x::1',
    'a\r::warning::after a carriage return',
    'a\r\n  ##[warning]after CRLF',
  ])('leaves no line the runner would obey in %j', (text) => {
    expect(obeyed(text).length).toBeGreaterThan(0);
    expect(obeyed(inertLines(text))).toEqual([]);
  });

  it('keeps every other line, and every line break, as it was', () => {
    const text = 'shop: 3 tables, 12 rows, matched\r\nrows: a::b\n##x\n: :\r';
    expect(inertLines(text)).toBe(text);
  });

  it('shows the name it made inert, behind a visible mark', () => {
    expect(inertLines('::warning::x: done')).toBe('> ::warning::x: done');
  });
});
