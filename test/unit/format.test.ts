/**
 * Numbers as the summaries show them.
 *
 * Covers: src/core/format.ts.
 */
import { describe, expect, it } from 'vitest';
import { formatCount } from '../../src/core/format.js';

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [20_000, '20,000'],
    [1_079_578, '1,079,578'],
    [123_456_789_012, '123,456,789,012'],
    [-1234, '-1,234'],
  ])('%d is %s', (count, shown) => {
    expect(formatCount(count)).toBe(shown);
  });
});
