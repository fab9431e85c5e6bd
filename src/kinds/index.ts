/**
 * Every source kind, registered once. The registry is keyed by the kind's name, so a kind left
 * out does not compile; a manifest picks its kind here and nowhere else.
 */
import type {
  AnyManifest,
  DatabaseManifest,
  FilesManifest,
  ServerManifest,
  SourceOfManifest,
} from '../core/manifest.js';
import type {
  BackupSettings,
  DatabaseBackupSettings,
  FilesBackupSettings,
  KindName,
  ServerBackupSettings,
} from '../core/settings.js';
import { databaseKind } from './database/index.js';
import { filesKind } from './files/index.js';
import type { SourceKind } from './kind.js';
import { serverKind } from './server/index.js';

interface KindTypes {
  database: SourceKind<DatabaseManifest, DatabaseBackupSettings>;
  server: SourceKind<ServerManifest, ServerBackupSettings>;
  files: SourceKind<FilesManifest, FilesBackupSettings>;
}

const KINDS: { [K in KindName]: KindTypes[K] } = {
  database: databaseKind,
  server: serverKind,
  files: filesKind,
};

/** The kind each manifest's `source.kind` was written by. */
const KIND_OF_SOURCE: Record<SourceOfManifest, KindName> = {
  postgres: 'database',
  server: 'server',
  files: 'files',
};

/**
 * A kind as the modes see it. TypeScript cannot pair a union member with its own entry (it lets
 * the methods through, their parameters checked both ways): these two functions are what pair
 * them, and the only code that picks a kind.
 */
export type AnyKind = SourceKind<AnyManifest, BackupSettings>;

/** The kind a parsed manifest was written by. */
export function kindOf(manifest: AnyManifest): AnyKind {
  return KINDS[KIND_OF_SOURCE[manifest.source.kind]];
}

/** The kind of the source the backup settings name. */
export function kindFor(settings: BackupSettings): AnyKind {
  return KINDS[settings.kind];
}
