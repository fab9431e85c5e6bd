/**
 * How many pg_restore runs an archive needs. pg_restore 18's --jobs can add a NOT NULL … NOT VALID
 * constraint to a parent table before a child's rows are in (an upstream bug: the constraint waits
 * only for the parent's own data), and the children's rows then fail it. Such an archive is
 * restored section by section, every constraint and index after all the data. Any other archive is
 * restored by one `pg_restore --jobs`, which starts a table's indexes as soon as its rows are in.
 * Pure.
 */
export interface RestorePass {
  /** Undefined: the whole archive in one run. */
  section?: 'pre-data' | 'data' | 'post-data';
  jobs: number;
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
}

export const plainShape = (): ArchiveShape => ({ partitions: false, notValid: false });

/**
 * Adds what one line of the schema script shows. Reading too much (a name or a comment that says
 * so) costs only the section passes; nothing may be missed, so no case or spacing is assumed.
 */
export function addShapeOf(line: string, shape: ArchiveShape): void {
  if (/\bnot\s+valid\b/i.test(line)) shape.notValid = true;
  if (/\b(attach\s+partition|partition\s+of)\b/i.test(line)) shape.partitions = true;
}

export function restorePasses(jobs: number, shape: ArchiveShape): RestorePass[] {
  if (jobs <= 1 || (!shape.partitions && !shape.notValid)) return [{ jobs }];
  return [
    { section: 'pre-data', jobs: 1 },
    { section: 'data', jobs },
    { section: 'post-data', jobs },
  ];
}
