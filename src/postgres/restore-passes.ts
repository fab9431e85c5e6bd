/**
 * How many pg_restore runs an archive needs. pg_restore 18's --jobs can add a NOT NULL … NOT VALID
 * constraint to a parent table before a child's rows are in (an upstream bug: the constraint waits
 * only for the parent's own data), and the children's rows then fail it. Such an archive is
 * restored section by section, every constraint and index after all the data, as is one with a
 * CHECK constraint dumped after the data (whose function may read other tables). Any other
 * archive is restored by one `pg_restore --jobs`, which starts a table's indexes as soon as its
 * rows are in. Pure.
 */
import type { ArchiveToc } from './toc.js';

export interface RestorePass {
  /** Undefined: the whole archive in one run. */
  section?: 'pre-data' | 'data' | 'post-data';
  jobs: number;
  /**
   * Only the indexes, their attachments and the key constraints, or all but them (`--use-list`);
   * undefined: every entry.
   */
  entries?: 'keys' | 'rest';
}

/** What of the archive decides the passes, read from its schema script. */
export interface ArchiveShape {
  /** Partitions (`ATTACH PARTITION`, or `PARTITION OF` from pg_dump before 14). */
  partitions: boolean;
  /**
   * Any NOT VALID constraint, which may sit on an inheritance parent (inheritance has no entry of
   * its own in the table of contents) and, being unchecked for old rows, is dumped after the data.
   */
  notValid: boolean;
  /**
   * A CHECK constraint pg_dump puts after the data (one whose function takes the table's row
   * type): its function may read another table, whose rows one pg_restore may not have loaded yet.
   */
  laterChecks: boolean;
}

export const plainShape = (): ArchiveShape => ({
  partitions: false,
  notValid: false,
  laterChecks: false,
});

/** The shape the table of contents shows: its entry types are pg_restore's, never a name. */
export function shapeOfToc(toc: ArchiveToc): ArchiveShape {
  const shape = plainShape();
  shape.laterChecks = [...toc.entries].some((entry) => entry.startsWith('CHECK CONSTRAINT '));
  return shape;
}

/**
 * Adds what one line of the schema script shows. Reading too much (a name or a comment that says
 * so) costs only the section passes; nothing may be missed, so no case or spacing is assumed.
 */
export function addShapeOf(line: string, shape: ArchiveShape): void {
  if (/\bnot\s+valid\b/i.test(line)) shape.notValid = true;
  if (/\b(attach\s+partition|partition\s+of)\b/i.test(line)) shape.partitions = true;
}

/**
 * With partitions, the indexes, their attachments and the key constraints come first, alone:
 * pg_restore --jobs can add a foreign key that references a partitioned table before every
 * partition's index is attached, while the key's index is still invalid ("there is no unique
 * constraint matching given keys", seen now and then on PostgreSQL's regression database with 15,
 * whose droppk is partitioned twice over). Everything else of post-data (foreign keys, checks,
 * triggers, comments on any of them) follows, ordered by pg_restore.
 */
export function restorePasses(jobs: number, shape: ArchiveShape): RestorePass[] {
  if (jobs <= 1 || (!shape.partitions && !shape.notValid && !shape.laterChecks)) return [{ jobs }];
  const postData: RestorePass[] = shape.partitions
    ? [
        { section: 'post-data', jobs, entries: 'keys' },
        { section: 'post-data', jobs, entries: 'rest' },
      ]
    : [{ section: 'post-data', jobs }];
  return [{ section: 'pre-data', jobs: 1 }, { section: 'data', jobs }, ...postData];
}

/**
 * An entry line of `pg_restore --list` (`<id>; <catalog> <oid> <type> …`) of what a foreign key
 * may need: an index, an index's attachment, a primary key, unique or exclusion constraint. They
 * need nothing of post-data but each other.
 */
const KEY = /^\d+; \d+ \d+ (?:INDEX ATTACH|INDEX|CONSTRAINT) /;
const ENTRY = /^\d+; /;

/**
 * The `--use-list` of a pass: the listing with the entries it leaves out commented away. Names
 * cannot forge a type: pg_restore prints the type before them, and a name's line breaks as spaces.
 */
export function useList(listing: string, entries: 'keys' | 'rest'): string {
  return listing
    .split('\n')
    .map((line) =>
      ENTRY.test(line) && KEY.test(line) !== (entries === 'keys') ? `;${line}` : line,
    )
    .join('\n');
}
