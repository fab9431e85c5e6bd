/**
 * `backup` with `databases`: every chosen database of the server dumped to its own object, the
 * globals (roles, memberships, tablespaces) to another, and one manifest listing them, last.
 * Each database is consistent in itself, not with the others, exactly as with pg_dumpall.
 */
import { InputError } from '../core/errors.js';
import { formatBytes, formatCount, formatSeconds } from '../core/format.js';
import { databaseObjectKey, globalsObjectKey, manifestKey } from '../core/layout.js';
import { manifestSize, type DatabaseRecord, type ServerManifest } from '../core/manifest.js';
import { githubRun } from '../core/run-info.js';
import type { BackupSettings, DatabaseTarget, ServerSelection } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { TOOL } from '../core/version.js';
import { writeManifest, type LayerOptions, type StoredObject } from '../pipeline/publish.js';
import { storeAll, type ObjectPart } from '../pipeline/store-all.js';
import { clientProgram } from '../postgres/client/index.js';
import { withDatabase } from '../postgres/database-url.js';
import { openDumpSource, planDatabaseDump } from '../postgres/dump.js';
import { openGlobalsSource } from '../postgres/globals.js';
import { canReadPasswords, dumpedRoles, selectDatabases } from '../postgres/server-databases.js';
import { serverVersion, withConnection, type ServerVersion } from '../postgres/server.js';
import type { Program } from '../process/programs.js';

interface ServerPlan {
  server: ServerVersion;
  databases: string[];
  /** Undefined with `globals: false`. */
  globals?: { roles: string[]; rolePasswords: boolean };
}

export async function backupServer(
  settings: BackupSettings,
  selection: ServerSelection,
  target: DatabaseTarget,
  id: string,
  started: Date,
  ctx: RunContext,
): Promise<ModeResult> {
  const plan = await planServer(target, selection, ctx);
  const what = `the PostgreSQL ${plan.server.version} server it must dump`;
  const pgDump = await clientProgram('pg_dump', plan.server.major, what, settings.client, ctx);
  const pgDumpall = plan.globals
    ? await clientProgram('pg_dumpall', plan.server.major, what, settings.client, ctx)
    : undefined;
  const dumpall = pgDumpall ? `pg_dumpall ${pgDumpall.version} (${pgDumpall.path}), ` : '';
  ctx.log.info(
    `pg_dump ${pgDump.version} (${pgDump.path}), ${dumpall}server PostgreSQL ${plan.server.version}`,
  );
  ctx.log.info(
    `Backing up ${plan.databases.length} database(s) of ${target.display}${plan.globals ? ' and the globals' : ''} to ${ctx.store.description} as ${settings.name}/${id}/, ${selection.jobs} at a time`,
  );
  const layers: LayerOptions = {
    store: ctx.store,
    compression: settings.compression,
    compressionLevel: settings.compressionLevel,
    encryption: settings.encryption,
    log: ctx.log,
    env: ctx.env,
    now: ctx.now,
    signal: ctx.signal,
  };
  const encryption = settings.encryption ? 'age' : 'none';
  const keyOf = (database: string) =>
    databaseObjectKey(settings.name, id, database, settings.compression, encryption);
  const parts: ObjectPart[] = plan.databases.map((database) => ({
    label: `database ${JSON.stringify(database)}`,
    key: keyOf(database),
    open: async (signal) => {
      const one = withDatabase(target, database);
      const dump = await planDatabaseDump(one, pgDump, plan.server, signal);
      return openDumpSource(settings, one, dump);
    },
  }));
  if (plan.globals && pgDumpall) {
    const { rolePasswords } = plan.globals;
    parts.push({
      label: 'globals',
      key: globalsObjectKey(settings.name, id, settings.compression, encryption),
      open: async () => openGlobalsSource(pgDumpall, target, { rolePasswords }),
    });
  }
  const stored = await storeAll(parts, { ...layers, jobs: selection.jobs });
  const manifest = serverManifest(settings, id, started, plan, pgDump, stored, ctx);
  await writeManifest(
    manifest,
    stored.map((result) => result.object.key),
    layers,
  );
  return describeServerBackup(manifest, (ctx.now().getTime() - started.getTime()) / 1000);
}

/** Everything asked of the server before any work: a mistake here stores nothing. */
async function planServer(
  target: DatabaseTarget,
  selection: ServerSelection,
  ctx: RunContext,
): Promise<ServerPlan> {
  return withConnection(
    target,
    async (client) => {
      const server = await serverVersion(client);
      const databases = await selectDatabases(client, selection, ctx.log);
      if (selection.globals === 'false') return { server, databases };
      const roles = await dumpedRoles(client);
      const rolePasswords = await canReadPasswords(client);
      if (!rolePasswords) refusePasswordless(selection.globals, target, ctx);
      return { server, databases, globals: { roles, rolePasswords } };
    },
    ctx.signal,
  );
}

/** Managed services let no role read pg_authid: `auto` goes on without passwords, `true` stops. */
function refusePasswordless(
  globals: ServerSelection['globals'],
  target: DatabaseTarget,
  ctx: RunContext,
): void {
  if (globals === 'true') {
    throw new InputError(
      'globals',
      `true, but role ${JSON.stringify(target.user)} cannot read pg_authid (the role passwords; managed services allow no role to); use globals: auto to back up the roles without their passwords, or false`,
    );
  }
  ctx.log.warning(
    `role ${JSON.stringify(target.user)} cannot read pg_authid: the roles are backed up without their passwords (pg_dumpall --no-role-passwords); set every role's password again after a restore`,
  );
}

function serverManifest(
  settings: BackupSettings,
  id: string,
  started: Date,
  plan: ServerPlan,
  pgDump: Program,
  stored: StoredObject[],
  ctx: RunContext,
): ServerManifest {
  const databases: DatabaseRecord[] = plan.databases.map((name, index) => {
    const { object, facts } = stored[index]!;
    return {
      name,
      object,
      ...(facts.rowCounts ? { rowCounts: facts.rowCounts } : {}),
      serverVersion: plan.server.version,
    };
  });
  const globalsObject = plan.globals ? stored[plan.databases.length]?.object : undefined;
  const rowCountsMode = stored[0]?.facts.rowCountsMode;
  const run = githubRun(ctx.env);
  return {
    version: 1,
    id,
    name: settings.name,
    createdAt: started.toISOString(),
    completedAt: ctx.now().toISOString(),
    source: { kind: 'server', serverVersion: plan.server.version },
    format: 'pg_dump-custom',
    compression: settings.compression,
    encryption: settings.encryption ? 'age' : 'none',
    databases,
    ...(plan.globals && globalsObject
      ? { globals: { object: globalsObject, ...plan.globals } }
      : {}),
    ...(rowCountsMode ? { rowCountsMode } : {}),
    tool: { ...TOOL },
    dump: { program: 'pg_dump', version: pgDump.version },
    ...(run ? { run } : {}),
  };
}

function describeServerBackup(manifest: ServerManifest, seconds: number): ModeResult {
  const size = manifestSize(manifest);
  const folder = `${manifest.name}/${manifest.id}/`;
  const rowsOf = (record: DatabaseRecord) =>
    Object.values(record.rowCounts ?? {}).reduce((sum, n) => sum + n, 0);
  const { globals } = manifest;
  const facts: [string, string][] = [
    ['Set', manifest.name],
    ['Backup id', manifest.id],
    ['Objects', folder],
    ['Databases', formatCount(manifest.databases.length)],
    [
      'Globals',
      globals ? `yes, ${formatCount(globals.roles.length)} role(s)` : 'no (globals: false)',
    ],
    ...(globals
      ? [
          [
            'Role passwords',
            globals.rolePasswords ? 'yes' : 'no: set them again after a restore',
          ] as [string, string],
        ]
      : []),
    ['Size', `${formatBytes(size)} (${formatCount(size)} bytes)`],
    ['Compression', manifest.compression],
    ['Encryption', manifest.encryption],
    ['Duration', formatSeconds(seconds)],
    [
      'Server',
      `PostgreSQL ${manifest.source.serverVersion ?? '?'}, pg_dump ${manifest.dump?.version ?? '?'}`,
    ],
  ];
  return {
    headline: `Backed up ${manifest.name}/${manifest.id}: ${manifest.databases.length} database(s)${globals ? ' and the globals' : ''}, ${formatBytes(size)} in ${formatSeconds(seconds)}`,
    outputs: {
      'backup-id': manifest.id,
      'backup-key': folder,
      'manifest-key': manifestKey(manifest.name, manifest.id),
      'size-bytes': size,
      sha256: '',
      'duration-seconds': Number(seconds.toFixed(3)),
    },
    facts,
    tables: [
      {
        title: 'Databases',
        header: ['Database', 'Object', 'Size', 'Tables', 'Rows'],
        rows: manifest.databases.map((record) => [
          record.name,
          record.object.key,
          formatBytes(record.object.size),
          record.rowCounts ? formatCount(Object.keys(record.rowCounts).length) : '-',
          record.rowCounts ? formatCount(rowsOf(record)) : '-',
        ]),
      },
    ],
    details: { manifest, durationSeconds: seconds },
  };
}
