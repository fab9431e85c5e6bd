/**
 * Backups copied to several stores, one store after another, each tried again on its own when it
 * failed for a reason that passes: a copy is idempotent (what is there is left as it is), so
 * trying again costs only what is missing.
 */
import { storeLabel } from '../core/locations.js';
import { retrying, type FailedAttempt } from '../core/retry.js';
import type { CopyCheck, RetrySettings, StoreSettings } from '../core/settings.js';
import { openOther, type RunContext } from '../core/types.js';
import type { CompleteBackup } from '../storage/catalog.js';
import type { Store } from '../storage/index.js';
import { copyToStore, type StoreCopy } from './to-store.js';

export type { BackupCopy, StoreCopy } from './to-store.js';

export interface Destination {
  label: string;
  store: Store;
}

/** Opens every destination before anything is copied: one that cannot be opened stops the run. */
export async function openDestinations(
  ctx: RunContext,
  stores: readonly StoreSettings[],
): Promise<Destination[]> {
  return Promise.all(
    stores.map(async (store) => ({
      label: storeLabel(store.location),
      store: await openOther(ctx, store),
    })),
  );
}

export interface CopiesOptions {
  name: string;
  check: CopyCheck;
  retry: RetrySettings;
}

/** One store's copy, with the attempts it took. */
export interface StoreCopied extends StoreCopy {
  attempts: number;
}

class StoreCopyFailed extends Error {
  constructor(readonly copy: StoreCopy) {
    super(failureLine(copy), { cause: copy.cause });
  }
}

/** `backups` (the source's, newest first) to each destination in turn. */
export async function copyToStores(
  backups: readonly CompleteBackup[],
  destinations: readonly Destination[],
  options: CopiesOptions,
  ctx: RunContext,
): Promise<StoreCopied[]> {
  const copies: StoreCopied[] = [];
  for (const { label, store } of destinations) {
    const failed: FailedAttempt[] = [];
    const attempt = async () => {
      const copy = await copyToStore(backups, {
        ...ctx,
        source: ctx.store,
        destination: store,
        store: label,
        name: options.name,
        check: options.check,
      });
      if (failureLine(copy)) throw new StoreCopyFailed(copy);
      return copy;
    };
    try {
      const copy = await retrying(`copy to ${label}`, attempt, options.retry, ctx, failed);
      copies.push({ ...copy, attempts: failed.length + 1 });
    } catch (error) {
      if (!(error instanceof StoreCopyFailed)) throw error;
      copies.push({ ...error.copy, attempts: failed.length });
    }
  }
  return copies;
}

/** The line of each store whose copy failed, and the first failure's cause, for the run's error. */
export function copyFailures(copies: readonly StoreCopy[]): { lines: string[]; cause?: unknown } {
  const lines = copies.map(failureLine).filter((line) => line !== '');
  return { lines, cause: copies.find((copy) => copy.cause !== undefined)?.cause };
}

/** What failed in one store's copy, in one line; empty when nothing did. */
function failureLine(copy: StoreCopy): string {
  if (copy.error) return `${copy.store}: ${copy.error}`;
  const failed = copy.backups.filter((backup) => backup.result === 'failed');
  if (failed.length === 0) return '';
  const first = failed[0]!;
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
  return `${copy.store}: ${first.id} was not copied: ${first.detail ?? 'failed'}${more}`;
}
