/**
 * zstd's own program as the compression layer, when the machine has one (GitHub's Ubuntu runners
 * do). Reading pg_dump's output itself, it keeps the archive's bytes out of Node altogether: on a
 * 2-core machine that is most of what separated a backup from `pg_dump | zstd` (Node's share was
 * copying and collecting 64 KiB buffers), and it halves the process's memory (see the README's
 * Benchmarks). The format is the same either way.
 */
import { Duplex, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  guardedStdout,
  onPath,
  start,
  stopIfRunning,
  succeeded,
  type Child,
  type Ended,
} from '../postgres/programs.js';
import type { DirectOutput } from './source.js';

/** The zstd program on PATH, unless BACKUP_ACTION_ZSTD=node asks for Node's binding. */
export async function findZstdProgram(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return env.BACKUP_ACTION_ZSTD === 'node' ? undefined : onPath('zstd');
}

function zstdArgs(level: number): string[] {
  // Jobs of 1 MiB: zstd then holds about 10 MB instead of the 40 MB of its default job size, at
  // the same speed. Measured at level 3 on the bench's dump: 0.3% smaller than 4 MiB jobs; on
  // source code, 2.5% larger (see the README's Benchmarks).
  return [...(level > 19 ? ['--ultra'] : []), `-${level}`, '-B1048576', '--quiet', '--stdout', '-'];
}

/**
 * zstd reading a producer's stdout directly. Its output ends only once both zstd and the producer
 * have succeeded: a pg_dump that dies looks like a clean end of input to zstd.
 */
export function zstdFrom(file: string, level: number, input: DirectOutput): Readable {
  const { child, exit } = start({ path: file }, zstdArgs(level), process.env, input.stdout);
  // zstd holds its own copy of the pipe; Node's copy would keep it open, and Node must not read it.
  input.stdout.destroy();
  return stoppingChild(guardedStdout('zstd', child, exit, input.succeeded), child);
}

/**
 * zstd reading a producer's stdout and writing `fd` itself, so that the bytes pass through Node
 * neither way. `written` resolves once both zstd and the producer have succeeded; zstd's own
 * failure comes first, as above. `stop` ends zstd early.
 */
export function zstdInto(
  file: string,
  level: number,
  input: DirectOutput,
  fd: number,
): { written: Promise<void>; stop(): void } {
  const { child, exit } = start({ path: file }, zstdArgs(level), process.env, input.stdout, fd);
  input.stdout.destroy();
  input.succeeded.catch(() => undefined); // reported through `written` when zstd succeeded
  const written = succeeded('zstd', exit).then(() => input.succeeded);
  written.catch(() => undefined); // its reader reports it
  return { written, stop: () => stopIfRunning(child) };
}

/**
 * A stream through zstd, for sources inside this process. Its output ends only once zstd has
 * exited successfully, so a compressor that fails half-way can never complete an upload.
 */
export function zstdThrough(file: string, level: number): Duplex {
  const { child, exit } = start({ path: file }, zstdArgs(level), process.env, 'pipe');
  const output = guardedStdout('zstd', child, exit);
  return stoppingChild(
    Duplex.from({ writable: into(child.stdin!, exit), readable: output }),
    child,
  );
}

/**
 * `input` decompressed by zstd straight into `file`, so that the archive's bytes never pass
 * through Node. Resolves once zstd has written all of it and exited successfully.
 */
export async function zstdToFile(program: string, input: Readable, file: string): Promise<void> {
  const { child, exit } = start(
    { path: program },
    ['-d', '-q', '-f', '-o', file, '-'],
    process.env,
    'pipe',
  );
  try {
    await pipeline(input, into(child.stdin!, exit));
  } catch (error) {
    child.kill();
    await exit.catch(() => undefined);
    throw error;
  }
  await succeeded('zstd', exit);
}

/** Stops zstd when the stream is torn down early (a failed upload, a cancelled run). */
function stoppingChild<T extends Readable>(stream: T, child: Child): T {
  stream.on('close', () => stopIfRunning(child));
  return stream;
}

/**
 * zstd's input. When zstd stops early its input breaks (EPIPE), but the reason is in how zstd
 * exited: writes that fail wait for the exit and report that instead.
 */
function into(stdin: Writable, exit: Promise<Ended>): Writable {
  const reason = (error: Error) =>
    succeeded('zstd', exit).then(
      () => error,
      (failure: Error) => failure,
    );
  stdin.on('error', () => undefined); // each failure reaches the write or end that met it
  const writable = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stdin.write(chunk, (error) => (error ? void reason(error).then(done) : done()));
    },
    final(done) {
      stdin.end(() => done());
    },
    destroy(error, done) {
      stdin.destroy();
      done(error);
    },
  });
  // Its errors reach the pipeline it is in; one emitted after that settled must not crash the run.
  writable.on('error', () => undefined);
  return writable;
}
