/**
 * Every source kind, registered once. The registry is keyed by the kind's name, so a kind left
 * out does not compile; a manifest picks its kind here and nowhere else.
 */
import type { AnyManifest, SourceOfManifest } from '../core/manifest.js';
import type { BackupSettings, KindName } from '../core/settings.js';
import { databaseKind } from './database/index.js';
import { filesKind } from './files/index.js';
import type { SourceKind } from './kind.js';
import { redisKind } from './redis/index.js';
import { serverKind } from './server/index.js';

const KINDS = {
  database: databaseKind,
  server: serverKind,
  files: filesKind,
  redis: redisKind,
} satisfies { [K in KindName]: SourceKind<AnyManifest, Extract<BackupSettings, { kind: K }>> };

/** The kind each manifest's `source.kind` was written by. */
const KIND_OF_SOURCE: Record<SourceOfManifest, KindName> = {
  postgres: 'database',
  server: 'server',
  files: 'files',
  redis: 'redis',
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
