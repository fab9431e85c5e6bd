/**
 * The pure judgements verify-latest makes of a server backup: each database's size against the
 * previous backup's same database, and the globals read as pg_dumpall's SQL.
 *
 * Covers: src/verify/globals-check.ts, src/verify/rules.ts.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkGlobals } from '../../src/verify/globals-check.js';
import { databaseChanges } from '../../src/verify/rules.js';

describe('each database against the previous backup', () => {
  const previous = [
    { name: 'crm', size: 10_000 },
    { name: 'Café 2', size: 10_000 },
    { name: 'old', size: 500 },
  ];

  it('a database that shrank more than max-shrink is named; the others pass', () => {
    const newest = [
      { name: 'crm', size: 9_000 },
      { name: 'Café 2', size: 2_000 },
      { name: 'old', size: 500 },
      { name: 'new', size: 1 },
    ];
    expect(databaseChanges(newest, previous, 0.5)).toEqual({
      shrank: [
        'database "Café 2" shrank 80% against the previous backup (9.8 KiB → 2.0 KiB), more than max-shrink 50%',
      ],
      gone: [],
    });
    expect(databaseChanges(newest, previous, 0.9).shrank).toEqual([]);
  });

  it('a database of the previous backup missing from the newest is named as gone', () => {
    const newest = [
      { name: 'crm', size: 10_000 },
      { name: 'café 2', size: 10_000 },
    ];
    expect(databaseChanges(newest, previous, 0.5)).toEqual({
      shrank: [],
      gone: ['Café 2', 'old'],
    });
  });
});

const HEADER = '--\n-- PostgreSQL database cluster dump\n--\n\n\\restrict abc\n\n';
const BODY = 'SET default_transaction_read_only = off;\n\nCREATE ROLE app;\nCREATE ROLE "Ädmin";\n';
const FOOTER = '\n\\unrestrict abc\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n';

/** The text in pieces of `size` bytes, so a character or a line may be split between two. */
const pieces = (bytes: Buffer, size: number): Readable =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    ),
  );

describe('the globals as SQL', () => {
  it('a pg_dumpall globals dump passes, its roles counted, however it is split', async () => {
    const sql = Buffer.from(HEADER + BODY + FOOTER);
    for (const size of [1, 3, 7, 4096]) {
      expect(await checkGlobals(pieces(sql, size))).toEqual({ bytes: sql.length, roles: 2 });
    }
  });

  it.each([
    ['empty', Buffer.alloc(0), /the globals are not a pg_dumpall dump: they are empty/],
    ['cut short', Buffer.from(HEADER + BODY), /do not end with its "cluster dump complete" footer/],
    [
      'a pg_dump of one database',
      Buffer.from(`--\n-- PostgreSQL database dump\n--\n${BODY}${FOOTER}`),
      /do not start with its "PostgreSQL database cluster dump" header/,
    ],
    [
      'not UTF-8',
      Buffer.concat([Buffer.from(HEADER), Buffer.from([0xc3, 0x28]), Buffer.from(FOOTER)]),
      /the globals are not UTF-8 text/,
    ],
    [
      'binary (still compressed)',
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]),
      /not a pg_dumpall dump|not UTF-8/,
    ],
  ])('%s: named', async (_what, bytes, problem) => {
    await expect(checkGlobals(pieces(bytes, 5))).rejects.toThrow(problem);
  });
});
