/** What the kinds whose backup is one object (a database, a directory tree) report alike. */
import { formatCount } from '../core/format.js';
import type { ObjectRecord } from '../core/manifest.js';
import type { ArchiveContents } from '../verify/archive-check.js';
import type { PartsRead } from '../verify/parts-check.js';
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

/** verify-latest: the one object's checksum, and what its archive held. */
export function objectCheck(object: ObjectRecord, read: PartsRead<ArchiveContents>): DeepCheck {
  const contents = read.found.get(object.key);
  const tables =
    contents?.tablesWithData === undefined ? '' : `, ${contents.tablesWithData} with table data`;
  const entries = contents && `${formatCount(contents.entries)} entries${tables}`;
  return {
    damaged: [...read.damaged.values()],
    checked: new Map([[object.key, entries ? `sha256, archive: ${entries}` : 'DAMAGED']]),
    facts: [
      ['sha256', `${object.sha256} (matches every stored byte)`],
      ['Archive', `readable: ${entries}`],
    ],
    contents,
  };
}
