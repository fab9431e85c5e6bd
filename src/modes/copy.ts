/**
 * The `copy` mode: complete backups from `storage` to each store of `copy-to`, byte for byte
 * (src/copy/). All complete backups, or the newest `copy-last`; a backup already at a
 * destination, complete and equal, is left as it is, and nothing is ever deleted there. The
 * source's unusable entries (corrupt, torn, dated ahead, foreign) are named and never copied.
 */
import { copyFailures, copyToStores, openDestinations, type StoreCopied } from '../copy/index.js';
import { changesTable, copiesDetails, resultCount, storesTable } from '../copy/report.js';
import { formatCount } from '../core/format.js';
import { storeLabel } from '../core/locations.js';
import type { CopySettings } from '../core/settings.js';
import { ModeFailure, type ModeResult, type RunContext } from '../core/types.js';
import {
  completeNewestFirst,
  isComplete,
  judgeAll,
  listSet,
  unusableText,
  type CompleteBackup,
  type UnusableBackup,
} from '../storage/catalog.js';
import { signatureVerdict } from '../storage/signature.js';

export async function copy(settings: CopySettings, ctx: RunContext): Promise<ModeResult> {
  const destinations = await openDestinations(ctx, settings.copyTo);
  const source = storeLabel(settings.storage);
  const listing = await listSet(ctx.store, settings.name);
  const judged = await judgeAll(ctx.store, settings.name, listing.backups, ctx.now());
  const complete = completeNewestFirst(judged.filter(isComplete));
  const unusable = judged.filter((item): item is UnusableBackup => !isComplete(item));
  if (unusable.length > 0) {
    ctx.log.warning(
      `${unusable.length} unusable entr${unusable.length > 1 ? 'ies' : 'y'} in ${source}, not copied: ${unusableText(unusable)}`,
    );
  }
  if (complete.length === 0) {
    throw new ModeFailure(`no complete backup of set "${settings.name}" in ${source} to copy`, {});
  }
  const newest = complete.slice(0, settings.last ?? complete.length);
  const { chosen, refused } = await signedOnly(newest, settings, ctx);
  ctx.log.info(
    `Copying ${formatCount(chosen.length)} backup(s) of ${settings.name} from ${source} to ${destinations.map((d) => d.label).join(', ')}`,
  );
  const copies = await copyToStores(
    chosen,
    destinations,
    { name: settings.name, check: settings.copyCheck, retry: settings.retry },
    ctx,
  );
  const chose = settings.last === undefined ? 'all' : `the newest ${settings.last}`;
  const result = copyReport(settings.name, source, copies, {
    backups: `${formatCount(chosen.length)} of ${formatCount(complete.length)} complete (${chose})`,
    unusable: unusable.map((item) => item.problem),
  });
  const failures = copyFailures(copies);
  const lines = [...refused, ...failures.lines];
  if (lines.length > 0) {
    throw new ModeFailure(lines.join('; '), result, failures.cause, true);
  }
  return result;
}

/**
 * With signing-public-key, the backups whose signature holds; the others are not copied (a forged
 * backup must not spread to every copy) and fail the run by name once the rest are copied.
 */
async function signedOnly(
  backups: readonly CompleteBackup[],
  settings: CopySettings,
  ctx: RunContext,
): Promise<{ chosen: CompleteBackup[]; refused: string[] }> {
  const chosen: CompleteBackup[] = [];
  const refused: string[] = [];
  for (const backup of backups) {
    const verdict = await signatureVerdict(ctx.store, backup.manifest, settings.signingPublicKeys);
    if (verdict.refused === undefined) {
      chosen.push(backup);
      continue;
    }
    ctx.log.warning(`${verdict.refused}; not copied`);
    refused.push(`${verdict.refused}; not copied`);
  }
  return { chosen, refused };
}

function copyReport(
  name: string,
  source: string,
  copies: readonly StoreCopied[],
  about: { backups: string; unusable: string[] },
): ModeResult {
  const copied = resultCount(copies, 'copied');
  const there = resultCount(copies, 'already there');
  const changes = changesTable(copies);
  return {
    headline: `Copied ${name} to ${formatCount(copies.length)} store(s): ${formatCount(copied)} backup copies made, ${formatCount(there)} already there`,
    outputs: { copied },
    facts: [
      ['Set', name],
      ['Source', source],
      ['Backups', about.backups],
      ...(about.unusable.length > 0
        ? [['Not copied (unusable)', formatCount(about.unusable.length)] as [string, string]]
        : []),
    ],
    tables: [storesTable(copies), ...(changes.rows.length > 0 ? [changes] : [])],
    details: { source, stores: copiesDetails(copies), unusable: about.unusable },
  };
}
