/**
 * Which pg_restore runs an archive gets, from its schema script: one for an archive with no
 * partition and no NOT VALID constraint, three section passes otherwise (pg_restore 18's parallel
 * NOT NULL … NOT VALID race, issue 22), however the script spells them; and how the tables
 * autovacuum will not analyze are put into ANALYZE statements.
 *
 * Covers: src/postgres/restore-passes.ts, src/postgres/statistics.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  addShapeOf,
  plainShape,
  restorePasses,
  shapeOfToc,
  useList,
} from '../../src/postgres/restore-passes.js';
import { batchesOf } from '../../src/postgres/statistics.js';

const THREE = [
  { section: 'pre-data', jobs: 1 },
  { section: 'data', jobs: 4 },
  { section: 'post-data', jobs: 4 },
];

function shapeOf(...lines: string[]) {
  const shape = plainShape();
  for (const line of lines) addShapeOf(line, shape);
  return shape;
}

describe('restorePasses', () => {
  it('is one pg_restore with the jobs for a plain archive', () => {
    expect(restorePasses(4, plainShape())).toEqual([{ jobs: 4 }]);
  });

  it('is three section passes, pre-data alone, for a NOT VALID constraint or a CHECK dumped after the data', () => {
    expect(restorePasses(4, { ...plainShape(), notValid: true })).toEqual(THREE);
    expect(restorePasses(4, { ...plainShape(), laterChecks: true })).toEqual(THREE);
  });

  it('is four for partitions: the indexes and key constraints alone, then the rest of post-data', () => {
    const four = [
      ...THREE.slice(0, 2),
      { section: 'post-data', jobs: 4, entries: 'keys' },
      { section: 'post-data', jobs: 4, entries: 'rest' },
    ];
    expect(restorePasses(4, { ...plainShape(), partitions: true })).toEqual(four);
    expect(restorePasses(4, { ...plainShape(), partitions: true, notValid: true })).toEqual(four);
  });

  it('is one pg_restore with one job whatever the archive: nothing runs in parallel to race', () => {
    expect(restorePasses(1, { ...plainShape(), partitions: true, notValid: true })).toEqual([
      { jobs: 1 },
    ]);
  });
});

describe('addShapeOf', () => {
  it.each([
    ['    ADD CONSTRAINT p_nn NOT NULL a NOT VALID;', 'notValid'],
    ['    ADD CONSTRAINT c CHECK ((b > 0)) NOT VALID;', 'notValid'],
    ['    ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES public.t(id) not valid;', 'notValid'],
    ['ADD CONSTRAINT c CHECK (b > 0) NOT\tVALID;', 'notValid'],
    ['ADD CONSTRAINT c CHECK (b > 0) Not  Valid;', 'notValid'],
    ['ALTER TABLE ONLY public.p ATTACH PARTITION public.p3 FOR VALUES IN (NULL, 5);', 'partitions'],
    ['ALTER TABLE ONLY public.p attach  partition public.p3 DEFAULT;', 'partitions'],
    ['CREATE TABLE public.p1 PARTITION OF public.p', 'partitions'],
  ] as const)('reads %j', (line, what) => {
    expect(shapeOf(line)[what]).toBe(true);
  });

  it('reads nothing from the lines of a plain schema', () => {
    expect(
      shapeOf(
        'CREATE TABLE public.orders (',
        '    id bigint NOT NULL,',
        'ALTER TABLE ONLY public.orders',
        '    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);',
        "COMMENT ON TABLE public.orders IS 'validated nightly';",
        'CREATE INDEX orders_partition_key ON public.orders USING btree (id);',
      ),
    ).toEqual(plainShape());
  });

  it('keeps what an earlier line showed', () => {
    expect(shapeOf('x NOT VALID;', 'CREATE TABLE t ();')).toEqual({
      ...plainShape(),
      notValid: true,
    });
  });
});

describe('shapeOfToc', () => {
  const toc = (...entries: string[]) => ({ entries: new Set(entries) });

  it('sees a CHECK constraint dumped after the data by its entry type', () => {
    expect(
      shapeOfToc(toc('TABLE public small', 'CHECK CONSTRAINT public small small_ref_ok'))
        .laterChecks,
    ).toBe(true);
  });

  it('is not fooled by a name that says CHECK CONSTRAINT', () => {
    expect(
      shapeOfToc(toc('TABLE CHECK CONSTRAINT x', 'CONSTRAINT public t CHECK CONSTRAINT'))
        .laterChecks,
    ).toBe(false);
  });
});

describe('useList', () => {
  const listing = [
    ';',
    '; Archive created at 2026-12-07 21:00:00 UTC',
    ';',
    '214; 1259 16385 TABLE public droppk postgres',
    '219; 1259 16500 TABLE public INDEX x postgres',
    '3226; 2606 16389 CONSTRAINT public droppk droppk_pkey postgres',
    '3230; 1259 16420 INDEX public dropfk_a postgres',
    '3237; 0 0 INDEX ATTACH public droppk1_pkey postgres',
    '3242; 2606 16418 FK CONSTRAINT public dropfk dropfk_a_fkey postgres',
    '3243; 2606 16419 CHECK CONSTRAINT public t CONSTRAINT x postgres',
    '3250; 0 0 COMMENT public CONSTRAINT dropfk_a_fkey ON dropfk postgres',
    '3251; 0 0 COMMENT public INDEX dropfk_a postgres',
    '',
  ].join('\n');
  const taken = (list: string) => list.split('\n').filter((line) => /^\d+; /.test(line));

  it('takes the indexes, their attachments and key constraints, by their type whatever the names say', () => {
    expect(taken(useList(listing, 'keys'))).toEqual([
      '3226; 2606 16389 CONSTRAINT public droppk droppk_pkey postgres',
      '3230; 1259 16420 INDEX public dropfk_a postgres',
      '3237; 0 0 INDEX ATTACH public droppk1_pkey postgres',
    ]);
  });

  it('takes everything else for the rest, comments on keys included, and keeps the header', () => {
    const list = useList(listing, 'rest');
    expect(taken(list)).toEqual([
      '214; 1259 16385 TABLE public droppk postgres',
      '219; 1259 16500 TABLE public INDEX x postgres',
      '3242; 2606 16418 FK CONSTRAINT public dropfk dropfk_a_fkey postgres',
      '3243; 2606 16419 CHECK CONSTRAINT public t CONSTRAINT x postgres',
      '3250; 0 0 COMMENT public CONSTRAINT dropfk_a_fkey ON dropfk postgres',
      '3251; 0 0 COMMENT public INDEX dropfk_a postgres',
    ]);
    expect(list.split('\n').slice(0, 3)).toEqual(listing.split('\n').slice(0, 3));
    expect(list.split('\n')).toHaveLength(listing.split('\n').length);
  });
});

describe('batchesOf', () => {
  it('puts each large table alone and small ones together, in the order given', () => {
    const tables = [
      { name: 'a', pages: 5000 },
      { name: 'b', pages: 1024 },
      { name: 'c', pages: 600 },
      { name: 'd', pages: 400 },
      { name: 'e', pages: 30 },
      { name: 'f', pages: 0 },
    ];
    expect(batchesOf(tables)).toEqual([['a'], ['b'], ['c', 'd'], ['e', 'f']]);
  });

  it('puts at most 100 tables in one statement', () => {
    const tables = Array.from({ length: 250 }, (_, i) => ({ name: `t${i}`, pages: 0 }));
    expect(batchesOf(tables).map((batch) => batch.length)).toEqual([100, 100, 50]);
  });

  it('makes no statement for no tables', () => {
    expect(batchesOf([])).toEqual([]);
  });
});
