/**
 * Which pg_dump, pg_dumpall or pg_restore to run, by the `postgres-client` input: the machine's (or
 * `pg-bin-dir`'s) when it is new enough, otherwise, unless told `system`, the needed major
 * installed from an apt repository into the tool cache.
 */
import type { Logger } from '../../core/types.js';
import type { ClientSettings } from '../../core/settings.js';
import { findProgram, type Program } from '../../process/programs.js';
import { cachedClient, installClient, type InstalledClient } from './install.js';
import type { PgRestoreMajors } from '../versions.js';

export type ClientProgram = 'pg_dump' | 'pg_dumpall' | 'pg_restore';

export interface ClientContext {
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/**
 * What the program must be: at least `oldest` (the server's for pg_dump, the archive's pg_dump for
 * pg_restore), named by `what` in the one-line failure, and for pg_restore at most `newest`.
 */
export interface ClientNeed extends PgRestoreMajors {
  what: string;
}

/** The program to run for `need`: the user's, the machine's, or the needed major installed. */
export async function clientProgram(
  name: ClientProgram,
  need: ClientNeed,
  settings: ClientSettings,
  ctx: ClientContext,
): Promise<Program> {
  const { choice } = settings;
  if (settings.pgBinDir !== undefined) {
    return binDirProgram(name, need, { ...settings, pgBinDir: settings.pgBinDir });
  }
  const install = need.install ?? need.oldest;
  const ways = `set postgres-client: auto (or ${install}) to install postgresql-client-${install}, or pg-bin-dir to a PostgreSQL ${install} bin folder`;
  if (choice !== 'auto' && choice !== 'system') {
    if (need.newest && choice > need.newest.major) {
      throw new Error(
        `postgres-client: ${choice} asks for ${name} ${choice}, which ${need.newest.why}; ${ways}`,
      );
    }
    return installedProgram(name, choice, settings, ctx);
  }
  const local = await findProgram(name).catch((error: Error) => error);
  const misfit = local instanceof Error ? undefined : misfitOf(name, local, '', need);
  if (!(local instanceof Error) && misfit === undefined) return local;
  if (choice === 'system' || install === undefined) {
    if (local instanceof Error) throw local;
    throw new Error(`${misfit}; ${ways}`);
  }
  ctx.log.info(
    `${local instanceof Error ? `no usable ${name} (${local.message})` : misfit}; using postgresql-client-${install}`,
  );
  return installedProgram(name, install, settings, ctx);
}

/** Why `program` cannot serve `need`, naming it and `where` it is; undefined when it can. */
function misfitOf(
  name: ClientProgram,
  program: Program,
  where: string,
  need: ClientNeed,
): string | undefined {
  if (need.oldest !== undefined && program.major < need.oldest) {
    return `${name} ${program.version}${where} is older than ${need.what}`;
  }
  if (need.newest && program.major > need.newest.major) {
    return `${name} ${program.version}${where} ${need.newest.why}`;
  }
  return undefined;
}

/** The program in the user's `pg-bin-dir`, or one line saying why it cannot serve: never another. */
async function binDirProgram(
  name: ClientProgram,
  need: ClientNeed,
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
  const misfit = misfitOf(name, program, ` in pg-bin-dir ${pgBinDir}`, need);
  if (misfit) {
    const install = need.install ?? need.oldest;
    throw new Error(
      `${misfit}; point pg-bin-dir at a PostgreSQL ${install} bin folder, or remove it to let postgres-client: auto install one`,
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
