/**
 * redis-cli, redis-check-rdb and redis-server, found on PATH with their versions, and how
 * redis-cli reaches a server: host, port, user and TLS options as arguments, the password only in
 * its environment (REDISCLI_AUTH), which no other user can read in the process list.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RedisTarget } from '../core/settings.js';
import { helperEnv, onPath, type Program } from '../process/programs.js';

const run = promisify(execFile);

export type RedisProgramName = 'redis-cli' | 'redis-check-rdb' | 'redis-server';

export async function findRedisProgram(name: RedisProgramName): Promise<Program> {
  const file = await onPath(name);
  if (!file) {
    throw new Error(
      `${name} was not found on PATH; install Redis's tools (Debian and Ubuntu: apt-get install redis-tools${name === 'redis-server' ? ' redis-server' : ''})`,
    );
  }
  let stdout: string;
  try {
    ({ stdout } = await run(file, ['--version'], { env: helperEnv() }));
  } catch (error) {
    throw new Error(`${file} --version failed: ${(error as Error).message}`);
  }
  const match = /(?:v=|\s)(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!match) throw new Error(`cannot read the version of ${file} from "${stdout.trim()}"`);
  return { path: file, version: `${match[1]}.${match[2]}.${match[3]}`, major: Number(match[1]) };
}

/** redis-cli's arguments that reach `target` (the password is not among them). */
export function cliConnectionArgs(target: RedisTarget): string[] {
  const args = ['-h', target.host, '-p', String(target.port), '--no-auth-warning'];
  if (target.user !== undefined) args.push('--user', target.user);
  const { tls } = target;
  if (tls) {
    args.push('--tls');
    if (tls.cacert) args.push('--cacert', tls.cacert);
    if (tls.cert && tls.key) args.push('--cert', tls.cert, '--key', tls.key);
    if (tls.sni) args.push('--sni', tls.sni);
    if (tls.insecure) args.push('--insecure');
  }
  return args;
}

/** redis-cli's environment: the helpers' few variables, and the password. */
export function cliEnv(target: RedisTarget): NodeJS.ProcessEnv {
  const env = helperEnv();
  if (target.password !== undefined) env.REDISCLI_AUTH = target.password;
  return env;
}
