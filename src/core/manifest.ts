/**
 * The manifest: the record that makes a backup exist. Parsing is strict, because a manifest is
 * read back from storage that anyone with bucket access can write: a manifest that is not
 * exactly what a backup run writes is reported as corrupt, never acted upon.
 */
import type { ArchiveFormat, Compression, Encryption } from './layout.js';
import { isValidSetName, objectExtension, objectKey } from './layout.js';
import { isBackupId } from './ids.js';

export interface FileStats {
  /** Number of entries (files, folders, links) in the archive. */
  count: number;
  /** Bytes of file content. */
  bytes: number;
  /** sha256 of the sorted list of entry paths, sizes and types. */
  listDigest: string;
}

export interface Manifest {
  version: 1;
  id: string;
  name: string;
  createdAt: string;
  completedAt: string;
  source: { kind: 'postgres' | 'files'; database?: string; serverVersion?: string };
  format: ArchiveFormat;
  compression: Compression;
  encryption: Encryption;
  object: { key: string; size: number; sha256: string };
  /** Rows per `schema.table`, counted in the dump's own snapshot (exact) or the planner's figures. */
  rowCounts?: Record<string, number>;
  rowCountsMode?: 'exact' | 'estimate';
  files?: FileStats;
  tool: { name: string; version: string };
  dump?: { program: string; version: string };
  run?: Record<string, string>;
}

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

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isIsoTime = (value: unknown): value is string =>
  typeof value === 'string' &&
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value) &&
  !Number.isNaN(Date.parse(value));
const oneOf = <T extends string>(value: unknown, allowed: readonly T[]): value is T =>
  typeof value === 'string' && (allowed as readonly string[]).includes(value);

/**
 * Parses and validates a manifest read from `key`. Throws ManifestError naming the key and the
 * first problem found. The object key must be this backup's own key in its own set, so a crafted
 * manifest can never point a reader or a deleter elsewhere.
 */
export function parseManifest(text: string, key: string, expectedName?: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ManifestError(key, 'not valid JSON');
  }
  const problem = manifestProblem(value, expectedName);
  if (problem) throw new ManifestError(key, problem);
  return value as Manifest;
}

function manifestProblem(m: unknown, expectedName?: string): string | undefined {
  if (!isObject(m)) return 'not a JSON object';
  if (m.version !== 1) return 'unsupported version';
  if (typeof m.id !== 'string' || !isBackupId(m.id)) return 'bad id';
  if (typeof m.name !== 'string' || !isValidSetName(m.name)) return 'bad name';
  if (expectedName !== undefined && m.name !== expectedName) return `belongs to set "${m.name}"`;
  if (!isIsoTime(m.createdAt) || !isIsoTime(m.completedAt)) return 'bad createdAt/completedAt';
  if (!isObject(m.source) || !oneOf(m.source.kind, ['postgres', 'files'])) return 'bad source';
  if (!optionalStrings(m.source, ['database', 'serverVersion'])) return 'bad source';
  if (!oneOf(m.format, ['pg_dump-custom', 'tar'])) return 'bad format';
  if (!oneOf(m.compression, ['zstd', 'gzip', 'none'])) return 'bad compression';
  if (!oneOf(m.encryption, ['none', 'age'])) return 'bad encryption';
  return objectProblem(m) ?? countsProblem(m) ?? toolProblem(m);
}

function objectProblem(m: Json): string | undefined {
  const o = m.object;
  if (!isObject(o) || typeof o.key !== 'string') return 'bad object';
  if (!isCount(o.size)) return 'bad object.size';
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) return 'bad object.sha256';
  // Exactly the key a run writes for this id and these layers: nothing else is ever read or deleted.
  const own = objectKey(
    m.name as string,
    m.id as string,
    objectExtension(
      m.format as ArchiveFormat,
      m.compression as Compression,
      m.encryption as Encryption,
    ),
  );
  return o.key === own ? undefined : 'object.key is not this backup’s own key';
}

function countsProblem(m: Json): string | undefined {
  if (m.rowCounts !== undefined) {
    if (!isObject(m.rowCounts)) return 'bad rowCounts';
    if (!Object.values(m.rowCounts).every(isCount)) return 'bad rowCounts value';
  }
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

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
