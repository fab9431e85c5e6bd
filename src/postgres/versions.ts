/**
 * Which PostgreSQL versions can restore a backup, decided before anything is downloaded where the
 * manifest allows, with one line naming the versions and the fix. Pure.
 */

interface Versioned {
  version: string;
  major: number;
}

/** `15.18` → 15; `9.6.24` → 9; unknown → undefined. */
export function majorOf(version: string | undefined): number | undefined {
  const major = Number(version?.split('.')[0]);
  return Number.isInteger(major) && major > 0 ? major : undefined;
}

/** pg_restore's refusal of an archive format newer than it knows, as one line with the fix. */
export function unsupportedFormatLine(
  stderr: string,
  pgRestore: Versioned,
  dumpVersion: string | undefined,
): string | undefined {
  const format = /unsupported version \(([\d.]+)\) in file header/.exec(stderr)?.[1];
  if (!format) return undefined;
  const madeBy = dumpVersion ? `pg_dump ${dumpVersion}` : 'a newer pg_dump';
  return (
    `pg_restore ${pgRestore.version} cannot read this archive (format ${format}, made by ${madeBy}); ` +
    `set pg-bin-dir to the bin folder of a PostgreSQL as new as that pg_dump, or install its postgresql-client`
  );
}

/**
 * A dump restores into a server older than its source only when it uses nothing the older
 * server lacks; said up front, and again if the restore fails.
 */
export function olderServerNote(
  sourceVersion: string | undefined,
  server: Versioned,
): string | undefined {
  const sourceMajor = majorOf(sourceVersion);
  if (sourceMajor === undefined || sourceMajor <= server.major) return undefined;
  return (
    `the backup is of a PostgreSQL ${sourceVersion} server, restored into PostgreSQL ${server.version}; ` +
    `objects that use newer features will not restore: restore into PostgreSQL ${sourceMajor} or newer (e.g. image postgres:${sourceMajor})`
  );
}
