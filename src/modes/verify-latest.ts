/**
 * The `verify-latest` mode: is the newest backup fresh and intact? One listing finds it (ids sort
 * by second, manifests order a second's), its manifest is read, the rules are checked against the listing's sizes, and with
 * `deep` every stored byte is hashed, decrypted, decompressed and read by the archive's own tool.
 * The newest thing in the set must be a complete backup: anything newer that is not (a corrupt
 * or torn manifest, a backup dated ahead of the clock) fails the run by name, as it hides what
 * the last run really left.
 */
import { manifestSize, type AnyManifest } from '../core/manifest.js';
import {
  listedSize,
  listSet,
  completeBefore,
  newestComplete,
  unusableText,
  type SetEntry,
  type SetListing,
  type UnusableBackup,
} from '../storage/catalog.js';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { diagnose } from '../core/retry.js';
import { formatBytes, formatCount } from '../core/format.js';
import { idTime } from '../core/ids.js';
import type { VerifySettings } from '../core/settings.js';
import { kindOf } from '../kinds/index.js';
import type { DeepCheck, Fact } from '../kinds/kind.js';
import { verifyReport } from '../kinds/report.js';
import { brokenRules, sizeChange } from '../verify/rules.js';
import {
  checkOtherStores,
  storesTable,
  type Problem,
  type ProblemKind,
  type StoreCheck,
} from '../verify/stores.js';
import { storeLabel } from '../core/locations.js';
import { signatureVerdict, withSignature } from '../storage/signature.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';

const TREND_ROWS = 7;

export async function verifyLatest(settings: VerifySettings, ctx: RunContext): Promise<ModeResult> {
  const { manifest, previous, ageMs, trend, listing } = await findNewest(settings, ctx);
  const kind = kindOf(manifest);
  const sameKind = previous && kindOf(previous) === kind ? previous : undefined;
  const rules = brokenRules(
    { ageMs, size: manifestSize(manifest), previousSize: previous && manifestSize(previous) },
    settings,
  );
  const signature = await signatureVerdict(ctx.store, manifest, settings.signingPublicKeys);
  const problems: Problem[] = [
    ...(signature.refused ? [{ kind: 'unsigned' as const, line: signature.refused }] : []),
    ...rules.map((line, i) => ({
      kind: i === 0 && ageMs > settings.maxAgeMs ? ('stale' as const) : ('small' as const),
      line,
    })),
    ...kind.verify.rules(manifest, sameKind, settings, ctx.log).map((line) => ({
      kind: 'small' as const,
      line,
    })),
  ];
  let stores: StoreCheck[] = [];
  const report = (checked?: DeepCheck): ModeResult =>
    withStores(
      withSignature(
        verifyReport({
          manifest,
          holds: kind.holds(manifest),
          ageMs,
          trend,
          deep: settings.deep,
          rows: kind.verify.rows(manifest, settings.deep, checked),
          found: checked,
        }),
        signature.signer,
      ),
      settings,
      manifest,
      stores,
      ctx.now(),
    );
  let checked: DeepCheck | undefined;
  if (problems.length === 0 && settings.deep) {
    const found = await kind.verify.deep(manifest, settings, ctx).catch((error: unknown) => {
      throw deepStopped(error, report());
    });
    checked = withIdentity(found, manifest, settings);
    problems.push(...checked.damaged.map((line) => ({ kind: 'damaged' as const, line })));
  }
  stores = await checkOtherStores(manifest, listing, settings, ctx);
  problems.push(...stores.flatMap((store) => (store.problem ? [store.problem] : [])));
  if (problems.length > 0) throw failure(problems, report(checked));
  return report(checked);
}

/**
 * A passphrase backup's identity, which the deep check opened before any object: named in the
 * facts, unless it was the damage found (or the identity given by hand opened the objects).
 */
function withIdentity(
  found: DeepCheck,
  manifest: AnyManifest,
  settings: VerifySettings,
): DeepCheck {
  const { identity } = manifest;
  if (!identity || settings.decryption.passphrase === undefined) return found;
  if (found.damaged.some((line) => line.includes(identity.key))) return found;
  const fact: Fact = [
    'Identity',
    `${identity.key}: sha256 matches, opened with encryption-passphrase`,
  ];
  return { ...found, facts: [...found.facts, fact] };
}

/**
 * The run's failure: every problem, and the `problem` output naming the worst kind. What it found
 * of the backup is final (another attempt finds the same); a store it could not read is not, and
 * its error is the cause the retry policy judges.
 */
function failure(problems: readonly Problem[], report: Partial<ModeResult>): ModeFailure {
  const worst = PROBLEM_ORDER.find((kind) => problems.some((problem) => problem.kind === kind));
  const found = problems.some((problem) => problem.kind !== 'unreachable');
  const causes = problems.flatMap((problem) =>
    problem.cause === undefined ? [] : [problem.cause],
  );
  return new ModeFailure(
    problems.map((problem) => problem.line).join('; '),
    { ...report, outputs: { ...report.outputs, ...(worst ? { problem: worst } : {}) } },
    found || causes.length === 0 ? undefined : new AggregateError(causes),
    found,
  );
}

/**
 * The deep check stopped before it judged every object: a store that failed mid-read (a cut
 * response, a refused connection) is the store's failure, `unreachable`, and passes (the run is
 * tried again); a key that opens nothing fails as itself.
 */
function deepStopped(error: unknown, report: ModeResult): ModeFailure {
  if (error instanceof ModeFailure) return error;
  if (!diagnose(error).transient) return new ModeFailure(errorMessage(error), report, error);
  const outputs = { ...report.outputs, problem: 'unreachable' };
  return new ModeFailure(errorMessage(error), { ...report, outputs }, error);
}

/** Most fundamental first: the `problem` output names the first kind found. */
const PROBLEM_ORDER: readonly ProblemKind[] = [
  'missing',
  'unsigned',
  'damaged',
  'stale',
  'small',
  'unreachable',
];

/** With several stores: the stores table, and each store's lag for the metrics. */
function withStores(
  report: ModeResult,
  settings: VerifySettings,
  manifest: AnyManifest,
  stores: readonly StoreCheck[],
  now: Date,
): ModeResult {
  if (settings.otherStores.length === 0) return report;
  const primary = {
    store: storeLabel(settings.storage),
    id: manifest.id,
    createdAt: manifest.createdAt,
  };
  return {
    ...report,
    tables: [...report.tables, storesTable(primary, stores, now)],
    details: {
      ...report.details,
      stores: stores.map(({ store, newest, lagMs, status }) => ({
        store,
        newest: newest?.id,
        ...(lagMs === undefined ? {} : { lagSeconds: Math.round(lagMs / 1000) }),
        status,
      })),
    },
  };
}

interface Newest {
  manifest: AnyManifest;
  /** The primary's listing, which the other stores are measured against. */
  listing: SetListing;
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
    throw new ModeFailure(`no backup of set "${settings.name}" in ${ctx.store.description}`, {
      outputs: { problem: 'missing' },
    });
  }
  const found = await newestComplete(ctx.store, settings.name, listing.backups, now);
  if (found.newer.length > 0 || !found.newest) {
    const none = found.newest ? '' : `; no complete backup of set "${settings.name}"`;
    const trend = trendTable(listing.backups, now, found.newer);
    throw new ModeFailure(`${unusableText(found.newer)}${none}`, {
      tables: [trend],
      outputs: { problem: 'missing' },
    });
  }
  const { manifest } = found.newest;
  const previous = await completeBefore(
    ctx.store,
    settings.name,
    listing.backups,
    found.newest,
    now,
  );
  const recorded = [found.newest, previous].flatMap((item) =>
    item ? [[item.entry.id, manifestSize(item.manifest)] as const] : [],
  );
  return {
    manifest,
    listing,
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
