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
  const { child, exit } = start(program, args, libpqEnv(target));
  const done = succeeded('pg_dumpall', exit);
  done.catch(() => undefined);
  let output: Readable | undefined;
  return {
    get output() {
      return (output ??= guardedStdout(child.stdout, done, SQL_DUMP));
    },
    direct: () => ({ stdout: child.stdout, succeeded: done, expected: SQL_DUMP }),
    async finished() {
      await done;
      return {};
    },
    async close() {
      stopIfRunning(child);
      await exit.catch(() => undefined);
    },
  };
}
