/**
 * pg_restore as both restore modes run it: section by section (pre-data alone, then data and
 * post-data with jobs), which must restore exactly what one pg_restore would; and its errors read
 * by whole lines, however the pipe splits them.
 *
 * Covers: src/postgres/restore.ts.
 */
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableChecksums } from '../../scripts/lib/sample-db.js';
import { withClient } from '../../scripts/lib/pg-cluster.js';
import { readDatabaseUrl } from '../../src/inputs/database.js';
import { Inputs } from '../../src/inputs/reader.js';
import { findProgram, type Program } from '../../src/process/programs.js';
import { restorePasses, runPgRestore } from '../../src/postgres/restore.js';
import type { DatabaseTarget } from '../../src/core/settings.js';
import { freshDatabase, sampleSource } from '../support/db.js';

const run = promisify(execFile);

const sample = sampleSource('passes_src', 400);
let archive: string;
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
    `),
  );
  archive = path.join(sample.work, 'source.dump');
  const pgDump = await findProgram('pg_dump');
  await run(pgDump.path, ['--format=custom', `--file=${archive}`, `--dbname=${sample.db.url}`]);
  pgRestore = await findProgram('pg_restore');
});

describe('pg_restore in three passes', () => {
  it('runs pre-data alone, then data and post-data with the jobs', () => {
    expect(restorePasses(4)).toEqual([
      { section: 'pre-data', jobs: 1 },
      { section: 'data', jobs: 4 },
      { section: 'post-data', jobs: 4 },
    ]);
  });

  it('restores a copy equal to the source: the same schema (pg_dump -s) and the same rows in every table', async () => {
    const copy = await freshDatabase('passes_copy');
    try {
      await runPgRestore(pgRestore, archive, targetOf(copy.url), {
        jobs: 2,
        keepOwners: false,
        signal: new AbortController().signal,
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
    });
    await expect(failed).rejects.toThrow(/^pg_restore failed: relation "t" already exists$/);
  });
});
