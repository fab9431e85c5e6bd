/**
 * A scratch redis-server on a snapshot: its own folder (the snapshot, its log and its socket), a
 * Unix socket instead of a port (nothing to collide with, and nothing else on the machine can
 * reach it through the folder's 0700), no saving, no persistence. It is stopped, and the caller
 * removes the folder, pass, fail or cancel; a cancelled run stops it with every other program it
 * started (process/signals.ts), and it dies with this process (setpriv's parent-death signal).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError } from '../core/errors.js';
import { helperEnv, start, stopIfRunning, type Ended, type Program } from '../process/programs.js';
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
  const socket = path.join(dir, 'redis.sock');
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
  };
  try {
    for (;;) {
      if (signal.aborted) throw new CancelledError();
      if (ended)
        throw new Error(
          `redis-server stopped while loading the snapshot: ${await logTail(log, ended)}`,
        );
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

/** The lines of the server's log that say why it stopped. */
async function logTail(log: string, ended: Ended): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((line) => line.replace(/^\d+:[A-Z] [^*#.-]*[*#.-] /, '').trim())
    .filter((line) => line !== '');
  const telling = lines.filter((line) =>
    /error|can't|cannot|wrong|fatal|short read|bad|fail/i.test(line),
  );
  return (telling.length > 0 ? telling : lines).slice(-2).join(' | ') || `exit code ${ended.code}`;
}
