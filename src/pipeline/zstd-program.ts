/**
 * zstd's own program as the compression layer, when the machine has one (GitHub's Ubuntu runners
 * do). Reading pg_dump's output itself, it keeps the archive's bytes out of Node altogether: on a
 * 2-core machine that is most of what separated a backup from `pg_dump | zstd` (Node's share was
 * copying and collecting 64 KiB buffers), and it lowers the process's memory (docs/benchmarks.md).
 * The format is the same either way.
 */
import { availableParallelism } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { helperEnv, onPath, start, succeeded } from '../process/programs.js';
import { programInput, throughProgram, type Filter } from './chain.js';

/** The zstd program on PATH, unless BACKUP_ACTION_ZSTD=node asks for Node's binding. */
export async function findZstdProgram(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return env.BACKUP_ACTION_ZSTD === 'node' ? undefined : onPath('zstd');
}

function zstdArgs(level: number): string[] {
  // zstd's program compresses on one thread unless told otherwise, and then it alone sets the
  // pace: with two on a 2-core machine, pg_dump's idle moments are put to use. More than four
  // would only take cores from pg_dump for a stream that one pg_dump cannot fill.
  const threads = Math.min(availableParallelism(), 4);
  // Jobs of 1 MiB: zstd then holds a quarter of the memory of its default job size, at the same
  // speed and much the same ratio (docs/benchmarks.md).
  return [
    ...(level > 19 ? ['--ultra'] : []),
    `-${level}`,
    `-T${threads}`,
    '-B1048576',
    '--quiet',
    '--stdout',
    '-',
  ];
}

/** zstd in a chain of programs, reading the one before it (pg_dump) directly. */
export function zstdFilter(file: string, level: number): Filter {
  return { name: 'zstd', path: file, args: zstdArgs(level), doing: 'compressing' };
}

/**
 * A stream through zstd, for sources inside this process. Its output ends only once zstd has
 * exited successfully, so a compressor that fails half-way can never complete an upload.
 */
export function zstdThrough(file: string, level: number): Duplex {
  return throughProgram(zstdFilter(file, level));
}

/**
 * `input` decompressed by zstd straight into `file`, so that the archive's bytes never pass
 * through Node. Resolves once zstd has written all of it and exited successfully.
 */
export async function zstdToFile(
  program: string,
  input: Readable,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  const { child, exit } = start(
    { path: program },
    ['-d', '-q', '-f', '-o', file, '-'],
    helperEnv(),
    'pipe',
  );
  try {
    await pipeline(input, programInput(child.stdin!, succeeded('zstd', exit)), { signal });
  } catch (error) {
    child.kill();
    await exit.catch(() => undefined);
    throw error;
  }
  await succeeded('zstd', exit);
}
