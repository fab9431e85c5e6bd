/**
 * Which PostgreSQL versions can restore a backup, decided from the manifest before anything is
 * restored, with one line naming the versions and the fix. Pure.
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

/**
 * pg_restore 17 and newer open every session with `SET transaction_timeout = 0`, whatever the
 * server (`_doSetFixedOutputState` in src/bin/pg_dump/pg_backup_archiver.c, since the parameter
 * came in 17), and a server before 17 refuses that parameter: the restore fails at its first line.
 */
const TRANSACTION_TIMEOUT_MAJOR = 17;

/** The pg_restore majors that can restore an archive into a server, and the one to install. */
export interface PgRestoreMajors {
  /** The archive's pg_dump major: an older pg_restore cannot read its format. */
  oldest?: number;
  /** The newest that can talk to the server, and why no newer one can; absent: any. */
  newest?: { major: number; why: string };
  /** The major installed when the machine's cannot serve. */
  install?: number;
}

/** Which pg_restore can restore an archive of pg_dump `dumpVersion` into `server` (unknown: any). */
export function pgRestoreMajors(
  dumpVersion: string | undefined,
  server: Versioned | undefined,
): PgRestoreMajors {
  const oldest = majorOf(dumpVersion);
  if (!server || server.major >= TRANSACTION_TIMEOUT_MAJOR) return { oldest, install: oldest };
  const why =
    `cannot restore into the PostgreSQL ${server.version} server: pg_restore ` +
    `${TRANSACTION_TIMEOUT_MAJOR} and newer always set transaction_timeout, which servers before ${TRANSACTION_TIMEOUT_MAJOR} lack`;
  // The server's own major when the archive allows, as its own client would be.
  const install = Math.max(oldest ?? server.major, server.major);
  return { oldest, newest: { major: TRANSACTION_TIMEOUT_MAJOR - 1, why }, install };
}

/**
 * One line when no pg_restore can do it: the archive needs one of 17 or newer, which the server
 * cannot take.
 */
export function unrestorableLine(
  dumpVersion: string | undefined,
  server: Versioned,
): string | undefined {
  const { oldest, newest } = pgRestoreMajors(dumpVersion, server);
  if (oldest === undefined || !newest || oldest <= newest.major) return undefined;
  return (
    `the backup was made by pg_dump ${dumpVersion}, whose archive only pg_restore ${oldest} or newer reads, and pg_restore ` +
    `${TRANSACTION_TIMEOUT_MAJOR} and newer always set transaction_timeout, which the PostgreSQL ${server.version} server lacks; ` +
    `restore into PostgreSQL ${TRANSACTION_TIMEOUT_MAJOR} or newer (e.g. image postgres:${oldest})`
  );
}
