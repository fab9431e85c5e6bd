/**
 * A scratch redis-server on a snapshot: its own folder (the snapshot and its log), a Unix socket
 * instead of a port (nothing to collide with, and nothing else on the machine can reach it through
 * its folder's 0700), no saving, no persistence. The socket's folder is a short one of its own in
 * the system's temporary folder, as a socket's path must stay under 108 bytes and the snapshot's
 * folder (RUNNER_TEMP) can be deep. It is stopped and its socket's folder removed, and the caller
 * removes the snapshot's folder, pass, fail or cancel; a cancelled run stops it with every other program it
 * started (process/signals.ts), and it dies with this process (setpriv's parent-death signal).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError } from '../core/errors.js';
import { helperEnv, start, stopIfRunning, type Ended, type Program } from '../process/programs.js';
import { emptySnapshot, NewerRdbError } from './check-rdb.js';
import { connectRedis, type RedisConnection } from './connection.js';

export interface ScratchRedis {
  connection: RedisConnection;
  stop(): Promise<void>;
}

/** Redis's default number of logical databases; a snapshot that uses more gets as many. */
const DEFAULT_DATABASES = 16;

export async function startScratchRedis(
  server: Program,
  dir: string,
  file: string,
  highestDb: number,
  signal: AbortSignal,
): Promise<ScratchRedis> {
  const socketDir = await mkdtemp(path.join(os.tmpdir(), 'backup-action-redis-socket-'));
  const socket = path.join(socketDir, 'redis.sock');
  const log = path.join(dir, 'redis.log');
  const args = [
    '--port',
    '0',
    '--unixsocket',
    socket,
    '--unixsocketperm',
    '700',
    '--dir',
    dir,
    '--dbfilename',
    path.basename(file),
    '--logfile',
    log,
    '--save',
    '',
    '--appendonly',
    'no',
    '--databases',
    String(Math.max(DEFAULT_DATABASES, highestDb + 1)),
  ];
  const { child, exit } = start(server, args, helperEnv());
  let ended: Ended | undefined;
  void exit.then(
    (value) => (ended = value),
    () => undefined,
  );
  const stop = async () => {
    stopIfRunning(child);
    await exit.catch(() => undefined);
    await rm(socketDir, { recursive: true, force: true });
  };
  try {
    for (;;) {
      if (signal.aborted) throw new CancelledError();
      if (ended) throw await stoppedError(server, log, ended);
      const connection = await ready(socket);
      if (connection)
        return {
          connection,
          stop: async () => {
            await connection.close();
            await stop();
          },
        };
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A connection once the server answers (not LOADING), else undefined. */
async function ready(socket: string): Promise<RedisConnection | undefined> {
  let connection: RedisConnection | undefined;
  try {
    connection = await connectRedis({ path: socket }, 'the scratch redis-server');
    await connection.call(['PING']);
    return connection;
  } catch {
    await connection?.close();
    return undefined;
  }
}

/**
 * Whether `server` loads RDB version `version`: asked of it with an empty snapshot of that
 * version, before anything is downloaded. Redis reads no RDB version newer than its own.
 */
export async function serverReadsRdbVersion(
  server: Program,
  version: number,
  signal: AbortSignal,
): Promise<boolean> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'backup-action-rdb-'));
  try {
    const file = path.join(dir, 'empty.rdb');
    await writeFile(file, emptySnapshot(version), { mode: 0o600 });
    await (await startScratchRedis(server, dir, file, 0, signal)).stop();
    return true;
  } catch (error) {
    if (error instanceof NewerRdbError) return false;
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why the server stopped, from its log: a snapshot newer than it reads is told apart. */
async function stoppedError(server: Program, log: string, ended: Ended): Promise<Error> {
  const why = await logTail(log, ended);
  const newer = /Can't handle RDB format version \d+/.exec(why)?.[0];
  if (newer) return new NewerRdbError(`redis-server ${server.version}: ${newer}`);
  return new Error(`redis-server stopped while loading the snapshot: ${why}`);
}

/** The lines of the server's log that say why it stopped, without its pid and time prefix. */
async function logTail(log: string, ended: Ended): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((line) => line.replace(/^\d+:[A-Z] \d{2} \w{3} \d{4} [\d:.]+ [*#.-] /, '').trim())
    .filter((line) => line !== '');
  const telling = lines.filter((line) =>
    /error|can't|cannot|wrong|fatal|short read|bad|fail/i.test(line),
  );
  return (telling.length > 0 ? telling : lines).slice(-2).join(' | ') || `exit code ${ended.code}`;
}
