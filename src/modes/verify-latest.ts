/**
 * The `verify-latest` mode: is the newest backup fresh and intact? One listing finds it (ids sort
 * by time), its manifest is read, the rules are checked against the listing's sizes, and with
 * `deep` every stored byte is hashed, decrypted, decompressed and read by the archive's own tool.
 * The newest thing in the set must be a complete backup: anything newer that is not (a corrupt
 * or torn manifest, a backup dated ahead of the clock) fails the run by name, as it hides what
 * the last run really left.
 */
import { manifestSize, type AnyManifest } from '../core/manifest.js';
import {
  listedSize,
  listSet,
  newestComplete,
  unusableText,
  type SetEntry,
  type SetListing,
  type UnusableBackup,
} from '../storage/catalog.js';
import { formatDuration } from '../core/duration.js';
import { formatBytes, formatCount } from '../core/format.js';
import { idTime } from '../core/ids.js';
import type { VerifySettings } from '../core/settings.js';
import { kindOf } from '../kinds/index.js';
import type { DeepCheck } from '../kinds/kind.js';
import { reporting, verifyReport } from '../kinds/report.js';
import { brokenRules, sizeChange } from '../verify/rules.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';

const TREND_ROWS = 7;

export async function verifyLatest(settings: VerifySettings, ctx: RunContext): Promise<ModeResult> {
  const { manifest, previous, ageMs, trend } = await findNewest(settings, ctx);
  const kind = kindOf(manifest);
  const sameKind = previous && kindOf(previous) === kind ? previous : undefined;
  const problems = [
    ...brokenRules(
      { ageMs, size: manifestSize(manifest), previousSize: previous && manifestSize(previous) },
      settings,
    ),
    ...kind.verify.rules(manifest, sameKind, settings, ctx.log),
  ];
  const report = (checked?: DeepCheck): ModeResult =>
    verifyReport({
      manifest,
      holds: kind.holds(manifest),
      ageMs,
      trend,
      deep: settings.deep,
      rows: kind.verify.rows(manifest, settings.deep, checked),
      found: checked,
    });
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), report());
  if (!settings.deep) return report();
  const checked = await reporting(() => kind.verify.deep(manifest, settings, ctx), report);
  if (checked.damaged.length > 0) {
    throw new ModeFailure(checked.damaged.join('; '), report(checked));
  }
  return report(checked);
}

interface Newest {
  manifest: AnyManifest;
  /** The complete backup before it, which its size is compared with. */
  previous?: AnyManifest;
  ageMs: number;
  trend: Table;
}

/**
 * The newest complete backup, which must be the newest thing in the set: anything newer that is
 * not complete fails the run by name.
 */
async function findNewest(settings: VerifySettings, ctx: RunContext): Promise<Newest> {
  const now = ctx.now();
  const listing = await listSet(ctx.store, settings.name);
  reportLeftovers(listing, ctx);
  if (listing.backups.length === 0) {
    throw new ModeFailure(`no backup of set "${settings.name}" in ${ctx.store.description}`, {});
  }
  const found = await newestComplete(ctx.store, settings.name, listing.backups, now);
  if (found.newer.length > 0 || !found.newest) {
    const none = found.newest ? '' : `; no complete backup of set "${settings.name}"`;
    const trend = trendTable(listing.backups, now, found.newer);
    throw new ModeFailure(`${unusableText(found.newer)}${none}`, { tables: [trend] });
  }
  const { entry: newest, manifest } = found.newest;
  const older = listing.backups.slice(listing.backups.indexOf(newest) + 1);
  const previous = (await newestComplete(ctx.store, settings.name, older, now)).newest;
  const recorded = [found.newest, previous].flatMap((item) =>
    item ? [[item.entry.id, manifestSize(item.manifest)] as const] : [],
  );
  return {
    manifest,
    previous: previous?.manifest,
    // Never negative: a complete backup is dated at most the clock tolerance ahead.
    ageMs: Math.max(0, now.getTime() - Date.parse(manifest.createdAt)),
    trend: trendTable(listing.backups, now, found.newer, new Map(recorded)),
  };
}

function reportLeftovers(listing: SetListing, ctx: RunContext): void {
  if (listing.leftovers.length === 0) return;
  const keys = listing.leftovers.flatMap((entry) => entry.objects.map((object) => object.key));
  ctx.log.warning(
    `${keys.length} object(s) have no manifest (failed or running backups; retention-prune removes them after orphan-grace): ${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''}`,
  );
}

/** The newest entries as listed; those found unusable say so instead of an age. */
function trendTable(
  backups: SetEntry[],
  now: Date,
  unusable: readonly UnusableBackup[],
  recorded: ReadonlyMap<string, number> = new Map(),
): Table {
  const dataSize = (entry: SetEntry) => recorded.get(entry.id) ?? listedSize(entry);
  const shown = backups.slice(0, TREND_ROWS);
  const rows = shown.map((entry, index) => {
    const size = dataSize(entry);
    const previous = shown[index + 1] ?? backups[index + 1];
    const time = idTime(entry.id);
    const age = unusable.some((item) => item.entry === entry)
      ? 'unusable'
      : time && time <= now
        ? formatDuration(now.getTime() - time.getTime())
        : '?';
    return [
      entry.id,
      age,
      size === undefined ? 'missing' : formatBytes(size),
      size === undefined || !previous ? '' : sizeChange(size, dataSize(previous)),
    ];
  });
  return {
    title: `Newest backups (${formatCount(backups.length)} in all)`,
    header: ['id', 'age', 'size', 'change'],
    rows,
  };
}
