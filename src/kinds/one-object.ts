/** What the kinds whose backup is one object (a database, a directory tree) report alike. */
import type { Readable } from 'node:stream';
import { formatCount } from '../core/format.js';
import type { Manifest, ObjectRecord } from '../core/manifest.js';
import type { VerifySettings } from '../core/settings.js';
import type { RunContext } from '../core/types.js';
import type { ArchiveContents } from '../verify/archive-check.js';
import { readParts } from '../verify/parts-check.js';
import type { BackupRows, DeepCheck, Fact } from './kind.js';

/** backup: the object is the backup's key and checksum. */
export function objectRows(object: ObjectRecord, facts: Fact[] = []): BackupRows {
  return {
    key: object.key,
    sha256: object.sha256,
    where: [['Object', object.key]],
    facts: [['sha256', object.sha256], ...facts],
    tables: [],
  };
}

/** verify-latest: the one object read as stored by `read`, its checksum and what it held. */
export async function checkObject(
  manifest: Manifest,
  settings: VerifySettings,
  ctx: RunContext,
  read: (archive: Readable) => Promise<ArchiveContents>,
): Promise<DeepCheck> {
  const { object } = manifest;
  const reader = { store: ctx.store, decryption: settings.decryption, signal: ctx.signal };
  const found = await readParts([{ object, read }], manifest, reader);
  const contents = found.found.get(object.key);
  const tables =
    contents?.tablesWithData === undefined ? '' : `, ${contents.tablesWithData} with table data`;
  const entries = contents && `${formatCount(contents.entries)} entries${tables}`;
  return {
    damaged: [...found.damaged.values()],
    checked: new Map([[object.key, entries ? `sha256, archive: ${entries}` : 'DAMAGED']]),
    facts: [
      ['sha256', `${object.sha256} (matches every stored byte)`],
      ['Archive', `readable: ${entries}`],
    ],
    contents,
  };
}
