/**
 * What both restore modes need from PostgreSQL: a pg_restore that can read the archive, the
 * server's readiness, pg_restore itself, scratch databases, and the target's state.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { connectionString } from './database-url.js';
import type { ManifestBase } from '../core/manifest.js';
import type { ArchiveRoles } from './roles.js';
import { FirstError } from './restore-error.js';
import { restorePasses, useList, type ArchiveShape, type RestorePass } from './restore-passes.js';
import { pgRestoreMajors, unrestorableLine } from './versions.js';
import { mark } from './scratch-marks.js';
import { clientProgram, type ClientContext } from './client/index.js';
import type { ClientSettings, DatabaseTarget } from '../core/settings.js';
import { failureLine, libpqEnv, start, type Program } from '../process/programs.js';
import {
  connect,
  exactRowCounts,
  quoteIdent,
  serverVersion,
  USER_TABLES_SQL,
  type ServerVersion,
} from './server.js';

/**
 * The pg_restore that can read archives of the pg_dump that made the backup and, when the server
 * it restores into is known, talk to that server: one line before anything is restored when none
 * can.
 */
export async function restoreProgram(
  manifest: Pick<ManifestBase, 'id' | 'dump'>,
  client: ClientSettings,
  ctx: ClientContext,
  server?: ServerVersion,
): Promise<Program> {
  const made = manifest.dump?.version;
  const unrestorable = server && unrestorableLine(made, server);
  if (unrestorable) throw new Error(unrestorable);
  const what = `the pg_dump ${made ?? '(unknown version)'} that made ${manifest.id}`;
  return clientProgram('pg_restore', { ...pgRestoreMajors(made, server), what }, client, ctx);
}

/** Connects (so an unreachable server fails at once) and checks it may create databases. */
export async function checkScratchServer(
  server: DatabaseTarget,
  signal: AbortSignal,
): Promise<ServerVersion> {
  const client = await connect(server, signal);
  try {
    const { rows } = await client.query<{ role: string; may: boolean }>(
      'SELECT current_user AS role, rolsuper OR rolcreatedb AS may FROM pg_roles WHERE rolname = current_user',
    );
    if (rows[0] && !rows[0].may) {
      throw new Error(
        `the role ${rows[0].role} may not create databases on ${server.display}; restore-test needs a role with CREATEDB (a service container's superuser has it)`,
      );
    }
    return await serverVersion(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PgRestoreOptions {
  jobs: number;
  /** Restore owners and privileges; otherwise the restoring role owns everything, with no grants. */
  keepOwners: boolean;
  signal: AbortSignal;
  /** Added to the failure message (e.g. that the server is older than the backup's). */
  hint?: string;
  /** Everything into the default tablespace: a scratch server has none of the source's. */
  noTablespaces?: boolean;
  /** What decides whether one pg_restore does or section passes do. */
  shape: ArchiveShape;
  /** The archive's `pg_restore --list`, for the passes that take some of its entries. */
  listing: string;
}

/** pg_restore, in the passes the archive needs, stopping at the first error, which fails the run. */
export async function runPgRestore(
  program: Program,
  archive: string,
  target: DatabaseTarget,
  options: PgRestoreOptions,
): Promise<void> {
  for (const pass of restorePasses(options.jobs, options.shape)) {
    await runPass(program, archive, target, pass, options);
  }
}

async function runPass(
  program: Program,
  archive: string,
  target: DatabaseTarget,
  pass: RestorePass,
  options: PgRestoreOptions,
): Promise<void> {
  const args = [
    ...(pass.section ? [`--section=${pass.section}`] : []),
    ...(pass.entries
      ? [`--use-list=${await listFile(archive, options.listing, pass.entries)}`]
      : []),
    `--jobs=${pass.jobs}`,
    ...(options.keepOwners ? [] : ['--no-owner', '--no-privileges']),
    ...(options.noTablespaces ? ['--no-tablespaces'] : []),
    '--no-password',
    '--exit-on-error',
    `--dbname=${connectionString(target)}`,
    archive,
  ];
  // A cancellation that came before this point has no listener to hear it.
  options.signal.throwIfAborted();
  const { child, exit } = start(program, args, libpqEnv(target));
  // By whole lines: one line may arrive in several reads of the pipe.
  const firstError = new FirstError();
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line: string) =>
    firstError.add(line),
  );
  const stop = () => child.kill('SIGTERM');
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    const ended = await exit;
    if (ended.code === 0) return;
    const reason =
      firstError.text !== undefined && !ended.signal
        ? `pg_restore failed: ${firstError.text}`
        : failureLine(passName(pass), ended);
    throw new Error(options.hint ? `${reason}; ${options.hint}` : reason);
  } finally {
    options.signal.removeEventListener('abort', stop);
  }
}

function passName(pass: RestorePass): string {
  if (!pass.section) return 'pg_restore';
  const parts = { keys: ' (indexes and keys)', rest: ' (all but indexes and keys)' };
  return `pg_restore --section=${pass.section}${pass.entries ? parts[pass.entries] : ''}`;
}

/** The pass's list, beside the archive in its private folder (removed with it). */
async function listFile(
  archive: string,
  listing: string,
  entries: 'keys' | 'rest',
): Promise<string> {
  const file = path.join(path.dirname(archive), `post-data-${entries}.list`);
  await writeFile(file, useList(listing, entries), { mode: 0o600 });
  return file;
}

/** A scratch database name no one else uses: `restore_test_<set>_<random>`, within 63 bytes. */
export function scratchName(set: string): string {
  const safe = set.replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `restore_test_${safe}_${randomBytes(3).toString('hex')}`;
}

/**
 * From template0, as pg_dump's documentation advises: template1 may hold objects of its own.
 * A scratch database is marked at once (postgres/scratch-marks.ts).
 */
export async function createDatabase(
  server: DatabaseTarget,
  name: string,
  scratchMark?: string,
): Promise<void> {
  const client = await connect(server);
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
    if (scratchMark) await mark(client, 'DATABASE', [name], scratchMark);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Drops it even with sessions still connected (a check, a pg_restore worker being stopped), and
 * even after cancellation: those sessions are ended first, and WITH (FORCE) (PostgreSQL 13+)
 * ends any that connect in between. Only databases this tool made or replaced come here: one
 * restored as a template is made an ordinary database first, as PostgreSQL drops no template.
 */
export async function dropDatabase(server: DatabaseTarget, name: string): Promise<void> {
  const client = await connect(server);
  try {
    const { major } = await serverVersion(client);
    const { rows } = await client.query<{ template: boolean }>(
      'SELECT datistemplate AS template FROM pg_database WHERE datname = $1',
      [name],
    );
    if (rows[0]?.template) {
      await client.query(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE = false`);
    }
    await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await client.query(
      `DROP DATABASE IF EXISTS ${quoteIdent(name)}${major >= 13 ? ' WITH (FORCE)' : ''}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TargetState {
  server: ServerVersion;
  /** User tables already there (a restore target must be empty unless `clean`). */
  tables: number;
}

export async function inspectTarget(
  target: DatabaseTarget,
  signal: AbortSignal,
): Promise<TargetState> {
  const client = await connect(target, signal);
  try {
    const { rows: tables } = await client.query(USER_TABLES_SQL);
    return {
      server: await serverVersion(client),
      tables: tables.length,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The roles the archive names that the target lacks, and the owners the restoring role cannot act
 * as (ALTER … OWNER TO needs membership): either would fail a restore of owners and privileges.
 */
export async function unusableRoles(
  target: DatabaseTarget,
  roles: ArchiveRoles,
  signal: AbortSignal,
): Promise<{ missing: string[]; notMember: string[] }> {
  const names = [...new Set([...roles.owners, ...roles.grantees])];
  if (names.length === 0) return { missing: [], notMember: [] };
  const client = await connect(target, signal);
  try {
    const { rows } = await client.query<{ name: string; present: boolean; member: boolean }>(
      `SELECT r.name, ro.oid IS NOT NULL AS present,
              coalesce(pg_has_role(current_user, ro.oid, 'MEMBER'), false) AS member
         FROM unnest($1::text[]) AS r(name) LEFT JOIN pg_roles ro ON ro.rolname = r.name
        ORDER BY 1`,
      [names],
    );
    return {
      missing: rows.filter((row) => !row.present).map((row) => row.name),
      notMember: rows
        .filter((row) => row.present && !row.member && roles.owners.has(row.name))
        .map((row) => row.name),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function countRows(
  target: DatabaseTarget,
  signal: AbortSignal,
): Promise<Record<string, number>> {
  const client = await connect(target, signal);
  try {
    return await exactRowCounts(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
