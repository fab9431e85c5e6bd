/**
 * The storage layout, relative to the storage root:
 *   <name>/<id>.<ext>            the backup's bytes
 *   <name>/<id>.manifest.json    written last: a backup exists only once its manifest does
 *   <name>/<id>/<file>.<ext>     a server backup's objects: one per database, and the globals
 *   <name>/<id>.identity.age     a passphrase backup's own age identity, sealed with the passphrase
 *   <name>/history/<run>.<mode>.json   the record of one restore-test or verify-latest run
 * Every key the product deletes must classify here, so nothing outside a set's own layout is touched.
 */
import { createHash } from 'node:crypto';
import { idTime, isBackupId } from './ids.js';

export type Compression = 'zstd' | 'gzip' | 'none';
export type ArchiveFormat = 'pg_dump-custom' | 'tar' | 'rdb';
export type Encryption = 'none' | 'age' | 'gpg';

export const NAME_PATTERN = /^[a-z0-9._-]+$/;

/** True for a set name that is one safe path segment. */
export function isValidSetName(name: string): boolean {
  return NAME_PATTERN.test(name) && name !== '.' && name !== '..' && name.length <= 128;
}

const COMPRESSION_SUFFIX: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };
const ENCRYPTION_SUFFIX: Record<Encryption, string> = { none: '', age: '.age', gpg: '.gpg' };

/** Every encryption layer the stored format knows. */
export const ENCRYPTIONS = Object.keys(ENCRYPTION_SUFFIX) as Encryption[];
const FORMAT_SUFFIX: Record<ArchiveFormat, string> = {
  'pg_dump-custom': 'dump',
  tar: 'tar',
  rdb: 'rdb',
};

/** `dump.zst.age`, `dump.zst.gpg`: each layer the bytes went through, in the order a person undoes them backwards. */
export function objectExtension(
  format: ArchiveFormat,
  compression: Compression,
  encryption: Encryption,
): string {
  return `${FORMAT_SUFFIX[format]}${COMPRESSION_SUFFIX[compression]}${ENCRYPTION_SUFFIX[encryption]}`;
}

export function objectKey(name: string, id: string, extension: string): string {
  return `${name}/${id}.${extension}`;
}

/**
 * A database name as one safe file name. A name of only [a-z0-9_] is kept as it is; any other is
 * reduced to those characters and given a dash and 16 hex digits of its hash. Kept names never
 * hold a dash and changed ones always do, so two databases never share a file; the exact name is
 * in the manifest.
 */
export function databaseFileName(database: string): string {
  if (/^[a-z0-9_]+$/.test(database)) return database;
  const hash = createHash('sha256').update(database, 'utf8').digest('hex').slice(0, 16);
  const readable = database
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 40);
  return `${readable}-${hash}`;
}

/** `globals.sql.zst.age`: the roles and tablespaces as SQL, through the backup's layers. */
export function globalsExtension(compression: Compression, encryption: Encryption): string {
  return `sql${COMPRESSION_SUFFIX[compression]}${ENCRYPTION_SUFFIX[encryption]}`;
}

/** `<name>/<id>/<file>.<extension>`: one object of a server backup. */
export function serverObjectKey(name: string, id: string, file: string, extension: string): string {
  return `${name}/${id}/${file}.${extension}`;
}

export function databaseObjectKey(
  name: string,
  id: string,
  database: string,
  compression: Compression,
  encryption: Encryption,
): string {
  const extension = objectExtension('pg_dump-custom', compression, encryption);
  return serverObjectKey(name, id, databaseFileName(database), extension);
}

export function globalsObjectKey(
  name: string,
  id: string,
  compression: Compression,
  encryption: Encryption,
): string {
  return serverObjectKey(name, id, 'globals', globalsExtension(compression, encryption));
}

const IDENTITY_EXTENSION = 'identity.age';

/**
 * `<name>/<id>.identity.age`: the age identity a passphrase backup's objects are encrypted to,
 * itself encrypted with the passphrase, so that a reader runs scrypt once, not once per object.
 */
export function identityKey(name: string, id: string): string {
  return `${name}/${id}.${IDENTITY_EXTENSION}`;
}

/** Whether `key` is the identity of the backup `id` rather than one that holds its data. */
export const isIdentityKey = (key: string, id: string): boolean =>
  key.endsWith(`/${id}.${IDENTITY_EXTENSION}`);

export function manifestKey(name: string, id: string): string {
  return `${name}/${id}.manifest.json`;
}

/** `<name>/<id>.manifest.json.sig`: the SSH signature of a signed backup's manifest, beside it. */
export function signatureKey(name: string, id: string): string {
  return `${manifestKey(name, id)}${SIGNATURE_SUFFIX}`;
}

const SIGNATURE_SUFFIX = '.sig';

/** The modes that leave a record of each run in the set's history. */
export const RECORD_MODES = ['restore-test', 'verify-latest'] as const;
export type RecordMode = (typeof RECORD_MODES)[number];

/**
 * The folder of a set's history records. Not an id, so no reader of an older release takes a
 * record for a backup's object (it counts it as a key outside the layout and leaves it alone).
 */
export const HISTORY_FOLDER = 'history';

/**
 * `<name>/history/<run>.<mode>.json`: one object per run, named by the run's own id (its start
 * time and a random suffix), so that records sort by time and two runs never write one key.
 */
export function recordKey(name: string, run: string, mode: RecordMode): string {
  return `${name}/${HISTORY_FOLDER}/${run}.${mode}.json`;
}

export type KeyClass =
  | { kind: 'manifest'; id: string }
  | { kind: 'signature'; id: string }
  | { kind: 'object'; id: string; extension: string }
  | { kind: 'record'; id: string; mode: RecordMode };

const RECORD_FILE = new RegExp(`^(.+)\\.(${RECORD_MODES.join('|')})\\.json$`);

// Every format's suffix, from the one table: a format added there is classified here too.
const OBJECT_EXTENSION = new RegExp(
  `^(${Object.values(FORMAT_SUFFIX).join('|')})(\\.zst|\\.gz)?(\\.age|\\.gpg)?$`,
);
const SERVER_FILE = /^(globals\.sql|[a-z0-9_]+(-[0-9a-f]{16})?\.dump)(\.zst|\.gz)?(\.age|\.gpg)?$/;

/** What a key under the set's folder is, or undefined for anything that is not ours to touch. */
export function classifyKey(name: string, key: string): KeyClass | undefined {
  const prefix = `${name}/`;
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const id = rest.slice(0, slash);
    const file = rest.slice(slash + 1);
    if (id === HISTORY_FOLDER) return classifyRecord(file);
    if (!isBackupId(id) || !SERVER_FILE.test(file)) return undefined;
    return { kind: 'object', id, extension: file };
  }
  const dot = rest.indexOf('.');
  if (dot < 0) return undefined;
  const id = rest.slice(0, dot);
  const extension = rest.slice(dot + 1);
  if (!isBackupId(id)) return undefined;
  if (extension === 'manifest.json') return { kind: 'manifest', id };
  if (extension === `manifest.json${SIGNATURE_SUFFIX}`) return { kind: 'signature', id };
  if (OBJECT_EXTENSION.test(extension) || extension === IDENTITY_EXTENSION) {
    return { kind: 'object', id, extension };
  }
  return undefined;
}

/** A file of the history folder: a record, when its name is a run id (a real time) and a mode. */
function classifyRecord(file: string): KeyClass | undefined {
  const match = RECORD_FILE.exec(file);
  if (!match || !idTime(match[1]!)) return undefined;
  return { kind: 'record', id: match[1]!, mode: match[2] as RecordMode };
}
