/** What both restore modes need from PostgreSQL: a client that can read the archive, pg_restore, databases. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { urlWithoutPassword } from '../inputs/database.js';
import type { Manifest } from '../manifest.js';
import { readArchive } from '../pipeline/read.js';
import type { DatabaseTarget, Decryption } from '../settings.js';
import type { Store } from '../storage/index.js';
import { failureLine, findProgram, libpqEnv, start, type Program } from './programs.js';
import { connect, quoteIdent, USER_TABLES_SQL } from './server.js';

/**
 * The local pg_restore, checked against the pg_dump that made the archive: a pg_restore older
 * than that pg_dump may not read its archive format.
 */
export async function restoreProgram(manifest: Manifest, pgBinDir?: string): Promise<Program> {
  const program = await findProgram('pg_restore', pgBinDir);
  const dumpMajor = Number(manifest.dump?.version.split('.')[0] ?? 0);
  if (dumpMajor > program.major) {
    throw new Error(
      `pg_restore ${program.version} cannot read an archive made by pg_dump ${manifest.dump?.version}; ` +
        `install postgresql-client-${dumpMajor} or set pg-bin-dir to a PostgreSQL ${dumpMajor} (or newer) bin folder`,
    );
  }
  return program;
}

/** Fails early, before anything is downloaded, when the server cannot be reached. */
export async function checkReachable(target: DatabaseTarget, signal: AbortSignal): Promise<void> {
  const client = await connect(target, signal);
  await client.end();
}

/**
 * Writes the decrypted, decompressed archive to `dir` (pg_restore --jobs needs a seekable file).
 * Resolves only once every stored byte matched the manifest's sha256.
 */
export async function downloadArchive(
  store: Store,
  manifest: Manifest,
  keys: Decryption,
  dir: string,
  signal: AbortSignal,
): Promise<string> {
  const file = path.join(dir, 'archive.dump');
  await readArchive(
    store,
    manifest,
    keys,
    (archive) => pipeline(archive, createWriteStream(file), { signal }),
    signal,
  );
  return file;
}

export interface PgRestoreOptions {
  jobs: number;
  clean: boolean;
  signal: AbortSignal;
}

/**
 * With --clean, pg_restore drops each partition's inherited constraints before their tables, which
 * PostgreSQL refuses; dropping the partitioned table drops them anyway, so these errors are benign.
 */
const BENIGN_CLEAN_ERROR = /cannot drop inherited constraint/;

/**
 * pg_restore, with any error failing the run. A clean restore cannot use --exit-on-error (see
 * above): there, every error but the benign ones fails the run instead.
 */
export async function runPgRestore(
  program: Program,
  archive: string,
  target: DatabaseTarget,
  options: PgRestoreOptions,
): Promise<{ ignoredErrors: number }> {
  const args = [
    `--jobs=${options.jobs}`,
    '--no-owner',
    '--no-privileges',
    '--no-password',
    ...(options.clean ? ['--clean', '--if-exists'] : ['--exit-on-error']),
    `--dbname=${urlWithoutPassword(target)}`,
    archive,
  ];
  // A cancellation that came before this point has no listener to hear it.
  options.signal.throwIfAborted();
  const { child, exit } = start(program, args, libpqEnv(target));
  const errors: string[] = [];
  child.stderr.on('data', (text: string) => {
    errors.push(...text.split('\n').filter((line) => line.includes('ERROR:')));
  });
  const stop = () => child.kill('SIGTERM');
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    const ended = await exit;
    if (ended.code === 0) return { ignoredErrors: 0 };
    const real = errors.filter((line) => !(options.clean && BENIGN_CLEAN_ERROR.test(line)));
    if (ended.signal || real.length > 0 || errors.length === 0) {
      throw new Error(
        real[0] ? `pg_restore failed: ${real[0].trim()}` : failureLine('pg_restore', ended),
      );
    }
    return { ignoredErrors: errors.length };
  } finally {
    options.signal.removeEventListener('abort', stop);
  }
}

/** A scratch database name no one else uses: `restore_test_<set>_<random>`, within 63 bytes. */
export function scratchName(set: string): string {
  const safe = set.replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `restore_test_${safe}_${randomBytes(3).toString('hex')}`;
}

export async function createDatabase(server: DatabaseTarget, name: string): Promise<void> {
  const client = await connect(server);
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops it even with sessions still connected (PostgreSQL 13+), and even after cancellation. */
export async function dropDatabase(server: DatabaseTarget, name: string): Promise<void> {
  const client = await connect(server);
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** How many user tables the database holds (a restore target must be empty unless `clean`). */
export async function userTableCount(target: DatabaseTarget, signal: AbortSignal): Promise<number> {
  const client = await connect(target, signal);
  try {
    const { rows } = await client.query(USER_TABLES_SQL);
    return rows.length;
  } finally {
    await client.end().catch(() => undefined);
  }
}
