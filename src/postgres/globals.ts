/**
 * The globals source: `pg_dumpall --globals-only` (roles, memberships, role settings,
 * tablespaces) as SQL, connected exactly as pg_dump is: the password in the environment, the
 * connection as one quoted libpq string, no shell.
 */
import type { Readable } from 'node:stream';
import type { DatabaseTarget } from '../core/settings.js';
import type { ObjectSource } from '../pipeline/source.js';
import {
  guardedStdout,
  type Child,
  type Ended,
  libpqEnv,
  start,
  stopIfRunning,
  succeeded,
  type Program,
} from '../process/programs.js';
import { connectionString } from './database-url.js';

/** pg_dumpall's SQL opens with a comment line; anything else (a message, nothing) is no dump. */
const SQL_DUMP = {
  prefix: Buffer.from('--'),
  failure:
    'pg_dumpall wrote something other than SQL (it does not begin with --); nothing was published',
};

/**
 * Started only when its bytes are first read, and read through Node, never handed to a
 * compressor program: the SQL is a few kilobytes that pg_dumpall writes at once, and a finished
 * child's unread stdout is drained and dropped by Node, so any wait between starting it and
 * reading it could lose the globals.
 */
export function openGlobalsSource(
  program: Program,
  target: DatabaseTarget,
  { rolePasswords }: { rolePasswords: boolean },
): ObjectSource {
  const args = [
    '--globals-only',
    '--no-password',
    ...(rolePasswords ? [] : ['--no-role-passwords']),
    `--dbname=${connectionString(target)}`,
  ];
  let started: { child: Child; exit: Promise<Ended>; done: Promise<void> } | undefined;
  let output: Readable | undefined;
  const run = () => {
    if (!started) {
      const { child, exit } = start(program, args, libpqEnv(target));
      const done = succeeded('pg_dumpall', exit);
      done.catch(() => undefined);
      started = { child, exit, done };
    }
    return started;
  };
  return {
    get output() {
      if (output) return output;
      const { child, done } = run();
      return (output = guardedStdout(child.stdout, done, SQL_DUMP));
    },
    async finished() {
      await run().done;
      return {};
    },
    async close() {
      if (!started) return;
      stopIfRunning(started.child);
      await started.exit.catch(() => undefined);
    },
  };
}
