/**
 * The manifest: the record that makes a backup exist. Parsing is strict, because a manifest is
 * read back from storage that anyone with bucket access can write: a manifest that is not
 * exactly what a backup run writes is reported as corrupt, never acted upon.
 */
import type { ArchiveFormat, Compression, Encryption } from './layout.js';
import {
  ENCRYPTIONS,
  databaseObjectKey,
  globalsObjectKey,
  identityKey,
  isValidSetName,
  objectExtension,
  objectKey,
} from './layout.js';
import { isBackupId } from './ids.js';

export interface FileStats {
  /** Number of entries (files, folders, links) in the archive. */
  count: number;
  /** Bytes of file content. */
  bytes: number;
  /** sha256 of the sorted list of entry paths, sizes and types. */
  listDigest: string;
}

/** One stored object: its key, and its size and sha256 as stored (after every layer). */
export interface ObjectRecord {
  key: string;
  size: number;
  sha256: string;
}

/** What every manifest records, whatever the kind of its source: the backup, its layers, its tools. */
export interface ManifestBase {
  version: 1;
  id: string;
  name: string;
  createdAt: string;
  completedAt: string;
  compression: Compression;
  encryption: Encryption;
  /**
   * A passphrase backup's own age identity, encrypted with the passphrase: every other object is
   * encrypted to it. Absent from backups made before it existed, whose objects the passphrase opens.
   */
  identity?: ObjectRecord;
  rowCountsMode?: 'exact' | 'estimate';
  tool: { name: string; version: string };
  dump?: { program: string; version: string };
  run?: Record<string, string>;
}

/** One database: one pg_dump archive. */
export interface DatabaseManifest extends ManifestBase {
  source: { kind: 'postgres'; database?: string; serverVersion?: string };
  format: 'pg_dump-custom';
  object: ObjectRecord;
  /** Rows per `schema.table`, counted in the dump's own snapshot (exact) or the planner's figures. */
  rowCounts?: Record<string, number>;
}

/** A directory tree: one tar. */
export interface FilesManifest extends ManifestBase {
  source: { kind: 'files' };
  format: 'tar';
  object: ObjectRecord;
  files?: FileStats;
}

/** A logical database of a Redis snapshot: its key entries, and how many of them expire. */
export interface RedisDatabaseRecord {
  db: number;
  keys: number;
  expires: number;
}

/** What a Redis snapshot holds, read from its own bytes as it was stored. */
export interface RdbRecord {
  /** The RDB format's version (10 for Redis 7.0, 11 for 7.2, 12 for 7.4 and 8). */
  version: number;
  /** Every logical database with keys, by number. */
  databases: RedisDatabaseRecord[];
}

/** A Redis server: one RDB snapshot of every logical database. */
export interface RedisManifest extends ManifestBase {
  source: { kind: 'redis'; serverVersion?: string };
  format: 'rdb';
  object: ObjectRecord;
  rdb: RdbRecord;
}

/** A backup of one object: a database, a directory tree, a Redis snapshot. */
export type Manifest = DatabaseManifest | FilesManifest | RedisManifest;

/** One database of a server backup, with its exact name. */
export interface DatabaseRecord {
  name: string;
  object: ObjectRecord;
  rowCounts?: Record<string, number>;
  serverVersion?: string;
}

/** What `pg_dumpall --globals-only` wrote: roles, memberships, role settings, tablespaces. */
export interface GlobalsRecord {
  object: ObjectRecord;
  /** The roles it creates, by exact name. */
  roles: string[];
  /** False when the server would not show password hashes (managed services): set them again. */
  rolePasswords: boolean;
}

/**
 * A whole server (`databases`): one object per database and one for the globals, all through
 * the same layers, under `<name>/<id>/`. Each database is its own snapshot, as with pg_dumpall.
 */
export interface ServerManifest extends ManifestBase {
  source: { kind: 'server'; serverVersion?: string };
  format: 'pg_dump-custom';
  databases: DatabaseRecord[];
  globals?: GlobalsRecord;
}

export type AnyManifest = Manifest | ServerManifest;

/** What a manifest says its source was: the kinds the stored format knows. */
export type SourceOfManifest = AnyManifest['source']['kind'];

/**
 * One database's archive as a backup records it, whether the backup is of that database alone
 * or of a whole server: what restoring and checking one database needs.
 */
export interface DatabasePart {
  /** The backup it belongs to: its id, layers, pg_dump and kind of row counts. */
  backup: ManifestBase;
  /** The database's exact name (a manifest of one database may leave it out). */
  name?: string;
  object: ObjectRecord;
  rowCounts?: Record<string, number>;
  serverVersion?: string;
}

/** The manifest written for source kind `K`. */
type ManifestOf<K extends SourceOfManifest> = Extract<AnyManifest, { source: { kind: K } }>;

/** `cases` for the manifest's own source kind: every kind has one, or this does not compile. */
function bySource<T>(
  manifest: AnyManifest,
  cases: { [K in SourceOfManifest]: (manifest: ManifestOf<K>) => T },
): T {
  // TypeScript cannot pair a union member with its own case; the keys of `cases` do.
  return (cases[manifest.source.kind] as (manifest: AnyManifest) => T)(manifest);
}

/** The objects that hold what was backed up: each is read as an archive of its kind. */
const dataObjects = (manifest: AnyManifest): ObjectRecord[] =>
  bySource(manifest, {
    postgres: (one) => [one.object],
    files: (one) => [one.object],
    redis: (one) => [one.object],
    server: ({ databases, globals }) => [
      ...databases.map((database) => database.object),
      ...(globals ? [globals.object] : []),
    ],
  });

/** Every object a backup is made of: what must be present, verified, copied and deleted with it. */
export const manifestObjects = (manifest: AnyManifest): ObjectRecord[] => [
  ...dataObjects(manifest),
  ...(manifest.identity ? [manifest.identity] : []),
];

/** The row counts of each database the backup holds, as recorded (none for a directory tree). */
export const manifestRowCounts = (manifest: AnyManifest): (Record<string, number> | undefined)[] =>
  bySource(manifest, {
    postgres: (one) => [one.rowCounts],
    files: () => [],
    redis: () => [],
    server: ({ databases }) => databases.map((database) => database.rowCounts),
  });

/**
 * The data objects' sizes, summed: a whole backup's size for shrink checks and reports (the few
 * hundred bytes of an identity would make a backup of today look larger than an older one).
 */
export const manifestSize = (manifest: AnyManifest): number =>
  dataObjects(manifest).reduce((sum, object) => sum + object.size, 0);

export class ManifestError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`corrupt manifest ${key}: ${detail}`);
    this.name = 'ManifestError';
  }
}

type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
export const isIsoTime = (value: unknown): value is string =>
  typeof value === 'string' &&
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value) &&
  !Number.isNaN(Date.parse(value));
export const oneOf = <T extends string>(value: unknown, allowed: readonly T[]): value is T =>
  typeof value === 'string' && (allowed as readonly string[]).includes(value);

/**
 * Parses and validates a manifest read from `key`. Throws ManifestError naming the key and the
 * first problem found. The object key must be this backup's own key in its own set, so a crafted
 * manifest can never point a reader or a deleter elsewhere.
 */
export function parseManifest(text: string, key: string, expectedName?: string): AnyManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ManifestError(key, 'not valid JSON');
  }
  const problem = manifestProblem(value, expectedName);
  if (problem) throw new ManifestError(key, problem);
  const manifest = value as AnyManifest;
  for (const holder of countHolders(manifest)) {
    if (holder.rowCounts) holder.rowCounts = countsMap(Object.entries(holder.rowCounts));
  }
  return manifest;
}

/**
 * Row counts keyed by table, with no prototype: a table named `constructor` or `__proto__` in a
 * manifest is a key like any other, never an inherited function nor the map's prototype.
 */
export function countsMap(entries: Iterable<[string, number]>): Record<string, number> {
  const map = Object.create(null) as Record<string, number>;
  for (const [key, count] of entries) map[key] = count;
  return map;
}

/** The parts of a manifest that may hold row counts. */
function countHolders(manifest: AnyManifest): { rowCounts?: Record<string, number> }[] {
  if ('databases' in manifest) return manifest.databases;
  return 'rowCounts' in manifest ? [manifest] : [];
}

/** The one archive format each source is written in. */
const FORMAT_OF: Record<SourceOfManifest, ArchiveFormat> = {
  postgres: 'pg_dump-custom',
  server: 'pg_dump-custom',
  files: 'tar',
  redis: 'rdb',
};

const SOURCES = Object.keys(FORMAT_OF) as SourceOfManifest[];

function manifestProblem(m: unknown, expectedName?: string): string | undefined {
  if (!isObject(m)) return 'not a JSON object';
  if (m.version !== 1) return 'unsupported version';
  if (typeof m.id !== 'string' || !isBackupId(m.id)) return 'bad id';
  if (typeof m.name !== 'string' || !isValidSetName(m.name)) return 'bad name';
  if (expectedName !== undefined && m.name !== expectedName) return `belongs to set "${m.name}"`;
  if (!isIsoTime(m.createdAt) || !isIsoTime(m.completedAt)) return 'bad createdAt/completedAt';
  if (!isObject(m.source) || !oneOf(m.source.kind, SOURCES)) return 'bad source';
  if (!optionalStrings(m.source, ['database', 'serverVersion'])) return 'bad source';
  if (m.source.kind === 'redis' && m.source.database !== undefined) return 'bad source';
  if (m.format !== FORMAT_OF[m.source.kind]) return 'bad format';
  if (!oneOf(m.compression, ['zstd', 'gzip', 'none'])) return 'bad compression';
  if (!oneOf(m.encryption, ENCRYPTIONS)) return 'bad encryption';
  const identity = identityProblem(m);
  if (identity) return identity;
  const shape = m.source.kind === 'server' ? serverProblem(m) : singleProblem(m);
  return shape ?? toolProblem(m);
}

/** An identity sealed with a passphrase is about 250 bytes: a reader never takes more. */
export const IDENTITY_MAX_BYTES = 4096;

/** An age passphrase backup's identity: its own key, and no more than such a file ever holds. */
function identityProblem(m: Json): string | undefined {
  if (m.identity === undefined) return undefined;
  if (m.encryption !== 'age') return 'identity without encryption age';
  const own = identityKey(m.name as string, m.id as string);
  const problem = recordProblem(m.identity, 'identity', own);
  if (problem) return problem;
  return (m.identity as ObjectRecord).size > IDENTITY_MAX_BYTES ? 'bad identity.size' : undefined;
}

function singleProblem(m: Json): string | undefined {
  if (m.databases !== undefined || m.globals !== undefined)
    return 'databases without source server';
  return (
    objectProblem(m) ??
    countsProblem(m.rowCounts, 'rowCounts') ??
    snapshotProblem(m) ??
    extrasProblem(m)
  );
}

/** A Redis backup records its snapshot's figures, and only a Redis backup does. */
function snapshotProblem(m: Json): string | undefined {
  const redis = (m.source as Json).kind === 'redis';
  if (!redis) return m.rdb === undefined ? undefined : 'rdb without source redis';
  if (m.rowCounts !== undefined || m.rowCountsMode !== undefined || m.files !== undefined) {
    return 'a Redis backup records its keys under rdb';
  }
  const rdb = m.rdb;
  if (!isObject(rdb) || !isCount(rdb.version) || rdb.version < 1) return 'bad rdb';
  if (!Array.isArray(rdb.databases)) return 'bad rdb.databases';
  let last = -1;
  for (const d of rdb.databases) {
    if (!isObject(d) || !isCount(d.db) || d.db <= last || !isCount(d.keys)) {
      return 'bad rdb.databases';
    }
    if (!isCount(d.expires) || d.expires > d.keys) return 'bad rdb.databases';
    last = d.db;
  }
  return undefined;
}

/** Exactly the key a run writes for this id and these layers: nothing else is ever read or deleted. */
function recordProblem(o: unknown, what: string, own: string): string | undefined {
  if (!isObject(o) || typeof o.key !== 'string') return `bad ${what}`;
  if (!isCount(o.size)) return `bad ${what}.size`;
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) {
    return `bad ${what}.sha256`;
  }
  return o.key === own ? undefined : `${what}.key is not this backup’s own key`;
}

function objectProblem(m: Json): string | undefined {
  const own = objectKey(
    m.name as string,
    m.id as string,
    objectExtension(
      m.format as ArchiveFormat,
      m.compression as Compression,
      m.encryption as Encryption,
    ),
  );
  return recordProblem(m.object, 'object', own);
}

function countsProblem(counts: unknown, what: string): string | undefined {
  if (counts === undefined) return undefined;
  if (!isObject(counts)) return `bad ${what}`;
  return Object.values(counts).every(isCount) ? undefined : `bad ${what} value`;
}

/** PostgreSQL's names are at most 63 bytes; an empty or longer one was never a database. */
const isDatabaseName = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= 63;

function serverProblem(m: Json): string | undefined {
  if (m.object !== undefined || m.files !== undefined || m.rowCounts !== undefined) {
    return 'a server backup records its objects under databases';
  }
  const layers = [m.compression as Compression, m.encryption as Encryption] as const;
  const { databases, globals } = m;
  if (!Array.isArray(databases) || databases.length === 0) return 'bad databases';
  const seen = new Set<string>();
  for (const [index, d] of databases.entries()) {
    const what = `databases[${index}]`;
    if (!isObject(d) || !isDatabaseName(d.name) || seen.has(d.name)) return `bad ${what}.name`;
    seen.add(d.name);
    const own = databaseObjectKey(m.name as string, m.id as string, d.name, ...layers);
    const problem =
      recordProblem(d.object, `${what}.object`, own) ??
      countsProblem(d.rowCounts, `${what}.rowCounts`) ??
      (optionalStrings(d, ['serverVersion']) ? undefined : `bad ${what}.serverVersion`);
    if (problem) return problem;
  }
  if (globals === undefined) return extrasProblem(m);
  if (!isObject(globals) || typeof globals.rolePasswords !== 'boolean') return 'bad globals';
  const roles = globals.roles;
  if (!Array.isArray(roles) || !roles.every(isDatabaseName)) return 'bad globals.roles';
  const own = globalsObjectKey(m.name as string, m.id as string, ...layers);
  return recordProblem(globals.object, 'globals.object', own) ?? extrasProblem(m);
}

function extrasProblem(m: Json): string | undefined {
  if (m.rowCountsMode !== undefined && !oneOf(m.rowCountsMode, ['exact', 'estimate'])) {
    return 'bad rowCountsMode';
  }
  if (m.files !== undefined) {
    const f = m.files;
    if (
      !isObject(f) ||
      !isCount(f.count) ||
      !isCount(f.bytes) ||
      typeof f.listDigest !== 'string' ||
      !/^[0-9a-f]{64}$/.test(f.listDigest)
    ) {
      return 'bad files';
    }
  }
  return undefined;
}

function toolProblem(m: Json): string | undefined {
  const tool = m.tool;
  if (!isObject(tool) || typeof tool.name !== 'string' || typeof tool.version !== 'string') {
    return 'bad tool';
  }
  const dump = m.dump;
  if (dump !== undefined && !(isObject(dump) && requiredStrings(dump, ['program', 'version']))) {
    return 'bad dump';
  }
  const run = m.run;
  if (run !== undefined && !(isObject(run) && requiredStrings(run, Object.keys(run)))) {
    return 'bad run';
  }
  return undefined;
}

function requiredStrings(o: Json, names: string[]): boolean {
  return names.every((name) => typeof o[name] === 'string');
}

function optionalStrings(o: Json, names: string[]): boolean {
  return names.every((name) => o[name] === undefined || typeof o[name] === 'string');
}

export function serializeManifest(manifest: AnyManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
