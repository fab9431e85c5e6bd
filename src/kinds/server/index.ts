/**
 * A whole PostgreSQL server, or a chosen part of it (`databases`): one pg_dump archive per
 * database and the globals (roles, memberships, tablespaces) as pg_dumpall's SQL, under
 * `<name>/<id>/`, listed by one manifest.
 */
import type { ServerManifest } from '../../core/manifest.js';
import { KIND_TEST_INPUTS, type ServerBackupSettings } from '../../core/settings.js';
import { postgresChecks } from '../database/checks.js';
import type { SourceKind } from '../kind.js';
import { planServerBackup, serverBackupRows } from './backup.js';
import { restoreServerBackup } from './restore.js';
import { testServerBackup } from './restore-test.js';
import { checkServerBackup, databaseRules, serverVerifyRows } from './verify.js';

export const serverKind: SourceKind<
  ServerManifest,
  ServerBackupSettings,
  'database',
  'count' | 'sql'
> = {
  holds: (manifest) =>
    `${manifest.databases.length} database(s)${manifest.globals ? ' and the globals' : ''}`,
  restoreInto: 'database',
  checks: postgresChecks,
  testInputs: KIND_TEST_INPUTS,
  backup: { plan: planServerBackup, rows: serverBackupRows },
  verify: { rules: databaseRules, deep: checkServerBackup, rows: serverVerifyRows },
  restoreTest: testServerBackup,
  restore: restoreServerBackup,
};
