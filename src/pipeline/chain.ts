/**
 * Programs joined by the operating system's pipes (pg_dump → zstd → age), each reading the one
 * before it directly, so that the archive's bytes pass through Node once at the end, or not at all
 * when the last program writes the store's file itself. On a 2-core machine every copy through
 * Node comes out of pg_dump's and zstd's share of the CPU (docs/benchmarks.md).
 */
import { Duplex, Writable, type Readable } from 'node:stream';
import {
  guardedStdout,
  helperEnv,
  start,
  stopIfRunning,
  succeeded,
  type Child,
} from '../process/programs.js';
import type { DirectOutput } from './source.js';

/** A program that reads its stdin and writes its stdout. */
export interface Filter {
  /** The name failures are reported under. */
  name: string;
  path: string;
  args: string[];
  /** What it does, for the log: "compressing", "encrypting". */
  doing: string;
}

/** One log line naming the programs in order. */
export function describeChain(filters: Filter[]): string {
  const line = filters.map((filter) => `${filter.doing} with ${filter.path}`).join(', then ');
  return line.charAt(0).toUpperCase() + line.slice(1);
}

interface Started {
  last: Child;
  /**
   * Resolves once every program and the producer succeeded. It rejects with the failure furthest
   * downstream: a program that stops reading breaks the pipe of the one before it (EPIPE), and a
   * producer that dies looks like a clean end of input to the programs after it.
   */
  succeeded: Promise<void>;
  stop(): void;
}

function startChain(filters: Filter[], input: DirectOutput, stdout: 'pipe' | number): Started {
  const children: Child[] = [];
  let feeding = input;
  for (const [index, filter] of filters.entries()) {
    const out = index === filters.length - 1 ? stdout : 'pipe';
    const { child, exit } = start(
      { path: filter.path },
      filter.args,
      helperEnv(),
      feeding.stdout,
      out,
    );
    // The program holds its own copy of the pipe; Node's copy would keep it open.
    feeding.stdout.destroy();
    const upstream = feeding.succeeded;
    upstream.catch(() => undefined); // reported through this program's outcome when it succeeded
    feeding = {
      stdout: child.stdout,
      succeeded: succeeded(filter.name, exit).then(() => upstream),
    };
    children.push(child);
  }
  const last = children.at(-1);
  if (!last) throw new Error('a chain needs at least one program');
  feeding.succeeded.catch(() => undefined); // its reader reports it
  return {
    last,
    succeeded: feeding.succeeded,
    stop: () => children.forEach(stopIfRunning),
  };
}

/** The last program's stdout, which ends only once all succeeded; tearing it down stops them. */
export function chainFrom(filters: Filter[], input: DirectOutput): Readable {
  const started = startChain(filters, input, 'pipe');
  const output = guardedStdout(started.last.stdout, started.succeeded);
  output.on('close', started.stop);
  return output;
}

/** The last program writing `fd` itself; `written` resolves once all succeeded. */
export function chainInto(
  filters: Filter[],
  input: DirectOutput,
  fd: number,
): { written: Promise<void>; stop(): void } {
  const { succeeded: written, stop } = startChain(filters, input, fd);
  return { written, stop };
}

/**
 * A stream through one program, for bytes inside this process. Its output ends only once the
 * program has exited successfully, so a program that fails half-way can never complete an upload;
 * tearing the stream down early (a failed upload, a cancelled run) stops the program.
 */
export function throughProgram(filter: Filter): Duplex {
  const { child, exit } = start({ path: filter.path }, filter.args, helperEnv(), 'pipe');
  const outcome = succeeded(filter.name, exit);
  const output = guardedStdout(child.stdout, outcome);
  const stream = Duplex.from({ writable: programInput(child.stdin!, outcome), readable: output });
  stream.on('close', () => stopIfRunning(child));
  return stream;
}

/**
 * A program's input. When the program stops early its input breaks (EPIPE), but the reason is in
 * how it exited (`outcome`): writes that fail wait for that and report it instead.
 */
export function programInput(stdin: Writable, outcome: Promise<void>): Writable {
  const reason = (error: Error) =>
    outcome.then(
      () => error,
      (failure: Error) => failure,
    );
  stdin.on('error', () => undefined); // each failure reaches the write or end that met it
  outcome.catch(() => undefined); // reported by whoever awaits it
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
