/**
 * Backups copied to one destination: its listing first (a store that cannot be listed fails at
 * once, before anything is read), then each backup, newest first, left as it is when already
 * there complete and equal, copied otherwise. One backup that fails does not stop the others.
 * Nothing is ever deleted at the destination: what a failed copy left there is no backup (it has
 * no manifest), and the next copy completes it; retention-prune runs per store.
 */
import { CancelledError, errorMessage } from '../core/errors.js';
import { formatBytes, formatSeconds } from '../core/format.js';
import { lagMs } from '../core/lag.js';
import { manifestSize } from '../core/manifest.js';
import type { CopyCheck } from '../core/settings.js';
import type { Logger } from '../core/types.js';
import { listSet, type CompleteBackup, type SetEntry } from '../storage/catalog.js';
import { copyBackup, type CopyContext } from './backup.js';
import { compareBytes } from './check.js';
import { compareListed, type Verdict } from './compare.js';

export type CopyResult = 'copied' | 'already there' | 'failed';

export interface BackupCopy {
  id: string;
  result: CopyResult;
  /** Why it was copied (what was there instead), or why it failed. */
  detail?: string;
}

export interface StoreCopy {
  /** The destination, as its label (`s3://bucket/prefix` or the folder). */
  store: string;
  backups: BackupCopy[];
  /** Why the destination could not be copied to at all (it could not be listed). */
  error?: string;
  /** The first failure's error as thrown, for the run to judge whether trying again may help. */
  cause?: unknown;
  /** How far it is behind the source once done (core/lag.ts). */
  lagMs: number;
}

export interface StoreCopyOptions extends CopyContext {
  store: string;
  check: CopyCheck;
  log: Logger;
}

/** `backups` are the source's, newest first. */
export async function copyToStore(
  backups: readonly CompleteBackup[],
  options: StoreCopyOptions,
): Promise<StoreCopy> {
  const { store, log } = options;
  const result: StoreCopy = { store, backups: [], lagMs: 0 };
  let there: Map<string, SetEntry>;
  try {
    const listing = await listSet(options.destination, options.name);
    there = new Map(listing.backups.concat(listing.leftovers).map((entry) => [entry.id, entry]));
  } catch (error) {
    if (options.signal.aborted) throw new CancelledError();
    log.warning(`${store}: cannot be listed (${errorMessage(error)})`);
    const failed = { ...result, error: `cannot be listed: ${errorMessage(error)}`, cause: error };
    return { ...failed, lagMs: lagOf(backups, failed, options.now()) };
  }
  for (const backup of backups) {
    const copy = await copyOne(backup, there.get(backup.entry.id), options);
    result.cause ??= copy.cause;
    result.backups.push(copy.record);
  }
  return { ...result, lagMs: lagOf(backups, result, options.now()) };
}

async function copyOne(
  { entry, manifest }: CompleteBackup,
  there: SetEntry | undefined,
  options: StoreCopyOptions,
): Promise<{ record: BackupCopy; cause?: unknown }> {
  const { store, log } = options;
  const id = entry.id;
  try {
    const verdict = await verdictOf(entry, manifest, there, options);
    if (verdict.equal) {
      log.info(`${store}: ${id} is there, complete and equal`);
      return { record: { id, result: 'already there' } };
    }
    log.info(`${store}: copying ${id} (${formatBytes(manifestSize(manifest))}; ${verdict.reason})`);
    const started = options.now().getTime();
    await copyBackup(entry, options);
    const seconds = (options.now().getTime() - started) / 1000;
    log.info(`${store}: ${id} copied in ${formatSeconds(seconds)}`);
    return { record: { id, result: 'copied', detail: verdict.reason } };
  } catch (error) {
    if (options.signal.aborted || error instanceof CancelledError) throw new CancelledError();
    log.warning(`${store}: ${id} was not copied: ${errorMessage(error)}`);
    return { record: { id, result: 'failed', detail: errorMessage(error) }, cause: error };
  }
}

async function verdictOf(
  entry: SetEntry,
  manifest: CompleteBackup['manifest'],
  there: SetEntry | undefined,
  options: StoreCopyOptions,
): Promise<Verdict> {
  const listed = compareListed(entry, manifest, there);
  if (!listed.equal || options.check === 'listing') return listed;
  return compareBytes(entry.id, manifest, options);
}

function lagOf(backups: readonly CompleteBackup[], result: StoreCopy, now: Date): number {
  const held = new Set(result.backups.filter((b) => b.result !== 'failed').map((b) => b.id));
  const ids = backups.map(({ entry, manifest }) => ({
    id: entry.id,
    createdAt: manifest.createdAt,
  }));
  return lagMs(ids, (id) => held.has(id), now);
}
