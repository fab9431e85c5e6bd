/**
 * The `retention-prune` mode: delete the backups a keep-policy does not keep, and the leftovers of
 * failed runs. Decided from one listing and the manifests it lists: a backup's time is its id's
 * (the UTC start time its manifest's createdAt agrees with), never the store's modification times. Only
 * complete backups are counted and deleted; an unusable one (corrupt, torn, dated ahead of the
 * clock, another set's) is reported and left alone. Deletes manifests before objects, in
 * batches; `dry-run` reports the same plan and deletes nothing.
 */
import {
  CLOCK_TOLERANCE_MS,
  isComplete,
  judgeAll,
  listSet,
  unusableText,
  type CompleteBackup,
  type RecordEntry,
  type UnusableBackup,
} from '../storage/catalog.js';
import { aheadProblem } from '../core/history.js';
import type { Unusable } from '../core/status.js';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { formatCount } from '../core/format.js';
import { startedAt } from '../core/ids.js';
import { classifyKey, manifestKey } from '../core/layout.js';
import { decide, type Decision } from '../retention/policy.js';
import { planPrune, staleUploads, type PrunePlan } from '../retention/plan.js';
import type { PruneSettings } from '../core/settings.js';
import { DeleteRefused, type IncompleteUpload, type RefusedKey } from '../storage/index.js';
import type { ModeResult, RunContext, Table } from '../core/types.js';

/** Summary tables list at most this many rows each; the report holds them all. */
const ROWS_SHOWN = 200;

export async function retentionPrune(
  settings: PruneSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  const now = ctx.now();
  const listing = await listSet(ctx.store, settings.name);
  const judged = await judgeAll(ctx.store, settings.name, listing.backups, now);
  const complete = judged.filter(isComplete);
  const unusable = judged.filter((item): item is UnusableBackup => !isComplete(item));
  reportUnusable(unusable, ctx);
  const candidates = complete.map(({ entry, manifest }: CompleteBackup) => ({
    id: entry.id,
    createdAt: startedAt(entry.id, manifest.createdAt) ?? new Date(NaN),
  }));
  const decisions =
    candidates.length === 0 ? [] : decide(candidates, settings.policy, settings.timeZone);
  // Newest first as the policy ordered them: by their start, a second's backups by their
  // manifests' time as `latest` orders them, so the guard's newest is the one latest names.
  const order = new Map(decisions.map((decision, index) => [decision.id, index]));
  const rank = (entry: { id: string }) => order.get(entry.id) ?? Infinity;
  const plan = planPrune(
    {
      complete: complete.map((item) => item.entry).sort((a, b) => rank(a) - rank(b)),
      leftovers: listing.leftovers,
      records: listing.records,
    },
    decisions,
    now,
    settings.orphanGraceMs,
  );
  const uploads = await findStaleUploads(settings, ctx);
  const aheadRecords = recordsAhead(listing.records, now);
  reportRecordsAhead(aheadRecords, ctx);
  logKeys(settings, plan, uploads.stale, ctx);
  let notAborted: IncompleteUpload[] = [];
  let retained: RefusedKey[] = [];
  if (!settings.dryRun) {
    retained = await deleteOrKeep(settings.name, plan, ctx);
    notAborted = await abortUploads(uploads.stale, ctx);
  }
  return pruneReport(
    settings,
    plan,
    { ...uploads, notAborted },
    listing.foreignKeys,
    [...unusable, ...aheadRecords],
    retained,
  );
}

/** Records dated ahead of the clock: not counted in any history, and never deleted by a rule. */
function recordsAhead(records: readonly RecordEntry[], now: Date): Unusable[] {
  return records.flatMap((record) => {
    const problem = aheadProblem(record.key, record.id, now, CLOCK_TOLERANCE_MS);
    return problem ? [{ key: record.key, problem }] : [];
  });
}

function reportRecordsAhead(ahead: readonly Unusable[], ctx: RunContext): void {
  if (ahead.length === 0) return;
  ctx.log.warning(
    `${ahead.length} history record(s) dated ahead of the clock, neither counted nor deleted: ${ahead
      .slice(0, 3)
      .map((item) => item.key)
      .join(', ')}`,
  );
}

/**
 * Deletes manifests, then the objects of the backups whose manifest went. A key the store keeps
 * (Object Lock retention, a WORM bucket) is reported and the prune goes on: its backup stays
 * whole, and the next prune tries again. A refused object whose manifest went is an orphan then.
 */
async function deleteOrKeep(name: string, plan: PrunePlan, ctx: RunContext): Promise<RefusedKey[]> {
  const keptManifests = await refusedOf(plan.manifestKeys, ctx);
  const idOf = (key: string) => classifyKey(name, key)?.id;
  const keptIds = new Set(keptManifests.map(({ key }) => idOf(key)));
  const objects = plan.objectKeys.filter((key) => !keptIds.has(idOf(key)));
  const rest = [...objects, ...plan.orphanKeys, ...plan.recordKeys];
  const kept = [...keptManifests, ...(await refusedOf(rest, ctx))];
  if (kept.length > 0) {
    for (const { key, reason } of kept) ctx.log.info(`the store keeps ${key}: ${reason}`);
    ctx.log.warning(
      `the store refused to delete ${kept.length} key(s) (Object Lock retention or a WORM bucket?), e.g. ${kept[0]?.key}: ${kept[0]?.reason}; they stay, and the next prune tries again`,
    );
  }
  return kept;
}

async function refusedOf(keys: readonly string[], ctx: RunContext): Promise<RefusedKey[]> {
  try {
    await ctx.store.delete(keys);
    return [];
  } catch (error) {
    if (error instanceof DeleteRefused) return [...error.refused];
    throw error;
  }
}

/** One warning for them all (a run's warnings are few and short), every one in the log. */
function reportUnusable(unusable: readonly UnusableBackup[], ctx: RunContext): void {
  if (unusable.length === 0) return;
  for (const item of unusable) ctx.log.info(`not counted, not deleted: ${item.problem}`);
  ctx.log.warning(
    `${unusable.length} unusable backup(s), neither counted nor deleted (remove them by hand once looked at): ${unusableText(unusable)}`,
  );
}

/** Every key, in the log: the report holds ids only, as step outputs are limited to 1 MB. */
function logKeys(
  settings: PruneSettings,
  plan: PrunePlan,
  uploads: readonly IncompleteUpload[],
  ctx: RunContext,
): void {
  const verb = settings.dryRun ? 'would delete' : 'deleting';
  for (const key of [
    ...plan.manifestKeys,
    ...plan.objectKeys,
    ...plan.orphanKeys,
    ...plan.recordKeys,
  ]) {
    ctx.log.info(`${verb} ${key}`);
  }
  for (const upload of uploads) {
    ctx.log.info(`${settings.dryRun ? 'would abort' : 'aborting'} the upload of ${upload.key}`);
  }
}

interface UploadSweep {
  stale: IncompleteUpload[];
  /** Why incomplete uploads could not be listed (s3rver and some S3-compatible stores). */
  unchecked?: string;
  /** Stale uploads the store refused to abort. */
  notAborted: IncompleteUpload[];
}

/** A store that cannot list incomplete uploads gets a warning: the prune itself still runs. */
async function findStaleUploads(
  settings: PruneSettings,
  ctx: RunContext,
): Promise<Omit<UploadSweep, 'notAborted'>> {
  const uploads: IncompleteUpload[] = [];
  try {
    for await (const upload of ctx.store.incompleteUploads(`${settings.name}/`)) {
      uploads.push(upload);
    }
  } catch (error) {
    const unchecked = errorMessage(error);
    ctx.log.warning(`could not list incomplete uploads (${unchecked}); they were not checked`);
    return { stale: [], unchecked };
  }
  return { stale: staleUploads(uploads, settings.name, ctx.now(), settings.orphanGraceMs) };
}

/** Aborts each upload; a refusal is a warning (the next prune tries again), not a failed run. */
async function abortUploads(
  uploads: readonly IncompleteUpload[],
  ctx: RunContext,
): Promise<IncompleteUpload[]> {
  const refused: IncompleteUpload[] = [];
  for (const upload of uploads) {
    try {
      await ctx.store.abortUpload(upload);
    } catch (error) {
      refused.push(upload);
      ctx.log.warning(
        `could not abort the incomplete upload of ${upload.key} (${errorMessage(error)})`,
      );
    }
  }
  return refused;
}

function pruneReport(
  settings: PruneSettings,
  plan: PrunePlan,
  uploads: UploadSweep,
  foreign: number,
  unusable: readonly Unusable[],
  retained: readonly RefusedKey[],
): ModeResult {
  const verb = settings.dryRun ? 'would delete' : 'deleted';
  const leftovers = plan.orphanKeys.length + uploads.stale.length;
  const untouched = unusable.length ? `; ${unusable.length} unusable left untouched` : '';
  // A backup whose manifest the store kept was not deleted: it is still whole and still listed.
  const keptKeys = new Set(retained.map(({ key }) => key));
  const deleted = plan.deleted.filter((d) => !keptKeys.has(manifestKey(settings.name, d.id)));
  return {
    headline: `${settings.dryRun ? 'Dry run: ' : ''}kept ${plan.kept.length} backup(s) of ${settings.name}, ${verb} ${deleted.length}${leftovers ? ` and ${leftovers} leftover(s)` : ''}${untouched}`,
    outputs: { kept: plan.kept.length, deleted: deleted.length },
    facts: [
      ['Set', settings.name],
      ['Policy', policyText(settings)],
      ['Kept', formatCount(plan.kept.length)],
      [settings.dryRun ? 'Would delete' : 'Deleted', formatCount(deleted.length)],
      ['Leftovers of failed runs', leftoverText(plan, uploads)],
      [
        `History records ${settings.dryRun ? 'that would go' : 'deleted'} (runs before the oldest backup kept)`,
        formatCount(plan.recordKeys.length),
      ],
      ['Unusable backups and records (not counted, untouched)', formatCount(unusable.length)],
      ['Keys not in the layout (untouched)', formatCount(foreign)],
      ...(retained.length
        ? [
            ['Kept by the store (refused to delete)', formatCount(retained.length)] as [
              string,
              string,
            ],
          ]
        : []),
      ...(settings.dryRun ? [['Dry run', 'nothing was deleted'] as [string, string]] : []),
    ],
    tables: [
      decisionTable('Kept', plan.kept, true),
      decisionTable(settings.dryRun ? 'Would delete' : 'Deleted', deleted, false),
      ...(leftovers ? [leftoverTable(plan, uploads.stale)] : []),
      ...(unusable.length ? [unusableTable(unusable)] : []),
    ],
    details: {
      dryRun: settings.dryRun,
      kept: plan.kept.map((d) => ({ id: d.id, rules: d.rules })),
      deleted: deleted.map((d) => d.id),
      orphanKeys: plan.orphanKeys,
      recordKeys: plan.recordKeys,
      unusable: unusable.map((item) => ({ key: item.key, problem: item.problem })),
      incompleteUploads: uploads.stale.map((upload) => upload.key),
      uploadsNotAborted: uploads.notAborted.map((upload) => upload.key),
      refusedKeys: retained.map(({ key }) => key),
      ...(uploads.unchecked === undefined ? {} : { uploadsUnchecked: uploads.unchecked }),
    },
  };
}

function leftoverText(plan: PrunePlan, uploads: UploadSweep): string {
  const objects = `${formatCount(plan.orphanKeys.length)} object(s)`;
  if (uploads.unchecked !== undefined) {
    return `${objects}; incomplete uploads could not be checked (${uploads.unchecked})`;
  }
  const refused = uploads.notAborted.length
    ? ` (${formatCount(uploads.notAborted.length)} refused to abort)`
    : '';
  return `${objects}, ${formatCount(uploads.stale.length)} incomplete upload(s)${refused}`;
}

function policyText(settings: PruneSettings): string {
  const { withinMs, ...counts } = settings.policy;
  const parts = Object.entries(counts)
    .filter(([, value]) => value !== undefined && value > 0)
    .map(([rule, value]) => `keep-${rule} ${value}`);
  if (withinMs) parts.push(`keep-within ${formatDuration(withinMs)}`);
  return `${parts.join(', ')} (${settings.timeZone})`;
}

/** A summary table of at most ROWS_SHOWN rows, its title saying how many more the report holds. */
function cappedTable(title: string, header: string[], rows: string[][]): Table {
  const more =
    rows.length > ROWS_SHOWN
      ? ` (first ${ROWS_SHOWN} of ${formatCount(rows.length)}; all in the report output)`
      : '';
  return { title: `${title}${more}`, header, rows: rows.slice(0, ROWS_SHOWN) };
}

function decisionTable(title: string, decisions: Decision[], withRules: boolean): Table {
  const rows = decisions.map((d) => {
    const row = [d.id, d.createdAt.toISOString()];
    return withRules ? [...row, d.rules.join(', ')] : row;
  });
  return cappedTable(title, withRules ? ['id', 'created', 'kept by'] : ['id', 'created'], rows);
}

function leftoverTable(plan: PrunePlan, uploads: IncompleteUpload[]): Table {
  const rows = [
    ...plan.orphanKeys.map((key) => [key, 'object with no manifest']),
    ...uploads.map((upload) => [
      upload.key,
      `incomplete upload from ${upload.initiated.toISOString()}`,
    ]),
  ];
  return cappedTable('Leftovers of failed runs', ['key', 'what'], rows);
}

function unusableTable(unusable: readonly Unusable[]): Table {
  const rows = unusable.map((item) => [item.key, item.problem]);
  return cappedTable(
    'Unusable backups and records (not counted, never deleted)',
    ['key', 'problem'],
    rows,
  );
}
