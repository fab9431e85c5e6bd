/**
 * The compression level a backup uses, observed in its stored bytes: zstd makes the same bytes of
 * the same input with the same parameters, so a stored object is what `zstd -N`, with the
 * product's threads and job size, makes of the archive inside it for exactly one N. A backup with
 * no `compression-level` uses the default chosen on docs/benchmarks.md; the input overrides it.
 *
 * Covers: src/pipeline/compress.ts, src/pipeline/zstd-program.ts, src/inputs/backup.ts.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { runAction } from '../support/action.js';
import { unwrapByHand } from '../support/by-hand.js';
import { sampleSource } from '../support/db.js';

/** The level docs/benchmarks.md chose (issue 31 §1). */
const DEFAULT_ZSTD_LEVEL = 3;
const sample = sampleSource('level_src', 4000);

/** zstd -level of the archive, read from a pipe as the product's zstd reads pg_dump's output. */
async function zstdOf(archive: string, level: number): Promise<Buffer> {
  const threads = Math.min(os.availableParallelism(), 4);
  const zstd = spawn('zstd', [`-${level}`, `-T${threads}`, '-B1048576', '-q', '-c', '-'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  zstd.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise((resolve) => zstd.on('close', resolve));
  await pipeline(createReadStream(archive), zstd.stdin);
  expect(await closed).toBe(0);
  return Buffer.concat(chunks);
}

/** The zstd levels, of 1 to 9, whose output is the backup's stored object byte for byte. */
async function levelsOfBackup(inputs: Record<string, string>): Promise<number[]> {
  const store = await mkdtemp(path.join(sample.work, 'store-'));
  const run = await runAction({ storage: store, 'database-url': sample.db.url, ...inputs });
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const stored = path.join(store, run.outputs['backup-key'] ?? '');
  const archive = await unwrapByHand(stored, await mkdtemp(path.join(sample.work, 'unwrap-')));
  const bytes = await readFile(stored);
  const levels = [];
  for (let level = 1; level <= 9; level++)
    if ((await zstdOf(archive, level)).equals(bytes)) levels.push(level);
  return levels;
}

describe('the compression level of a backup', () => {
  it('is the chosen default when compression-level is not given', async () => {
    expect(await levelsOfBackup({})).toEqual([DEFAULT_ZSTD_LEVEL]);
  });

  it('is compression-level when given', async () => {
    expect(await levelsOfBackup({ 'compression-level': '1' })).toEqual([1]);
  });
});
