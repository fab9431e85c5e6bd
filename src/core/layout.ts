/**
 * The storage layout, relative to the storage root:
 *   <name>/<id>.<ext>            the backup's bytes
 *   <name>/<id>.manifest.json    written last: a backup exists only once its manifest does
 * Every key the product deletes must classify here, so nothing outside a set's own layout is touched.
 */
import { isBackupId } from './ids.js';

export type Compression = 'zstd' | 'gzip' | 'none';
export type ArchiveFormat = 'pg_dump-custom' | 'tar';
export type Encryption = 'none' | 'age';

export const NAME_PATTERN = /^[a-z0-9._-]+$/;

/** True for a set name that is one safe path segment. */
export function isValidSetName(name: string): boolean {
  return NAME_PATTERN.test(name) && name !== '.' && name !== '..' && name.length <= 128;
}

const COMPRESSION_SUFFIX: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };

/** `dump.zst.age`: each layer the bytes went through, in the order a person undoes them backwards. */
export function objectExtension(
  format: ArchiveFormat,
  compression: Compression,
  encryption: Encryption,
): string {
  const base = format === 'tar' ? 'tar' : 'dump';
  return `${base}${COMPRESSION_SUFFIX[compression]}${encryption === 'age' ? '.age' : ''}`;
}

export function objectKey(name: string, id: string, extension: string): string {
  return `${name}/${id}.${extension}`;
}

export function manifestKey(name: string, id: string): string {
  return `${name}/${id}.manifest.json`;
}

export type KeyClass =
  { kind: 'manifest'; id: string } | { kind: 'object'; id: string; extension: string };

const OBJECT_EXTENSION = /^(dump|tar)(\.zst|\.gz)?(\.age)?$/;

/** What a key under the set's folder is, or undefined for anything that is not ours to touch. */
export function classifyKey(name: string, key: string): KeyClass | undefined {
  const prefix = `${name}/`;
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const dot = rest.indexOf('.');
  if (dot < 0) return undefined;
  const id = rest.slice(0, dot);
  const extension = rest.slice(dot + 1);
  if (!isBackupId(id)) return undefined;
  if (extension === 'manifest.json') return { kind: 'manifest', id };
  if (OBJECT_EXTENSION.test(extension)) return { kind: 'object', id, extension };
  return undefined;
}
