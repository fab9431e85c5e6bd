/**
 * A connection to a Redis (the source, a restore's target, a scratch server) through the official
 * client, made from the one parsed `redis-url`: the same host, user, password and TLS files that
 * redis-cli gets. Replies stay as bytes: keys and DUMP payloads are binary.
 */
import { readFileSync } from 'node:fs';
import { errorMessage } from '../core/errors.js';
import type { RedisTarget } from '../core/settings.js';

export type RedisArgument = string | Buffer;

/** The few calls this program makes, with the client behind them. */
export interface RedisConnection {
  call(args: RedisArgument[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Where a scratch server listens: a Unix socket in its own folder. */
export interface RedisSocket {
  path: string;
}

const CONNECT_TIMEOUT_MS = 10_000;

export async function connectRedis(
  target: RedisTarget | RedisSocket,
  what: string,
): Promise<RedisConnection> {
  // Loaded when a Redis is first reached: the client is as large as the rest of the bundle, and
  // no other run should pay for parsing it at start-up.
  const { createClient, RESP_TYPES } = await import('@redis/client');
  const client = createClient({
    socket: {
      ...socketOptions(target),
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: false,
    },
    ...('host' in target && target.user !== undefined ? { username: target.user } : {}),
    ...('host' in target && target.password !== undefined ? { password: target.password } : {}),
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  // Errors reach the caller through each call; the event would otherwise end the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw new Error(connectFailure(what, errorMessage(error)), { cause: error });
  }
  return {
    call: (args) => client.sendCommand(args),
    close: async () => {
      await client.close().catch(() => client.destroy());
    },
  };
}

function connectFailure(what: string, message: string): string {
  if (/^NOAUTH/.test(message)) {
    return `${what} asks for a password, and none was given: write redis://:password@host, or redis://user:password@host for an ACL user`;
  }
  return `cannot reach ${what}: ${message}`;
}

function socketOptions(target: RedisTarget | RedisSocket) {
  if (!('host' in target)) return { path: target.path };
  const { tls } = target;
  if (!tls) return { host: target.host, port: target.port };
  const file = (name?: string) => (name === undefined ? undefined : readFileSync(name));
  return {
    host: target.host,
    port: target.port,
    tls: true as const,
    servername: tls.sni ?? target.host,
    rejectUnauthorized: !tls.insecure,
    ...(tls.cacert ? { ca: file(tls.cacert) } : {}),
    ...(tls.cert ? { cert: file(tls.cert), key: file(tls.key) } : {}),
  };
}

/** A reply as text: INFO's sections, a status, a version. */
export function replyText(reply: unknown): string {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  return String(reply);
}

/** `INFO <section>` as its `name:value` pairs. */
export async function info(
  connection: RedisConnection,
  section: string,
): Promise<Map<string, string>> {
  const text = replyText(await connection.call(['INFO', section]));
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Keys per logical database, from `INFO keyspace` (`db0:keys=3,expires=1,avg_ttl=0`). */
export async function keyspace(connection: RedisConnection): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const [name, value] of await info(connection, 'keyspace')) {
    const db = /^db(\d+)$/.exec(name)?.[1];
    const keys = /(?:^|,)keys=(\d+)/.exec(value)?.[1];
    if (db !== undefined && keys !== undefined) counts.set(Number(db), Number(keys));
  }
  return counts;
}

/** Runs `work` on a connection that is closed afterwards, pass or fail. */
export async function withRedis<T>(
  target: RedisTarget | RedisSocket,
  what: string,
  work: (connection: RedisConnection) => Promise<T>,
): Promise<T> {
  const connection = await connectRedis(target, what);
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}
