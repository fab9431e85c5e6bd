/**
 * The `status` mode: a set at a glance (`name`), every set of a store (no `name`), or every set
 * of the fleet from the status reports its runs left (`status-reports`); or, with `sets` alone,
 * the fleet's sets checked before its runs start, as fleet.yml's matrix. Read only: it lists the
 * store, reads the newest manifests and history records, and writes nothing there. The run fails
 * when a set needs attention (a failed run it follows, no backup, one too old, a failed
 * restore-test or verify), naming each; what it cannot count (torn, forged, dated ahead) is a
 * warning naming the key.
 */
import { idTime } from '../core/ids.js';
import { classifyKey, isValidSetName } from '../core/layout.js';
import { formatDuration } from '../core/duration.js';
import { formatBytes } from '../core/format.js';
import type { HistoryRecord } from '../core/history.js';
import { manifestSize } from '../core/manifest.js';
import type { FleetSet, StatusSettings, StorageLocation, S3Settings } from '../core/settings.js';
import {
  lastRunText,
  newestView,
  retentionText,
  setProblems,
  statusTable,
  storesTable,
  type LastRun,
  type SetStatus,
  type StoreView,
  type Unusable,
  unusableOf,
} from '../core/status.js';
import { backupCharts, restoreCharts, sizeTrend } from '../core/trends.js';
import { ModeFailure, type ModeResult, type RunContext, type Table } from '../core/types.js';
import type { Chart } from '../core/chart.js';
import { decide } from '../retention/policy.js';
import {
  isComplete,
  judgeAll,
  listSet,
  newestComplete,
  type SetListing,
} from '../storage/catalog.js';
import { backupHistory, HISTORY_LENGTH, readRecords } from '../storage/history.js';
import type { Store } from '../storage/index.js';
import { readStatusReports } from '../history/status-reports.js';

/** Opens a store (modes/index.ts's OpenContext). */
export type OpenStore = (location: {
  storage: StorageLocation;
  s3: S3Settings;
}) => Promise<RunContext>;

/** A whole store's table shows a short trend per set: fewer manifests to read per set. */
const STORE_TREND = 8;

export async function status(settings: StatusSettings, open: OpenStore): Promise<ModeResult> {
  if (settings.source.kind === 'sets') return fleetSets(settings.source.sets);
  if (settings.source.kind === 'reports') {
    const { statuses, warnings } = await readStatusReports(settings.source);
    return manyReport(settings, statuses, warnings, 'the fleet', new Date());
  }
  const ctx = await open(settings.source);
  // One store today; a set copied to several is looked at in each, the first one's history read.
  const stores = [ctx.store];
  if (settings.name) {
    const found = await setStatus(settings.name, stores, settings, ctx, HISTORY_LENGTH);
    for (const warning of unusableWarning(found.status)) ctx.log.warning(warning);
    return oneReport(found, ctx.now());
  }
  const names = await setsIn(ctx.store);
  const statuses: SetStatus[] = [];
  for (const name of names)
    statuses.push((await setStatus(name, stores, settings, ctx, STORE_TREND)).status);
  const warnings = statuses.flatMap(unusableWarning);
  for (const warning of warnings) ctx.log.warning(warning);
  return manyReport(settings, statuses, [], ctx.store.description, ctx.now());
}

/** The fleet's sets, checked when the inputs were read: the matrix of fleet.yml's legs. */
function fleetSets(sets: readonly FleetSet[]): ModeResult {
  return {
    headline: `${sets.length} set(s) in the fleet, each checked: ${sets.map((set) => set.name).join(', ')}`,
    outputs: { sets: JSON.stringify(sets) },
    facts: [['Sets', String(sets.length)]],
    tables: [
      {
        title: 'The fleet',
        header: ['set', 'storage'],
        rows: sets.map((set) => [set.name, set.storage]),
      },
    ],
    details: { fleet: sets.map((set) => set.name) },
  };
}

/** Every set the store holds: a first folder with a key of the layout in it. */
async function setsIn(store: Store): Promise<string[]> {
  const names = new Set<string>();
  for await (const { key } of store.list('')) {
    const name = key.slice(0, key.indexOf('/'));
    if (!names.has(name) && isValidSetName(name) && classifyKey(name, key)) names.add(name);
  }
  return [...names].sort();
}

interface Found {
  status: SetStatus;
  charts: Chart[];
  /** Backups retention would delete next, by id. */
  doomed: string[];
}

async function setStatus(
  name: string,
  stores: readonly Store[],
  settings: StatusSettings,
  ctx: RunContext,
  trendLength: number,
): Promise<Found> {
  const now = ctx.now();
  const listings = await Promise.all(stores.map((store) => listSet(store, name)));
  const views = await Promise.all(
    stores.map((store, index) => storeView(store, name, listings[index]!, now)),
  );
  const [store, listing] = [stores[0]!, listings[0]!];
  const history = await backupHistory(store, name, listing.backups, now, trendLength);
  const tests = await readRecords(store, name, listing.records, 'restore-test', now);
  const verifies = await readRecords(store, name, listing.records, 'verify-latest', now, 1);
  const next = settings.retention
    ? await nextDeletions(store, name, listing, settings, now)
    : undefined;
  const doomed = next?.delete ?? [];
  const outcome = settings.outcome
    ? (settings.outcome.message ?? settings.outcome.result)
    : undefined;
  const found: Omit<SetStatus, 'ok' | 'problems'> = {
    name,
    ...(outcome === undefined ? {} : { outcome }),
    stores: views.map((view) => view.view),
    lastRestoreTest: lastRun(tests.records.at(-1)),
    lastVerify: lastRun(verifies.records.at(-1)),
    sizeTrend: sizeTrend(history.points),
    ...(next ? { retention: next } : {}),
    ...unusableOf(
      distinctKeys([
        ...views.flatMap((view) => view.unusable),
        ...history.unusable.map(({ key, problem }) => ({ key, problem })),
        ...tests.unusable,
        ...verifies.unusable,
      ]),
    ),
  };
  const failed = settings.outcome !== undefined && settings.outcome.result !== 'success';
  const problems = setProblems(found, settings.maxAgeMs, failed);
  return {
    status: { ...found, ok: problems.length === 0, problems },
    charts: [...backupCharts(history.points), ...restoreCharts(tests.records)],
    doomed,
  };
}

/** Each key once, the first time it is met: a backup may be unusable to two readers. */
function distinctKeys(items: readonly Unusable[]): Unusable[] {
  const seen = new Map<string, Unusable>();
  for (const item of items) if (!seen.has(item.key)) seen.set(item.key, item);
  return [...seen.values()];
}

async function storeView(
  store: Store,
  name: string,
  listing: SetListing,
  now: Date,
): Promise<{ view: StoreView; unusable: Unusable[] }> {
  const { newest, newer } = await newestComplete(store, name, listing.backups, now);
  const unusable = newer.map(({ key, problem }) => ({ key, problem }));
  const base = { store: store.description, backups: listing.backups.length };
  if (!newest) return { view: base, unusable };
  const { manifest } = newest;
  return {
    view: {
      ...base,
      newestId: manifest.id,
      ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(manifest.createdAt)) / 1000)),
      sizeBytes: manifestSize(manifest),
    },
    unusable,
  };
}

/** What retention-prune would delete now: decided from every complete backup, as it would. */
async function nextDeletions(
  store: Store,
  name: string,
  listing: SetListing,
  settings: StatusSettings,
  now: Date,
): Promise<{ keep: number; delete: string[] }> {
  const { policy, timeZone } = settings.retention!;
  const complete = (await judgeAll(store, name, listing.backups, now)).filter(isComplete);
  if (complete.length === 0) return { keep: 0, delete: [] };
  const candidates = complete.map(({ entry }) => ({
    id: entry.id,
    createdAt: idTime(entry.id) ?? new Date(NaN),
  }));
  const doomed = decide(candidates, policy, timeZone)
    .filter((decision) => !decision.keep)
    .map((decision) => decision.id);
  return { keep: complete.length - doomed.length, delete: doomed };
}

function lastRun(record: HistoryRecord | undefined): LastRun | undefined {
  if (!record) return undefined;
  const { restoreSeconds, rows } = record.figures;
  return {
    at: record.finishedAt,
    ok: record.ok,
    ...(record.backupId ? { backupId: record.backupId } : {}),
    ...(record.problem ? { problem: record.problem } : {}),
    ...(restoreSeconds === undefined ? {} : { restoreSeconds }),
    ...(rows === undefined ? {} : { rows }),
  };
}

function unusableWarning(status: SetStatus): string[] {
  const count = status.unusableCount;
  if (count === 0) return [];
  const shown = status.unusable
    .slice(0, 3)
    .map((item) => item.problem)
    .join('; ');
  const more = count > 3 ? `; and ${count - 3} more` : '';
  return [`${status.name}: ${count} not counted: ${shown}${more}`];
}

/** The `status` output: the sets' statuses as compact JSON. */
const statusOutput = (statuses: readonly SetStatus[]): string => JSON.stringify({ sets: statuses });

function oneReport(found: Found, now: Date): ModeResult {
  const { status: set, charts, doomed } = found;
  const newest = newestView(set);
  const facts: [string, string][] = [
    ['Set', set.name],
    ...(set.outcome === undefined ? [] : [['Nightly run', set.outcome] as [string, string]]),
    ['Newest backup', newest?.newestId ?? 'none'],
    ['Age', newest?.ageSeconds === undefined ? '' : formatDuration(newest.ageSeconds * 1000)],
    ['Size (trend)', set.sizeTrend],
    ['Last restore-test', lastRunText(set.lastRestoreTest, now)],
    ['Last verify-latest', lastRunText(set.lastVerify, now)],
    ...(set.retention ? [['Retention next', retentionText(set)] as [string, string]] : []),
    ...(set.ok ? [] : [['Needs attention', set.problems.join('; ')] as [string, string]]),
  ];
  const tables: Table[] = [
    storesTable(set),
    ...(doomed.length
      ? [{ title: 'Retention would delete next', header: ['id'], rows: doomed.map((id) => [id]) }]
      : []),
    ...unusableTables([set]),
  ];
  const result: ModeResult = {
    headline: set.ok
      ? `${set.name}: newest backup ${newest?.newestId} is ${formatDuration((newest?.ageSeconds ?? 0) * 1000)} old (${formatBytes(newest?.sizeBytes ?? 0)}); last restore-test ${lastRunText(set.lastRestoreTest, now)}`
      : `${set.name} needs attention: ${set.problems.join('; ')}`,
    outputs: {
      status: statusOutput([set]),
      ...(newest?.newestId
        ? {
            'latest-id': newest.newestId,
            'age-seconds': newest.ageSeconds ?? 0,
            'size-bytes': newest.sizeBytes ?? 0,
          }
        : {}),
    },
    facts,
    tables,
    charts,
    details: { sets: [set] },
  };
  if (!set.ok) throw new ModeFailure(result.headline, result);
  return result;
}

function manyReport(
  settings: StatusSettings,
  statuses: SetStatus[],
  warnings: readonly string[],
  where: string,
  now: Date,
): ModeResult {
  const failing = statuses.filter((set) => !set.ok);
  const result: ModeResult = {
    headline:
      failing.length === 0
        ? `${statuses.length} set(s) in ${where}: all ok`
        : `${failing.length} of ${statuses.length} set(s) in ${where} need attention: ${failing
            .map((set) => `${set.name} (${set.problems.join('; ')})`)
            .join('; ')}`,
    outputs: { status: statusOutput(statuses) },
    facts: [
      ['Sets', String(statuses.length)],
      ['Need attention', failing.map((set) => set.name).join(', ') || 'none'],
      ['Max age', formatDuration(settings.maxAgeMs)],
      ...warnings.map((warning) => ['Note', warning] as [string, string]),
    ],
    tables: [statusTable(`Every set in ${where}`, statuses, now), ...unusableTables(statuses)],
    details: { sets: statuses },
  };
  if (statuses.length === 0) throw new ModeFailure(`no backup set in ${where}`, result);
  if (failing.length > 0) throw new ModeFailure(result.headline, result);
  return result;
}

function unusableTables(statuses: readonly SetStatus[]): Table[] {
  const rows = statuses.flatMap((set) => [
    ...set.unusable.map((item) => [set.name, item.key, item.problem]),
    ...(set.unusableCount > set.unusable.length
      ? [[set.name, '…', `and ${set.unusableCount - set.unusable.length} more not listed`]]
      : []),
  ]);
  return rows.length
    ? [
        {
          title: 'Not counted (torn, forged or dated ahead)',
          header: ['set', 'key', 'problem'],
          rows,
        },
      ]
    : [];
}
