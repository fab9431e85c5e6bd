/**
 * Throwaway Redis servers for the tests: Debian's redis-server on a free loopback port, in a
 * temporary folder, with a password, an ACL user, TLS (a CA and a certificate made with openssl
 * for the test) or extra configuration; stopped and removed by `stop()`. A small TCP relay can
 * cut a connection after a number of bytes, as a network that fails mid-transfer does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createClient, RESP_TYPES } from '@redis/client';

const run = promisify(execFile);

export type RedisClient = ReturnType<typeof clientTo>;

export interface TestRedis {
  port: number;
  /** The URL the product is given (with the user and password, if any). */
  url: string;
  dir: string;
  /** A client as the default user (the admin password, when one is set). */
  client: RedisClient;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** requirepass: the default user's password. */
  password?: string;
  /** An ACL user with these rules (e.g. `+@all ~*`), given to the product in the URL. */
  user?: { name: string; password: string; rules: string[] };
  /** TLS on the port (no plain port), with a certificate made by `makeCertificates`. */
  tls?: Certificates;
  args?: string[];
}

export interface Certificates {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-test-'));
  const port = await freePort();
  const args = [
    ...(options.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.cert]
      : ['--port', String(port)]),
    ...(options.tls
      ? ['--tls-key-file', options.tls.key, '--tls-ca-cert-file', options.tls.ca]
      : []),
    ...(options.tls ? ['--tls-auth-clients', 'no'] : []),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--logfile',
    path.join(dir, 'redis.log'),
    // Diskless snapshots start at once instead of waiting 5 s for more replicas.
    '--repl-diskless-sync-delay',
    '0',
    // DEBUG DIGEST-VALUE compares values whatever their encoding.
    '--enable-debug-command',
    'yes',
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.args ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const client = await connectWhenReady(child, port, options);
  const { user } = options;
  if (user)
    await client.sendCommand([
      'ACL',
      'SETUSER',
      user.name,
      'on',
      `>${user.password}`,
      ...user.rules,
    ]);
  const auth = user
    ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`
    : options.password
      ? `:${encodeURIComponent(options.password)}@`
      : '';
  const scheme = options.tls ? 'rediss' : 'redis';
  const tls = options.tls ? `?cacert=${encodeURIComponent(options.tls.ca)}&sni=localhost` : '';
  return {
    port,
    url: `${scheme}://${auth}127.0.0.1:${port}${tls}`,
    dir,
    client,
    stop: async () => {
      await client.close().catch(() => undefined);
      child.kill('SIGKILL');
      await new Promise((resolve) =>
        child.exitCode === null ? child.once('exit', resolve) : resolve(null),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A client of the test's own (not the product's), bytes kept as bytes. */
function clientTo(port: number, password?: string, caPem?: string) {
  return createClient({
    socket: {
      host: '127.0.0.1',
      port,
      reconnectStrategy: false,
      ...(caPem ? { tls: true as const, ca: [caPem], servername: 'localhost' } : {}),
    },
    ...(password ? { password } : {}),
  }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

async function connectWhenReady(child: ChildProcess, port: number, options: RedisOptions) {
  const caPem = options.tls ? await readFile(options.tls.ca, 'utf8') : undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const client = clientTo(port, options.password, caPem);
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch {
      client.destroy();
      await sleep(50);
    }
  }
  throw new Error('redis-server did not answer within 5 s');
}

/** A throwaway CA and a certificate for localhost and 127.0.0.1, signed by it. */
export async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redis-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args);
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  await writeFile(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('ext.cnf'),
    '-out',
    file('server.crt'),
  );
  return { dir, ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

/** A TCP relay to `port` that closes each connection once `cutAfter` bytes came back, if set. */
export async function startRelay(
  port: number,
  cutAfter?: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let relayed = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      relayed += chunk.length;
      if (cutAfter !== undefined && relayed >= cutAfter) {
        client.write(chunk.subarray(0, chunk.length - (relayed - cutAfter)));
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
