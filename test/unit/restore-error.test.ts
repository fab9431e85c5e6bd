/**
 * pg_restore's first error as one printable line: a message split by a name's line break is taken
 * whole, the lines of the next message and of its details are not, and control characters are
 * escaped.
 *
 * Covers: src/postgres/restore-error.ts.
 */
import { describe, expect, it } from 'vitest';
import { FirstError } from '../../src/postgres/restore-error.js';

const firstError = (stderr: string) => {
  const found = new FirstError();
  for (const line of stderr.split('\n')) found.add(line);
  return found.text;
};

describe('FirstError', () => {
  it('takes a message split by a table name’s line break whole, and escapes it', () => {
    const stderr = [
      'pg_restore: warning: something first',
      'pg_restore: error: COPY failed for table "t',
      '\x1bx": ERROR:  new row for relation "t',
      '\x1bx" violates check constraint "t_id_check"',
      'DETAIL:  Failing row contains (1).',
      'CONTEXT:  COPY t',
      'pg_restore: error: a later one',
    ].join('\n');
    expect(firstError(stderr)).toBe(
      'COPY failed for table "t\\n\\u001bx": new row for relation "t\\n\\u001bx" violates check constraint "t_id_check"',
    );
  });

  it('reads a one-line error, and an older pg_restore’s, without what follows', () => {
    expect(
      firstError(
        'pg_restore: error: could not execute query: ERROR:  relation "t" already exists\nCommand was: CREATE TABLE public.t ();',
      ),
    ).toBe('relation "t" already exists');
    expect(
      firstError(
        'pg_restore: [archiver (db)] Error from TOC entry 5; could not execute query: ERROR:  permission denied\n    Command was: ALTER …',
      ),
    ).toBe('pg_restore: [archiver (db)] Error from TOC entry 5; permission denied');
  });

  it('is undefined when no error was printed', () => {
    expect(firstError('pg_restore: warning: errors ignored on restore: 0')).toBeUndefined();
  });
});
