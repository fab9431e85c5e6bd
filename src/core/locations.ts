/**
 * Stores as people and metrics name them, and whether two of them are one place: a copy into the
 * store it reads from, or into a folder of it, would read back what it writes. Pure.
 */
import path from 'node:path';
import type { StoreSettings, StorageLocation } from './settings.js';

/** `s3://bucket/prefix` or the folder: no query, no credentials, no trailing slash. */
export function storeLabel(location: StorageLocation): string {
  if (location.kind === 'directory') return location.path;
  return `s3://${location.bucket}${location.prefix === '' ? '' : `/${location.prefix}`}`;
}

export type Overlap = 'same' | 'inside' | 'contains';

/**
 * How `a` lies against `b`: the same place, inside it (a folder of it), containing it, or apart
 * (undefined). Buckets on AWS are one namespace whatever the region; elsewhere a bucket is its
 * endpoint's.
 */
export function overlapOf(a: StoreSettings, b: StoreSettings): Overlap | undefined {
  const [from, to] = [placeOf(a), placeOf(b)];
  if (from.root !== to.root) return undefined;
  if (from.parts.length === to.parts.length) {
    return from.parts.every((part, i) => part === to.parts[i]) ? 'same' : undefined;
  }
  const [shorter, longer] = from.parts.length < to.parts.length ? [from, to] : [to, from];
  if (!shorter.parts.every((part, i) => part === longer.parts[i])) return undefined;
  return shorter === from ? 'contains' : 'inside';
}

/** A store as a root (a bucket where it lives, or the filesystem) and the path segments under it. */
function placeOf({ location, s3 }: StoreSettings): { root: string; parts: string[] } {
  if (location.kind === 'directory') {
    return { root: 'file', parts: location.path.split(path.sep).filter((part) => part !== '') };
  }
  const parts = location.prefix.split('/').filter((part) => part !== '');
  return { root: `s3 ${endpointOf(s3.endpoint)} ${location.bucket}`, parts };
}

function endpointOf(endpoint: string | undefined): string {
  if (endpoint === undefined) return 'aws';
  const url = new URL(endpoint);
  if (/(^|\.)amazonaws\.com$/i.test(url.hostname)) return 'aws';
  return `${url.protocol}//${url.host}`.toLowerCase();
}
