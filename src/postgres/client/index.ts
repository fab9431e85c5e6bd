/**
 * Which pg_dump, pg_dumpall or pg_restore to run, by the `postgres-client` input: the machine's (or
 * `pg-bin-dir`'s) when it is new enough, otherwise, unless told `system`, the needed major
 * installed from an apt repository into the tool cache.
 */
import type { Logger } from '../../core/types.js';
import type { ClientSettings } from '../../core/settings.js';
import { findProgram, type Program } from '../../process/programs.js';
import { cachedClient, installClient, type InstalledClient } from './install.js';

export type ClientProgram = 'pg_dump' | 'pg_dumpall' | 'pg_restore';

export interface ClientContext {
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/**
 * The program to run against a PostgreSQL `needed` major (the server's for pg_dump, the archive's
 * pg_dump for pg_restore); `what` names that need in the one-line failure.
 */
export async function clientProgram(
  name: ClientProgram,
  needed: number | undefined,
  what: string,
  settings: ClientSettings,
  ctx: ClientContext,
): Promise<Program> {
  const { choice } = settings;
  if (settings.pgBinDir !== undefined) {
    return binDirProgram(name, needed, what, { ...settings, pgBinDir: settings.pgBinDir });
  }
  if (choice !== 'auto' && choice !== 'system') {
    return installedProgram(name, choice, settings, ctx);
  }
  const local = await findProgram(name).catch((error: Error) => error);
  if (!(local instanceof Error) && (needed === undefined || local.major >= needed)) return local;
  if (choice === 'system' || needed === undefined) {
    if (local instanceof Error) throw local;
    throw new Error(
      `${name} ${local.version} is older than ${what}; set postgres-client: auto (or ${needed}) to install postgresql-client-${needed}, or pg-bin-dir to a PostgreSQL ${needed} bin folder`,
    );
  }
  ctx.log.info(
    `${local instanceof Error ? `no usable ${name} (${local.message})` : `${name} ${local.version} is older than ${what}`}; using postgresql-client-${needed}`,
  );
  return installedProgram(name, needed, settings, ctx);
}

/** The program in the user's `pg-bin-dir`, or one line saying why it cannot serve: never another. */
async function binDirProgram(
  name: ClientProgram,
  needed: number | undefined,
  what: string,
  settings: ClientSettings & { pgBinDir: string },
): Promise<Program> {
  const { choice, pgBinDir } = settings;
  const program = await findProgram(name, pgBinDir).catch((error: Error) => {
    throw new Error(`pg-bin-dir ${pgBinDir} has no usable ${name}: ${error.message}`);
  });
  if (typeof choice === 'number' && program.major !== choice) {
    throw new Error(
      `pg-bin-dir ${pgBinDir} holds ${name} ${program.version}, but postgres-client asks for ${choice}; make them agree`,
    );
  }
  if (needed !== undefined && program.major < needed) {
    throw new Error(
      `${name} ${program.version} in pg-bin-dir ${pgBinDir} is older than ${what}; point pg-bin-dir at a PostgreSQL ${needed} bin folder, or remove it to let postgres-client: auto install one`,
    );
  }
  return program;
}

async function installedProgram(
  name: ClientProgram,
  major: number,
  settings: ClientSettings,
  ctx: ClientContext,
): Promise<Program> {
  const local = await findProgram(name).catch(() => undefined);
  if (local?.major === major) return local;
  const client: InstalledClient =
    (await cachedClient(major, ctx.env)) ??
    (await installClient(major, { mirror: settings.mirror, log: ctx.log, env: ctx.env }));
  const libraryPath = [client.libDir, ctx.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return findProgram(name, client.binDir, { LD_LIBRARY_PATH: libraryPath });
}
