/** What a backup of one database and a backup of a server share: how each database is dumped. */
import type { DatabaseManifest, ServerManifest } from '../../core/manifest.js';
import type { ClientSettings, DatabaseTarget, DumpSettings } from '../../core/settings.js';
import type { ObjectPart } from '../../pipeline/store-all.js';
import { clientProgram, type ClientContext } from '../../postgres/client/index.js';
import { openDumpSource, planDump } from '../../postgres/dump.js';
import type { ServerVersion } from '../../postgres/server.js';
import type { Program } from '../../process/programs.js';
import type { Fact } from '../kind.js';

/** pg_dump or pg_dumpall for `server`, found before anything is stored. */
export function dumpProgram(
  name: 'pg_dump' | 'pg_dumpall',
  server: ServerVersion,
  client: ClientSettings,
  ctx: ClientContext,
): Promise<Program> {
  const what = `the PostgreSQL ${server.version} server it must dump`;
  return clientProgram(name, { oldest: server.major, what }, client, ctx);
}

/**
 * One database's dump as a part of a backup, made when its turn comes: its own connection
 * exports the snapshot pg_dump reads and counts the rows in it.
 */
export function dumpPart(
  settings: DumpSettings,
  target: DatabaseTarget,
  pgDump: Program,
  key: string,
): ObjectPart {
  return {
    key,
    open: async (signal) =>
      openDumpSource(settings, target, await planDump(target, pgDump, signal)),
  };
}

export function serverFact(manifest: DatabaseManifest | ServerManifest): Fact {
  const server = manifest.source.serverVersion ?? '?';
  return ['Server', `PostgreSQL ${server}, pg_dump ${manifest.dump?.version ?? '?'}`];
}
