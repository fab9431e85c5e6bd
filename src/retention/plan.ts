/**
 * Which keys a prune deletes, from one listing and the policy's decisions. Pure. Only keys that
 * the listing classified as this set's layout can appear here, so nothing foreign is ever touched,
 * and only complete backups can be deleted by the policy: an unusable one is nobody's to judge.
 */
import { keysBesideManifest, type RecordEntry, type SetEntry } from '../storage/catalog.js';
import { idTime } from '../core/ids.js';
import { classifyKey } from '../core/layout.js';
import type { IncompleteUpload } from '../storage/index.js';
import type { Decision } from './policy.js';

export interface PrunePlan {
  kept: Decision[];
  deleted: Decision[];
  /** Manifests of deleted backups: removed first, so no reader sees a manifest without its object. */
  manifestKeys: string[];
  /** Data objects of deleted backups, removed once their manifests are gone. */
  objectKeys: string[];
  /** Objects with no manifest, last written before the grace: leftovers of failed runs. */
  orphanKeys: string[];
  /** History records of runs before the oldest backup kept: the history goes with its backups. */
  recordKeys: string[];
}

export interface PruneSet {
  /** Complete backups, newest first: the only ones a policy may delete. */
  complete: readonly SetEntry[];
  /** Objects with no manifest, newest first. */
  leftovers: readonly SetEntry[];
  /** History records, newest first. */
  records: readonly RecordEntry[];
}

export function planPrune(
  set: PruneSet,
  decisions: readonly Decision[],
  now: Date,
  orphanGraceMs: number,
): PrunePlan {
  const newest = set.complete[0]?.id;
  const deleted = decisions.filter((decision) => !decision.keep);
  if (deleted.some((decision) => decision.id === newest)) {
    throw new Error('refusing to delete the newest backup');
  }
  const doomed = new Set(deleted.map((decision) => decision.id));
  const entries = set.complete.filter((entry) => doomed.has(entry.id));
  if (entries.length !== doomed.size) {
    throw new Error('refusing to delete a backup that is not a complete backup of this set');
  }
  const cutoff = now.getTime() - orphanGraceMs;
  const orphans = set.leftovers.filter((entry) => lastWritten(entry) < cutoff);
  const kept = decisions.filter((decision) => decision.keep);
  // Kept ones always include the newest backup, so a record being written now is never older;
  // with no backup kept (none complete), no record is older than one.
  const oldestKept = kept.length
    ? Math.min(...kept.map((decision) => decision.createdAt.getTime()))
    : -Infinity;
  const records = set.records.filter(
    (record) => (idTime(record.id)?.getTime() ?? Infinity) < oldestKept,
  );
  return {
    kept,
    deleted,
    manifestKeys: entries.flatMap((entry) => (entry.manifest ? [entry.manifest.key] : [])),
    objectKeys: entries.flatMap((entry) => keysBesideManifest(entry).map((object) => object.key)),
    orphanKeys: orphans.flatMap((entry) => keysBesideManifest(entry).map((object) => object.key)),
    recordKeys: records.map((record) => record.key),
  };
}

/**
 * When the store last wrote any of a leftover's objects. Not its id's time: a backup that runs
 * longer than the grace is still writing, and an id is only a name anyone can choose. An object
 * the store gives no time for keeps the leftover (it is never known to be stale).
 */
function lastWritten(entry: SetEntry): number {
  const times = keysBesideManifest(entry).map((object) => object.modified?.getTime() ?? Infinity);
  return Math.max(-Infinity, ...times);
}

/**
 * Incomplete uploads to abort: only those of this set's layout (another tool's upload under the
 * same prefix is not ours), started before the grace, so a backup running right now is safe.
 */
export function staleUploads(
  uploads: readonly IncompleteUpload[],
  name: string,
  now: Date,
  orphanGraceMs: number,
): IncompleteUpload[] {
  const cutoff = now.getTime() - orphanGraceMs;
  return uploads.filter(
    (upload) => classifyKey(name, upload.key) && upload.initiated.getTime() < cutoff,
  );
}
