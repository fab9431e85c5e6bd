/**
 * pg_restore as both restore modes run it: one pg_restore for an archive with no partition and no
 * NOT VALID constraint, section by section (pre-data alone, then data and post-data with jobs)
 * for one with either, each restoring exactly what one pg_restore would; the modes choosing so
 * from the archive's schema script; and its errors read by whole lines, however the pipe splits
 * them.
 *
 * Covers: src/postgres/restore.ts, src/postgres/restore-passes.ts, src/restore/archive.ts.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums } from '../../scripts/lib/sample-db.js';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { readDatabaseUrl } from '../../src/inputs/database.js';
import { Inputs } from '../../src/inputs/reader.js';
import { findProgram, type Program } from '../../src/process/programs.js';
import { runPgRestore } from '../../src/postgres/restore.js';
import { plainShape, type ArchiveShape } from '../../src/postgres/restore-passes.js';
import type { DatabaseTarget } from '../../src/core/settings.js';
import { runAction } from '../support/action.js';
import { freshDatabase, sampleSource, type FreshDatabase } from '../support/db.js';
import { testDatabaseUrl } from '../support/env.js';

const run = promisify(execFile);

const sample = sampleSource('passes_src', 400);
let archive: string;
let listing: string;
let pgRestore: Program;

function targetOf(url: string): DatabaseTarget {
  return readDatabaseUrl(new Inputs(() => url), 'database-url').target;
}

/** The schema as pg_dump prints it, less the random keys of its \restrict lines. */
async function schemaOf(url: string): Promise<string> {
  const pgDump = await findProgram('pg_dump');
  const { stdout } = await run(pgDump.path, ['--schema-only', '--no-owner', `--dbname=${url}`], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

beforeAll(async () => {
  // Objects whose order across sections matters: constraints and indexes on partitions, a
  // NOT VALID check, a trigger, a deferred foreign key, a materialized view, a large object.
  await withClient(sample.db.url, (client) =>
    client.query(`
      CREATE TABLE public.p (a int, b int NOT NULL) PARTITION BY LIST (a);
      CREATE TABLE public.p1 PARTITION OF public.p FOR VALUES IN (1, 2);
      CREATE TABLE public.p3 (a int, b int NOT NULL);
      INSERT INTO public.p3 VALUES (NULL, 1), (5, 2);
      ALTER TABLE public.p ATTACH PARTITION public.p3 FOR VALUES IN (NULL, 5);
      INSERT INTO public.p VALUES (1, 10), (2, 20);
      CREATE INDEX p_b ON public.p (b);
      ALTER TABLE public.p3 ADD CONSTRAINT p3_b_positive CHECK (b > 0) NOT VALID;
      CREATE TABLE public.parent (id int PRIMARY KEY);
      CREATE TABLE public.child (id int REFERENCES public.parent DEFERRABLE INITIALLY DEFERRED);
      INSERT INTO public.parent SELECT generate_series(1, 50);
      INSERT INTO public.child SELECT generate_series(1, 50);
      CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER child_touch BEFORE INSERT ON public.child FOR EACH ROW EXECUTE FUNCTION public.touch();
      CREATE MATERIALIZED VIEW public.child_count AS SELECT count(*) AS n FROM public.child;
      SELECT lo_from_bytea(0, 'large object bytes');
      COMMENT ON TABLE public.p IS 'partitioned';
      -- A foreign key to a table partitioned twice over (the regression database's droppk).
      CREATE TABLE public.droppk (a int PRIMARY KEY) PARTITION BY RANGE (a);
      CREATE TABLE public.droppk1 PARTITION OF public.droppk FOR VALUES FROM (0) TO (1000);
      CREATE TABLE public.droppk2 PARTITION OF public.droppk FOR VALUES FROM (1000) TO (2000)
        PARTITION BY RANGE (a);
      CREATE TABLE public.droppk21 PARTITION OF public.droppk2 FOR VALUES FROM (1000) TO (1400);
      CREATE TABLE public.droppk2_d PARTITION OF public.droppk2 DEFAULT;
      INSERT INTO public.droppk VALUES (1), (1000), (1500);
      CREATE TABLE public.dropfk (a int REFERENCES public.droppk);
      INSERT INTO public.dropfk VALUES (1), (1000), (1500);
      -- A comment on the foreign key: it must follow the key, in whichever pass.
      COMMENT ON CONSTRAINT dropfk_a_fkey ON public.dropfk IS 'the key';
    `),
  );
  archive = path.join(sample.work, 'source.dump');
  const pgDump = await findProgram('pg_dump');
  await run(pgDump.path, ['--format=custom', `--file=${archive}`, `--dbname=${sample.db.url}`]);
  pgRestore = await findProgram('pg_restore');
  listing = (await run(pgRestore.path, ['--list', archive])).stdout;
});

describe.each([
  [
    'four passes, the indexes and keys before the rest',
    { ...plainShape(), partitions: true, notValid: true },
  ],
  ['three passes', { ...plainShape(), notValid: true }],
  ['one pg_restore', plainShape()],
])('pg_restore in %s', (_, shape: ArchiveShape) => {
  it('restores a copy equal to the source: the same schema (pg_dump -s) and the same rows in every table', async () => {
    const copy = await freshDatabase('passes_copy');
    try {
      await runPgRestore(pgRestore, archive, targetOf(copy.url), {
        jobs: 2,
        keepOwners: false,
        signal: new AbortController().signal,
        shape,
        listing,
      });
      expect(await schemaOf(copy.url)).toBe(await schemaOf(sample.db.url));
      expect(await tableChecksums(copy.url)).toEqual(await tableChecksums(sample.db.url));
      const objects = await withClient(copy.url, (client) =>
        client.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM pg_largeobject_metadata) +
                  (SELECT n FROM public.child_count) AS n`,
        ),
      );
      expect(Number(objects.rows[0]?.n)).toBe(51);
    } finally {
      await copy.drop();
    }
  });
});

describe('pg_restore’s errors', () => {
  it('are read by whole lines: an error written in two pieces keeps its every word', async () => {
    const fake = path.join(sample.work, 'pg_restore');
    await writeFile(
      fake,
      `#!/bin/sh\nprintf 'pg_restore: err' >&2\nsleep 0.3\nprintf 'or: could not execute query: ERROR:  relation "t" already exists\\nCommand was: CREATE TABLE t ();\\n' >&2\nexit 1\n`,
    );
    await chmod(fake, 0o755);
    const program: Program = { path: fake, version: '15.0', major: 15 };
    const failed = runPgRestore(program, archive, targetOf(sample.db.url), {
      jobs: 1,
      keepOwners: false,
      signal: new AbortController().signal,
      shape: plainShape(),
      listing,
    });
    await expect(failed).rejects.toThrow(/^pg_restore failed: relation "t" already exists$/);
  });
});

describe('the modes choose the passes from the archive', () => {
  // NOT VALID on an inheritance parent: no partition, and nothing in the list says so.
  let inherits: FreshDatabase;
  let plain: FreshDatabase;
  let laterCheck: FreshDatabase;
  let spy: string;
  let calls: string;

  /** The restores into a database (not the archive's reads) since the last call. */
  async function restoreRuns(): Promise<string[]> {
    const lines = (await readFile(calls, 'utf8').catch(() => '')).split('\n');
    await rm(calls, { force: true });
    return lines.filter((line) => line.includes('--dbname='));
  }

  beforeAll(async () => {
    inherits = await freshDatabase('passes_inherits');
    await withClient(inherits.url, (client) =>
      client.query(`
        CREATE TABLE public.par (a int, b int);
        CREATE TABLE public.ch (c int) INHERITS (public.par);
        INSERT INTO public.ch VALUES (NULL, 1, 2);
        ALTER TABLE public.par ADD CONSTRAINT par_b CHECK (b > 0) NOT VALID;
      `),
    );
    // A valid CHECK pg_dump puts after the data (its function takes the row type), which reads
    // another table: one pg_restore --jobs may check it before that table's rows are in.
    laterCheck = await freshDatabase('passes_check');
    await withClient(laterCheck.url, (client) =>
      client.query(`
        CREATE TABLE public.big (id int PRIMARY KEY, pad text);
        CREATE TABLE public.small (id int, ref int);
        CREATE FUNCTION public.ref_ok(r public.small) RETURNS boolean LANGUAGE plpgsql STABLE AS
          $$ BEGIN RETURN EXISTS (SELECT 1 FROM public.big WHERE id = r.ref); END $$;
        ALTER TABLE public.small ADD CONSTRAINT small_ref_ok CHECK (public.ref_ok(small));
        INSERT INTO public.big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
        INSERT INTO public.small SELECT g, g FROM generate_series(1, 100) g;
      `),
    );
    // Tables with keys, a foreign key and an index, as most databases are: no partition.
    plain = await freshDatabase('passes_plain');
    await withClient(plain.url, (client) =>
      client.query(`
        CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
        CREATE TABLE public.orders (id int PRIMARY KEY, customer int REFERENCES public.customers,
          total numeric CHECK (total >= 0));
        CREATE INDEX orders_customer ON public.orders (customer);
        INSERT INTO public.customers SELECT g, 'c' || g FROM generate_series(1, 300) g;
        INSERT INTO public.orders SELECT g, 1 + g % 300, g FROM generate_series(1, 900) g;
      `),
    );
    spy = path.join(sample.work, 'spy-bin');
    calls = path.join(sample.work, 'pg_restore.calls');
    await mkdir(spy, { recursive: true });
    await writeFile(
      path.join(spy, 'pg_restore'),
      // Each run written down, and a copy of the list a pass is given.
      `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\nfor a; do case "$a" in --use-list=*) f="\${a#--use-list=}"; cp "$f" ${JSON.stringify(calls)}."$(basename "$f")";; esac; done\nexec ${JSON.stringify(pgRestore.path)} "$@"\n`,
      { mode: 0o755 },
    );
  });

  afterAll(async () => {
    await plain?.drop();
    await inherits?.drop();
    await laterCheck?.drop();
  });

  const FOUR = {
    sections: ['pre-data', 'data', 'post-data', 'post-data'],
    jobs: ['1', '2', '2', '2'],
    lists: [undefined, undefined, 'post-data-keys.list', 'post-data-rest.list'],
  };
  const THREE = {
    sections: ['pre-data', 'data', 'post-data'],
    jobs: ['1', '2', '2'],
    lists: [undefined, undefined, undefined],
  };
  const ONE = { sections: [undefined], jobs: ['2'], lists: [undefined] };

  it.each([
    [
      'partitions and a NOT VALID check: four, the indexes and keys before the rest',
      FOUR,
      () => sample.db.url,
    ],
    ['a NOT VALID check on an inheritance parent: three', THREE, () => inherits.url],
    ['a CHECK dumped after the data, reading another table: three', THREE, () => laterCheck.url],
    ['neither: one', ONE, () => plain.url],
  ])(
    '%s pg_restore run(s) into the database, for restore-test and restore with jobs 2',
    async (label, expected, source) => {
      const store = path.join(sample.work, `store-${expected.sections.length}-${label.length}`);
      const made = await runAction({ storage: store, name: 'passes', 'database-url': source() });
      expect(made.code, made.stdout).toBe(0);
      const into = await freshDatabase('passes_into');
      try {
        const common = { storage: store, name: 'passes', 'pg-bin-dir': spy, jobs: '2' };
        await restoreRuns();
        const tested = await runAction({
          ...common,
          mode: 'restore-test',
          'database-url': testDatabaseUrl(),
        });
        expect(tested.code, tested.stdout).toBe(0);
        const testRuns = await restoreRuns();
        const restored = await runAction({
          ...common,
          mode: 'restore',
          'database-url': into.url,
          confirm: into.name,
        });
        expect(restored.code, restored.stdout).toBe(0);
        for (const runs of [testRuns, await restoreRuns()]) {
          expect(runs.map((line) => /--section=(\S+)/.exec(line)?.[1])).toEqual(expected.sections);
          expect(runs.map((line) => /--jobs=(\d+)/.exec(line)?.[1])).toEqual(expected.jobs);
          const lists = runs.map((line) => /--use-list=(\S+)/.exec(line)?.[1]);
          expect(lists.map((list) => list && path.basename(list))).toEqual(expected.lists);
        }
        if (expected === FOUR) {
          const kept = async (name: string) =>
            (await readFile(`${calls}.${name}`, 'utf8'))
              .split('\n')
              .filter((line) => /^\d+; /.test(line));
          const keys = await kept('post-data-keys.list');
          expect(keys.some((line) => / INDEX ATTACH public droppk21_pkey /.test(line))).toBe(true);
          expect(
            keys.every((line) => /^\d+; \d+ \d+ (INDEX ATTACH|INDEX|CONSTRAINT) /.test(line)),
          ).toBe(true);
          const rest = await kept('post-data-rest.list');
          expect(rest.some((line) => / FK CONSTRAINT public dropfk /.test(line))).toBe(true);
          expect(rest.some((line) => / COMMENT public CONSTRAINT dropfk_a_fkey /.test(line))).toBe(
            true,
          );
          expect(rest.some((line) => / INDEX ATTACH /.test(line))).toBe(false);
        }
        expect(await tableChecksums(into.url)).toEqual(await tableChecksums(source()));
      } finally {
        await into.drop();
      }
    },
  );
});
