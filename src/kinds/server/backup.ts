/**
 * backup of a server (`databases`): every chosen database dumped to its own object, the globals
 * (roles, memberships, tablespaces) to another, and one manifest listing them, last. Each
 * database is consistent in itself, not with the others, exactly as with pg_dumpall.
 */
import { quotedName } from '../../core/database-names.js';
import { InputError } from '../../core/errors.js';
import { formatBytes, formatCount } from '../../core/format.js';
import { databaseObjectKey, globalsObjectKey } from '../../core/layout.js';
import type { DatabaseRecord, ServerManifest } from '../../core/manifest.js';
import {
  encryptionOf,
  type DatabaseTarget,
  type ServerBackupSettings,
  type ServerSelection,
} from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import type { KindFields } from '../../pipeline/publish.js';
import type { ObjectPart, StoredParts } from '../../pipeline/store-all.js';
import { withDatabase } from '../../postgres/database-url.js';
import { openGlobalsSource } from '../../postgres/globals.js';
import { canReadPasswords, dumpedRoles, selectDatabases } from '../../postgres/server-databases.js';
import { serverVersion, withConnection, type ServerVersion } from '../../postgres/server.js';
import type { Program } from '../../process/programs.js';
import { dumpPart, dumpProgram, serverFact } from '../database/dump.js';
import type { BackupPlan, BackupRows, Fact } from '../kind.js';

/** What the globals are dumped with, and what the manifest says of them. */
interface GlobalsPlan {
  roles: string[];
  rolePasswords: boolean;
}

interface ServerPlan {
  server: ServerVersion;
  databases: string[];
  /** Undefined with `globals: false`. */
  globals?: GlobalsPlan;
}

/** A database's object, or the globals'. */
type ServerPart = ObjectPart & ({ database: string } | { globals: GlobalsPlan });

export async function planServerBackup(
  settings: ServerBackupSettings,
  ctx: RunContext,
  id: string,
): Promise<BackupPlan<ServerManifest, ServerPart[]>> {
  const { database: target, server: selection } = settings;
  const plan = await askServer(target, selection, ctx);
  const pgDump = await dumpProgram('pg_dump', plan.server, settings.client, ctx);
  const globals = plan.globals && {
    ...plan.globals,
    pgDumpall: await dumpProgram('pg_dumpall', plan.server, settings.client, ctx),
  };
  const dumpall = globals
    ? `pg_dumpall ${globals.pgDumpall.version} (${globals.pgDumpall.path}), `
    : '';
  ctx.log.info(
    `pg_dump ${pgDump.version} (${pgDump.path}), ${dumpall}server PostgreSQL ${plan.server.version}`,
  );
  const layers = [settings.compression, encryptionOf(settings.encryptionKeys)] as const;
  const parts: ServerPart[] = plan.databases.map((database) => ({
    ...dumpPart(
      settings,
      withDatabase(target, database),
      pgDump,
      databaseObjectKey(settings.name, id, database, ...layers),
    ),
    label: `database ${quotedName(database)}`,
    database,
  }));
  if (globals) {
    const { roles, rolePasswords, pgDumpall } = globals;
    parts.push({
      label: 'globals',
      key: globalsObjectKey(settings.name, id, ...layers),
      open: async () => openGlobalsSource(pgDumpall, target, { rolePasswords }),
      globals: { roles, rolePasswords },
    });
  }
  return {
    what: `${plan.databases.length} database(s) of ${target.display}${globals ? ' and the globals' : ''}`,
    parts,
    jobs: selection.jobs,
    fields: (stored) => serverFields(plan.server, pgDump, stored),
  };
}

/** Everything asked of the server before any work: a mistake here stores nothing. */
async function askServer(
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

function serverFields(
  server: ServerVersion,
  pgDump: Program,
  stored: StoredParts<ServerPart[]>,
): KindFields<ServerManifest> {
  const databases: DatabaseRecord[] = stored.flatMap((one) =>
    'database' in one
      ? [
          {
            name: one.database,
            object: one.object,
            ...(one.facts.rowCounts ? { rowCounts: one.facts.rowCounts } : {}),
            serverVersion: server.version,
          },
        ]
      : [],
  );
  const globals = stored.flatMap((one) =>
    'globals' in one ? [{ object: one.object, ...one.globals }] : [],
  )[0];
  const rowCountsMode = stored[0]?.facts.rowCountsMode;
  return {
    source: { kind: 'server', serverVersion: server.version },
    format: 'pg_dump-custom',
    databases,
    ...(globals ? { globals } : {}),
    ...(rowCountsMode ? { rowCountsMode } : {}),
    dump: { program: 'pg_dump', version: pgDump.version },
  };
}

export function serverBackupRows(manifest: ServerManifest): BackupRows {
  const folder = `${manifest.name}/${manifest.id}/`;
  const rowsOf = (record: DatabaseRecord) =>
    Object.values(record.rowCounts ?? {}).reduce((sum, n) => sum + n, 0);
  const { globals } = manifest;
  const passwords: Fact[] = globals
    ? [['Role passwords', globals.rolePasswords ? 'yes' : 'no: set them again after a restore']]
    : [];
  return {
    key: folder,
    where: [
      ['Objects', folder],
      ['Databases', formatCount(manifest.databases.length)],
      [
        'Globals',
        globals ? `yes, ${formatCount(globals.roles.length)} role(s)` : 'no (globals: false)',
      ],
      ...passwords,
    ],
    facts: [serverFact(manifest)],
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
  };
}
