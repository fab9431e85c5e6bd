/**
 * The `verify-latest` mode: is the newest backup fresh and intact? One listing finds it (ids sort
 * by time), its manifest is read, the rules are checked against the listing's sizes, and with
 * `deep` every stored byte is hashed, decrypted, decompressed and read by the archive's own tool.
 * The newest thing in the set must be a complete backup: anything newer that is not (a corrupt
 * or torn manifest, a backup dated ahead of the clock) fails the run by name, as it hides what
 * the last run really left.
 */
import { isServerManifest, manifestSize } from '../core/manifest.js';
import {
  listSet,
  newestComplete,
  unusableText,
  type SetEntry,
  type SetListing,
  type UnusableBackup,
} from '../storage/catalog.js';
import { errorMessage } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { formatBytes, formatCount } from '../core/format.js';
import { idTime } from '../core/ids.js';
import type { AnyManifest, Manifest } from '../core/manifest.js';
import { readArchive } from '../pipeline/read.js';
import { restoreProgram } from '../postgres/restore.js';
import type { VerifySettings } from '../core/settings.js';
import { filesMismatch } from '../files/digest.js';
import { checkArchive, type ArchiveContents } from '../verify/archive-check.js';
import { brokenRules, sizeChange } from '../verify/rules.js';
import { databaseRules, verifyServer } from './verify-server.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';

const TREND_ROWS = 7;

export async function verifyLatest(settings: VerifySettings, ctx: RunContext): Promise<ModeResult> {
  const now = ctx.now();
  const listing = await listSet(ctx.store, settings.name);
  reportLeftovers(listing, ctx);
  if (listing.backups.length === 0) {
    throw new ModeFailure(`no backup of set "${settings.name}" in ${ctx.store.description}`, {});
  }
  const found = await newestComplete(ctx.store, settings.name, listing.backups, now);
  const trend = trendTable(listing.backups, now, found.newer);
  if (found.newer.length > 0 || !found.newest) {
    const none = found.newest ? '' : `; no complete backup of set "${settings.name}"`;
    throw new ModeFailure(`${unusableText(found.newer)}${none}`, { tables: [trend] });
  }
  const { entry: newest, manifest } = found.newest;
  const older = listing.backups.slice(listing.backups.indexOf(newest) + 1);
  const previous = (await newestComplete(ctx.store, settings.name, older, now)).newest;
  // Never negative: a complete backup is dated at most the clock tolerance ahead.
  const ageMs = Math.max(0, now.getTime() - Date.parse(manifest.createdAt));
  const problems = brokenRules(
    {
      ageMs,
      size: manifestSize(manifest),
      previousSize: previous && manifestSize(previous.manifest),
    },
    settings,
  );
  const recorded = [found.newest, previous].flatMap((item) =>
    item ? [[item.entry.id, manifestSize(item.manifest)] as const] : [],
  );
  const sized = trendTable(listing.backups, now, found.newer, new Map(recorded));
  const partial = describe(manifest, ageMs, sized);
  if (isServerManifest(manifest)) {
    problems.push(...databaseRules(manifest, previous?.manifest, settings.maxShrink, ctx));
    return verifyServer(settings, ctx, { manifest, ageMs, partial, problems });
  }
  if (problems.length > 0) throw new ModeFailure(problems.join('; '), partial);
  const contents = settings.deep ? await deepRead(settings, ctx, manifest, partial) : undefined;
  const mismatch =
    contents?.files && manifest.files && filesMismatch(manifest.files, contents.files);
  if (mismatch) throw new ModeFailure(mismatch, partial);
  return finish(manifest, ageMs, partial, contents);
}

/** Downloads, hashes, decrypts, decompresses and lists the archive; fails with the first cause. */
async function deepRead(
  settings: VerifySettings,
  ctx: RunContext,
  manifest: Manifest,
  partial: Partial<ModeResult>,
): Promise<ArchiveContents> {
  try {
    // Chosen before the download, so a client that cannot read the archive fails first.
    const pgRestore =
      manifest.format === 'tar' ? undefined : await restoreProgram(manifest, settings.client, ctx);
    return await readArchive(
      ctx.store,
      manifest,
      settings.decryption,
      (archive) => checkArchive(archive, manifest.format, pgRestore),
      ctx.signal,
    );
  } catch (error) {
    throw new ModeFailure(errorMessage(error), partial);
  }
}

/**
 * An entry's size as listed: its data object's, or the sum of a server backup's objects (those
 * in its folder), which for a complete backup is what its manifest records.
 */
function listedSize(entry: SetEntry): number | undefined {
  const inFolder = entry.objects.filter((object) => object.key.includes(`/${entry.id}/`));
  if (inFolder.length === 0) return entry.objects[0]?.size;
  return inFolder.reduce((sum, object) => sum + object.size, 0);
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

function describe(manifest: AnyManifest, ageMs: number, trend: Table): Partial<ModeResult> {
  const size = manifestSize(manifest);
  return {
    facts: [
      ['Set', manifest.name],
      ['Newest backup', manifest.id],
      ['Age', formatDuration(ageMs)],
      ['Size', `${formatBytes(size)} (${formatCount(size)} bytes)`],
      ['Format', `${manifest.format}, ${manifest.compression}, encryption ${manifest.encryption}`],
    ],
    tables: [trend],
    outputs: {
      'latest-id': manifest.id,
      'age-seconds': Math.round(ageMs / 1000),
      'size-bytes': size,
    },
  };
}

function finish(
  manifest: Manifest,
  ageMs: number,
  partial: Partial<ModeResult>,
  contents: ArchiveContents | undefined,
): ModeResult {
  const facts = [...(partial.facts ?? [])];
  if (contents) {
    facts.push(['sha256', `${manifest.object.sha256} (matches every stored byte)`]);
    const tables =
      contents.tablesWithData === undefined ? '' : `, ${contents.tablesWithData} with table data`;
    facts.push(['Archive', `readable: ${formatCount(contents.entries)} entries${tables}`]);
  } else {
    facts.push(['Deep check', 'skipped (deep: false)']);
  }
  return {
    headline: `Newest backup ${manifest.name}/${manifest.id} is ${formatDuration(ageMs)} old${contents ? ', checksum and archive verified' : ''}`,
    outputs: partial.outputs ?? {},
    facts,
    tables: partial.tables ?? [],
    details: { manifest, ageSeconds: Math.round(ageMs / 1000), contents },
  };
}
