/** Finding pg_dump/pg_restore and their versions; running them without a shell, password in the environment. */
import {
  execFile,
  spawn,
  spawnSync,
  type ChildProcess,
  type ChildProcessByStdio,
} from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { access, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { promisify } from 'node:util';
import { own } from './owned.js';
import type { DatabaseTarget } from '../core/settings.js';
import { printableText } from '../core/database-names.js';

const run = promisify(execFile);

export interface Program {
  path: string;
  /** The full version, e.g. `15.18`. */
  version: string;
  major: number;
  /** Variables the program needs (an installed client's own libpq), added to every run of it. */
  env?: Record<string, string>;
}

/** The program in `pgBinDir` when given, else the first on PATH. */
export async function findProgram(
  name: string,
  pgBinDir?: string,
  env?: Record<string, string>,
): Promise<Program> {
  const file = pgBinDir ? path.join(pgBinDir, name) : await unwrapped(name, await onPath(name));
  if (!file)
    throw new Error(
      `${name} was not found on PATH; install the PostgreSQL client or set pg-bin-dir`,
    );
  if (!(await exists(file))) throw new Error(`${file} does not exist`);
  let stdout: string;
  try {
    ({ stdout } = await run(file, ['--version'], { env: { ...process.env, ...env } }));
  } catch (error) {
    throw new Error(`${file} --version failed: ${(error as Error).message}`);
  }
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
  if (!match) throw new Error(`cannot read the version of ${file} from "${stdout.trim()}"`);
  const version = `${match[1]}.${match[2] ?? '0'}`;
  return { path: file, version, major: Number(match[1]), ...(env ? { env } : {}) };
}

/**
 * Debian's and Ubuntu's /usr/bin/pg_dump (GitHub's runners' too) is pg_wrapper, a Perl script that
 * picks a version and then runs /usr/lib/postgresql/<N>/bin/pg_dump: a Perl start every time, and a
 * restore-test runs pg_restore three times. The newest installed version is run directly instead,
 * which is what the wrapper runs when no local cluster decides, and which can serve every server
 * an older one could; a PGCLUSTER that names a version keeps the wrapper's choice.
 */
export async function unwrapped(
  name: string,
  file: string | undefined,
  versionsDir = '/usr/lib/postgresql',
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (!file || env.PGCLUSTER) return file;
  const real = await realpath(file).catch(() => file);
  if (path.basename(real) !== 'pg_wrapper') return file;
  const versions = await readdir(versionsDir).catch(() => [] as string[]);
  const newestFirst = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const version of newestFirst) {
    const direct = path.join(versionsDir, version, 'bin', name);
    if (await exists(direct)) return direct;
  }
  return file;
}

export async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (await exists(file)) return file;
  }
  return undefined;
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** What a helper program needs of the environment to run; the rest holds the run's secrets. */
const HELPER_VARIABLES = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TMPDIR', 'TZ'];

/**
 * The environment for zstd and age: they have no use for the database URL, keys or tokens that the
 * run's own environment carries (`INPUT_*`, `BACKUP_ACTION_*`, `AWS_*`, `GITHUB_TOKEN`).
 */
export function helperEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(
    HELPER_VARIABLES.filter((name) => base[name] !== undefined).map((name) => [name, base[name]]),
  );
}

/**
 * The libpq variables a run passes on: none of them can change which server, database or role a
 * connection reaches, or what its session does. Others (PGSERVICE, PGOPTIONS, PGHOSTADDR,
 * PGDATABASE…) could send a program somewhere the guards never checked, so they are dropped.
 */
const KEPT_LIBPQ_VARIABLES = new Set([
  'PGPASSFILE',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'PGSSLCERT',
  'PGSSLKEY',
  'PGSSLCRL',
  'PGCONNECT_TIMEOUT',
  'PGAPPNAME',
  // Read by Debian's pg_wrapper to pick a version (see `unwrapped`), not by libpq.
  'PGCLUSTER',
]);

/** The environment without the libpq variables that could redirect a connection. */
export function withoutLibpqOverrides(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(base).filter(
      ([name]) => !name.startsWith('PG') || KEPT_LIBPQ_VARIABLES.has(name),
    ),
  );
}

/** libpq reads the password from the environment, so it never shows in the process list. */
export function libpqEnv(
  target: DatabaseTarget,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env = withoutLibpqOverrides(base);
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  // libpq 16 made sslrootcert=system mean the system's roots, and verify-full the default with it;
  // an older libpq reads a file named "system" and, left at prefer, connects unverified where the
  // driver verifies. Naming the mode makes such a program fail instead.
  const rootcert = target.params.sslrootcert ?? env.PGSSLROOTCERT;
  if (rootcert === 'system' && target.params.sslmode === undefined && env.PGSSLMODE === undefined) {
    env.PGSSLMODE = 'verify-full';
  }
  return env;
}

export type Child = ChildProcessByStdio<Writable | null, Readable, Readable>;

/** How a program ended, with the tail of its stderr. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts a program with arguments as a list (never a shell), keeping the tail of its stderr. Its
 * stdout is a pipe, unless `stdout` gives a file descriptor for it to write to itself (the
 * returned child's `stdout` is then null). A `secret` (a passphrase) is written to its file
 * descriptor 3, then closed: it shows neither in the process list nor in the environment.
 */
export function start(
  program: Pick<Program, 'path' | 'env'>,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin: 'ignore' | 'pipe' | Readable = 'ignore',
  stdout: 'pipe' | number = 'pipe',
  secret?: string,
): {
  child: Child;
  exit: Promise<Ended>;
} {
  const [file, fileArgs] = tiedToThisProcess(program.path, args);
  const child = spawn(file, fileArgs, {
    env: { ...env, ...program.env },
    stdio: [stdin, stdout, 'pipe', ...(secret === undefined ? [] : ['pipe' as const])],
  }) as Child;
  if (secret !== undefined) {
    const fd3 = child.stdio[3] as Writable;
    // A program that ends without reading it breaks the pipe: nothing to report.
    fd3.on('error', () => undefined);
    fd3.end(`${secret}\n`);
  }
  running.add(child);
  child.on('close', () => running.delete(child));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exit = new Promise<Ended>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr: stderr.trim() }));
  });
  // A failure surfaces through `exit`; this keeps an early spawn error from being unhandled.
  exit.catch(() => undefined);
  return { child, exit };
}

/** Every program this process started that has not ended yet. */
const running = new Set<ChildProcess>();

/**
 * Stops every program still running, at once (SIGTERM, which pg_dump, zstd and age die of
 * straight away, and on which a parallel pg_restore cancels its queries): a cancelled run must
 * not wait for a compressor to drain what it already read, nor keep writing after it said so.
 */
export function stopAllPrograms(): void {
  for (const child of running) stopIfRunning(child);
}

// The fallback for a machine without setpriv: whatever ends this process without a SIGKILL
// (process.exit on a second signal, an uncaught error) takes its programs with it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The program and arguments to spawn so that the program dies with this process, even when this
 * process is killed outright (SIGKILL, the OOM killer) and runs no code of its own: through
 * util-linux's `setpriv --pdeathsig KILL`, which asks the kernel for that (Linux's
 * PR_SET_PDEATHSIG, which Node does not offer) and then execs the program in its own place,
 * with the same pid, arguments and environment. Without setpriv the program runs as it is, and
 * only the `exit` handler above stops it. A program that cannot be run is spawned directly, so
 * that its failure reads as the program's own (ENOENT, EACCES), not setpriv's.
 */
function tiedToThisProcess(file: string, args: string[]): [string, string[]] {
  const setpriv = deathSignaller();
  if (!setpriv || !executable(file)) return [file, args];
  return [setpriv, ['--pdeathsig', 'KILL', '--', file, ...args]];
}

let setprivFound: string | null | undefined;

/** setpriv, when it is on PATH and knows `--pdeathsig` (util-linux 2.33, 2018, and later). */
function deathSignaller(): string | undefined {
  if (setprivFound === undefined) {
    const file = (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => dir !== '')
      .map((dir) => path.join(dir, 'setpriv'))
      .find(executable);
    // Tried once for real (it sets the signal and execs itself), since an older setpriv, or a
    // sandbox that forbids the call, fails here rather than under pg_dump.
    const works =
      file !== undefined &&
      spawnSync(file, ['--pdeathsig', 'KILL', '--', file, '--version'], { stdio: 'ignore' })
        .status === 0;
    setprivFound = works ? file : null;
  }
  return setprivFound ?? undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Stops a program that is still running (default SIGTERM); one that has ended is left alone. */
export function stopIfRunning(child: Pick<Child, 'exitCode' | 'signalCode' | 'kill'>): void {
  if (child.exitCode === null && child.signalCode === null) child.kill();
}

/**
 * One line describing how a program ended badly. Its last lines of stderr may quote a name raw
 * (a table or file named with ESC or a line break): their control characters are escaped.
 */
export function failureLine(name: string, ended: Ended): string {
  const how = ended.signal ? `was stopped by ${ended.signal}` : `exited with code ${ended.code}`;
  const lastLines = ended.stderr.split('\n').slice(-3).map(printableText).join(' | ');
  return `${name} ${how}${lastLines ? `: ${lastLines}` : ''}`;
}

/** Resolves when the program exited successfully; rejects with one line saying how it did not. */
export function succeeded(name: string, exit: Promise<Ended>): Promise<void> {
  return exit.then(
    (ended) => {
      if (ended.code !== 0) throw new Error(failureLine(name, ended));
    },
    (error: Error) => {
      throw new Error(`${name} could not run: ${error.message}`);
    },
  );
}

/**
 * A program's stdout that ends only once `outcome` resolves (the program, and whatever fed it,
 * succeeded): a program that fails after writing (pg_dump losing its connection) errors the
 * stream, so no upload completes. With `expected`, output that does not begin with its prefix
 * errors the stream too.
 */
export function guardedStdout(
  stdout: Readable,
  outcome: Promise<void>,
  expected?: { prefix: Buffer; failure: string },
): Readable {
  let seen = Buffer.alloc(0);
  const guard = new Transform({
    // Each read from a pipe is a fresh buffer, handed on whole: the last stage may release it.
    transform(chunk: Buffer, _encoding, done) {
      if (expected && seen.length < expected.prefix.length) {
        seen = Buffer.concat([seen, chunk.subarray(0, expected.prefix.length - seen.length)]);
        if (!expected.prefix.subarray(0, seen.length).equals(seen)) {
          done(new Error(expected.failure));
          return;
        }
      }
      done(null, own(chunk));
    },
    flush(done) {
      if (expected && seen.length < expected.prefix.length) {
        done(new Error(expected.failure));
        return;
      }
      outcome.then(() => done(), done);
    },
  });
  stdout.on('error', (error) => guard.destroy(error));
  stdout.pipe(guard);
  outcome.catch((error: Error) => {
    if (!guard.destroyed) guard.destroy(error);
  });
  return guard;
}
