/**
 * The figures a files manifest records, computed the same way when archiving and when reading an
 * archive back: entry count, bytes of file content, and the list digest, the sha256 of one line per
 * entry, sorted by name: `<type>\t<size>\t<name>\n` (type file, directory or symlink; size 0 but
 * for files).
 */
import { createHash } from 'node:crypto';
import type { FileStats } from '../core/manifest.js';

export interface ListedEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
}

export function fileStats(entries: readonly ListedEntry[]): FileStats {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  let bytes = 0;
  for (const entry of sorted) {
    const size = entry.type === 'file' ? entry.size : 0;
    hash.update(`${entry.type}\t${size}\t${entry.name}\n`);
    bytes += size;
  }
  return { count: sorted.length, bytes, listDigest: hash.digest('hex') };
}

/** One line saying how an archive's figures differ from its manifest's, or undefined when equal. */
export function filesMismatch(expected: FileStats, found: FileStats): string | undefined {
  if (expected.count !== found.count)
    return `the archive holds ${found.count} entries, but its manifest records ${expected.count}`;
  if (expected.bytes !== found.bytes)
    return `the archive holds ${found.bytes} bytes of files, but its manifest records ${expected.bytes}`;
  if (expected.listDigest !== found.listDigest)
    return 'the archive’s file list differs from its manifest’s (list digest mismatch)';
  return undefined;
}
