/** Compression layers, from Node's own zlib (zstd needs Node 22.15 or later; the action runs on node24). */
import zlib from 'node:zlib';
import type { Duplex, Transform } from 'node:stream';
import type { Compression } from '../core/layout.js';
import { zstdThrough } from './zstd-program.js';

/**
 * zstd level 3: the fastest level whose output is no larger than pg_dump -Fc's own gzip on each
 * kind of database measured (docs/benchmarks.md, compression levels).
 */
const DEFAULT_LEVEL: Record<Exclude<Compression, 'none'>, number> = { zstd: 3, gzip: 6 };

export function levelOf(kind: Exclude<Compression, 'none'>, level?: number): number {
  return level ?? DEFAULT_LEVEL[kind];
}

function requireZstd(): void {
  if (typeof zlib.createZstdCompress !== 'function') {
    throw new Error(
      `compression zstd needs Node.js 22.15 or later (this is ${process.version}); use node24 or set compression: gzip`,
    );
  }
}

/** The compression layer; zstd through `zstdProgram` (zstd's own program) when one is given. */
export function compressor(
  kind: Compression,
  level?: number,
  zstdProgram?: string,
): Duplex | undefined {
  if (kind === 'none') return undefined;
  const chosen = levelOf(kind, level);
  if (kind === 'zstd' && zstdProgram) return zstdThrough(zstdProgram, chosen);
  if (kind === 'gzip') return zlib.createGzip({ level: chosen, chunkSize: 256 * 1024 });
  requireZstd();
  return zlib.createZstdCompress({
    chunkSize: 256 * 1024,
    params: { [zlib.constants.ZSTD_c_compressionLevel]: chosen },
  });
}

export function decompressor(kind: Compression): Transform | undefined {
  if (kind === 'none') return undefined;
  if (kind === 'gzip') return zlib.createGunzip({ chunkSize: 256 * 1024 });
  requireZstd();
  return zlib.createZstdDecompress({ chunkSize: 256 * 1024 });
}
