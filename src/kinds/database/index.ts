/**
 * One PostgreSQL database (`source: postgres`): one pg_dump custom archive, with every table's
 * row count taken in the dump's own snapshot.
 */
import { printableName } from '../../core/database-names.js';
import { formatCount } from '../../core/format.js';
import { objectExtension, objectKey } from '../../core/layout.js';
import type { DatabaseManifest } from '../../core/manifest.js';
import {
  encryptionOf,
  POSTGRES_TEST_INPUTS,
  type DatabaseBackupSettings,
} from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import type { ObjectPart } from '../../pipeline/store-all.js';
import { restoreProgram } from '../../postgres/restore.js';
import { serverVersion, withConnection } from '../../postgres/server.js';
import { listDumpArchive } from '../../verify/archive-check.js';
import type { BackupPlan, Fact, SourceKind } from '../kind.js';
import { checkObject, objectRows } from '../one-object.js';
import { postgresChecks } from './checks.js';
import { dumpPart, dumpProgram, serverFact } from './dump.js';
import { restoreDatabaseBackup } from './restore.js';
import { testDatabaseBackup } from './restore-test.js';

export const databaseKind: SourceKind<
  DatabaseManifest,
  DatabaseBackupSettings,
  'database',
  'count' | 'sql'
> = {
  holds: (manifest) =>
    `database ${manifest.source.database === undefined ? '(unnamed)' : printableName(manifest.source.database)}`,
  restoreInto: 'database',
  checks: postgresChecks,
  testInputs: POSTGRES_TEST_INPUTS,
  backup: {
    plan: planBackup,
    rows: (manifest) =>
      objectRows(manifest.object, [serverFact(manifest), ...countsFact(manifest)]),
  },
  verify: {
    rules: () => [],
    async deep(manifest, settings, ctx) {
      // Chosen before the download, so a client that cannot read the archive fails first.
      const pgRestore = await restoreProgram(manifest, settings.client, ctx);
      return checkObject(manifest, settings, ctx, (archive) => listDumpArchive(archive, pgRestore));
    },
    rows: () => ({ facts: [], tables: [] }),
  },
  restoreTest: testDatabaseBackup,
  restore: restoreDatabaseBackup,
};

async function planBackup(
  settings: DatabaseBackupSettings,
  ctx: RunContext,
  id: string,
): Promise<BackupPlan<DatabaseManifest, [ObjectPart]>> {
  const target = settings.database;
  const server = await withConnection(target, serverVersion, ctx.signal);
  const pgDump = await dumpProgram('pg_dump', server, settings.client, ctx);
  ctx.log.info(`pg_dump ${pgDump.version} (${pgDump.path}), server PostgreSQL ${server.version}`);
  const layers = objectExtension(
    'pg_dump-custom',
    settings.compression,
    encryptionOf(settings.encryptionKeys),
  );
  return {
    what: `database ${printableName(target.database)}`,
    parts: [dumpPart(settings, target, pgDump, objectKey(settings.name, id, layers))],
    jobs: 1,
    fields: ([dump]) => ({
      source: { kind: 'postgres', database: target.database, serverVersion: server.version },
      format: 'pg_dump-custom',
      object: dump.object,
      ...dump.facts,
      dump: { program: 'pg_dump', version: pgDump.version },
    }),
  };
}

function countsFact(manifest: DatabaseManifest): Fact[] {
  if (!manifest.rowCountsMode) return [];
  const counts = Object.values(manifest.rowCounts ?? {});
  const rows = counts.reduce((sum, n) => sum + n, 0);
  return [
    [
      'Tables / rows',
      `${formatCount(counts.length)} / ${formatCount(rows)} (${manifest.rowCountsMode})`,
    ],
  ];
}
