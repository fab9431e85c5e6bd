// Throwaway PostgreSQL clusters for tests, `npm run demo` and `npm run bench`, made with the
// machine's own binaries. Plain JavaScript (typed in pg-cluster.d.ts) so node runs it unbuilt.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, rmSync } from 'node:fs';
import {
  access,
  appendFile,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);
const HOST = '127.0.0.1';
const USER = 'postgres';

/**
 * @typedef {{ baseDir?: string, port?: number, bindir?: string }} StartClusterOptions
 * @typedef {{ url: string, host: string, port: number, user: string, password: string,
 *   dataDir: string, bindir: string, stop(): Promise<void> }} PgCluster
 * @typedef {{ uid: number, gid: number }} Owner
 */

/**
 * Creates, starts and waits for a private cluster: 127.0.0.1 only, a free port, superuser
 * `postgres` with a random password (scram-sha-256 for TCP), durability off for speed.
 * @param {StartClusterOptions} [options]
 * @returns {Promise<PgCluster>}
 */
export async function startCluster({ baseDir = os.tmpdir(), port, bindir: given } = {}) {
  // Another PostgreSQL's binaries (a newer server, in tests) when given, else the machine's.
  const bindir = given ?? (await findBindir());
  // initdb, pg_ctl and postgres all refuse to run as root.
  const owner = process.getuid?.() === 0 ? await postgresOwner() : undefined;
  const dir = await mkdtemp(path.join(baseDir, 'pg-cluster-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  const logFile = path.join(dir, 'postgres.log');
  const password = randomBytes(18).toString('hex');
  /** @param {string[]} args */
  const pgCtl = (args) => run(path.join(bindir, 'pg_ctl'), args, owner, dir);
  const stopSync = () => {
    try {
      execFileSync(...asOwner(path.join(bindir, 'pg_ctl'), stopArgs(dataDir), owner), {
        cwd: dir,
        stdio: 'ignore',
        timeout: 30_000,
      });
    } catch {
      // Not running (or already gone): the folder still has to go.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  liveClusters.add(stopSync);
  installExitHooks();

  try {
    await mkdir(socketDir);
    const pwfile = path.join(dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) {
      await chownTree(dir, owner);
      await run('test', ['-w', dir], owner, dir).catch(() => {
        throw new Error(
          `pg-cluster: the postgres user cannot reach ${dir}; use a baseDir under /tmp`,
        );
      });
    }
    await run(
      path.join(bindir, 'initdb'),
      [
        ...['-D', dataDir, '-U', USER, `--pwfile=${pwfile}`],
        ...['--auth-local=trust', '--auth-host=scram-sha-256'],
        ...['--encoding=UTF8', '--locale=C', '--no-sync'],
      ],
      owner,
      dir,
    );
    await rm(pwfile);
    const conf = path.join(dataDir, 'postgresql.conf');
    await appendFile(conf, settings(socketDir));

    let chosenPort = port ?? (await freePort());
    for (let attempt = 1; ; attempt++) {
      // A later line wins, so a retry on another port just appends.
      await appendFile(conf, `port = ${chosenPort}\n`);
      try {
        await pgCtl(['start', '-w', '-t', '60', '-s', '-D', dataDir, '-l', logFile]);
        break;
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        // Another process may take the port between freePort() and postgres binding it.
        if (port === undefined && attempt < 3 && /already in use|could not bind/i.test(log)) {
          chosenPort = await freePort();
          continue;
        }
        throw new Error(`${errorText(error)}\n${log.split('\n').slice(-20).join('\n')}`);
      }
    }

    const url = `postgres://${USER}:${encodeURIComponent(password)}@${HOST}:${chosenPort}/postgres`;
    await waitForConnection(url);
    let stopped = false;
    return {
      url,
      host: HOST,
      port: chosenPort,
      user: USER,
      password,
      dataDir,
      bindir,
      async stop() {
        if (stopped) return;
        stopped = true;
        liveClusters.delete(stopSync);
        await pgCtl(stopArgs(dataDir)).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    liveClusters.delete(stopSync);
    stopSync();
    throw error;
  }
}

/** @param {string} url a URL whose user may create databases @param {string} name */
export async function createDatabase(url, name) {
  await withClient(url, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
}

/** Drops the database even when sessions are still connected to it (PostgreSQL 13+). */
export async function dropDatabase(/** @type {string} */ url, /** @type {string} */ name) {
  await withClient(url, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/** @param {string} url @param {string} name @returns {string} the URL naming another database */
export function withDatabase(url, name) {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

/**
 * @template T
 * @param {string} url
 * @param {(client: pg.Client) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** @param {string} socketDir */
function settings(socketDir) {
  const lines = [
    '',
    '# pg-cluster: a throwaway test cluster, so speed over durability',
    `listen_addresses = '${HOST}'`,
    `unix_socket_directories = '${socketDir.replaceAll("'", "''")}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'wal_level = minimal',
    'max_wal_senders = 0',
    'shared_buffers = 32MB',
    'max_connections = 100',
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    "lc_messages = 'C'",
    '',
  ];
  return lines.join('\n');
}

/** @param {string} dataDir */
function stopArgs(dataDir) {
  return ['stop', '-m', 'immediate', '-w', '-t', '30', '-s', '-D', dataDir];
}

/** Prefers `pg_config --bindir`: PATH entries may be wrappers or symlinks to another version. */
async function findBindir() {
  const dirs = [];
  try {
    const { stdout } = await execFileAsync('pg_config', ['--bindir']);
    dirs.push(stdout.trim());
  } catch {
    // No pg_config: fall back to PATH.
  }
  dirs.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  for (const dir of dirs) {
    const found = await Promise.all(
      ['initdb', 'pg_ctl', 'postgres'].map((name) =>
        access(path.join(dir, name), constants.X_OK).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (found.every(Boolean)) return dir;
  }
  throw new Error(
    'pg-cluster: initdb, pg_ctl and postgres not found via pg_config --bindir or PATH; ' +
      'install the PostgreSQL server or set TEST_DATABASE_URL',
  );
}

/** @returns {Promise<Owner>} */
async function postgresOwner() {
  try {
    const uid = await execFileAsync('id', ['-u', USER]);
    const gid = await execFileAsync('id', ['-g', USER]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error('pg-cluster: running as root needs a "postgres" OS user to run the server');
  }
}

/** @param {string} dir @param {Owner} owner */
async function chownTree(dir, owner) {
  const entries = await readdir(dir, { recursive: true });
  for (const entry of ['.', ...entries]) {
    await chown(path.join(dir, entry), owner.uid, owner.gid);
  }
}

/**
 * @param {string} file @param {string[]} args @param {Owner | undefined} owner
 * @returns {[string, string[]]}
 */
function asOwner(file, args, owner) {
  return owner ? ['runuser', ['-u', USER, '--', file, ...args]] : [file, args];
}

/** @param {string} file @param {string[]} args @param {Owner | undefined} owner @param {string} cwd */
async function run(file, args, owner, cwd) {
  // cwd: a root-only working directory makes initdb/pg_ctl warn when they run as postgres.
  try {
    return await execFileAsync(...asOwner(file, args, owner), { cwd, timeout: 120_000 });
  } catch (error) {
    throw new Error(`pg-cluster: ${path.basename(file)} failed: ${errorText(error)}`);
  }
}

/** @param {unknown} error */
function errorText(error) {
  if (error && typeof error === 'object' && 'stderr' in error && error.stderr) {
    return String(error.stderr).trim();
  }
  return error instanceof Error ? error.message : String(error);
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** pg_ctl -w only sees postmaster.pid say "ready"; a real login also proves auth works. */
async function waitForConnection(/** @type {string} */ url) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await withClient(url, (client) => client.query('SELECT 1'));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Synchronous stoppers: an 'exit' listener cannot await. @type {Set<() => void>} */
const liveClusters = new Set();
let exitHooksInstalled = false;

// pg_ctl starts postgres in its own session, so Ctrl-C or a killed test run would leave it running.
function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const stopAll = () => {
    for (const stop of liveClusters) stop();
    liveClusters.clear();
  };
  process.on('exit', stopAll);
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(signal, () => {
      stopAll();
      // Keep the signal's default (exit) unless someone else, e.g. vitest, handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
