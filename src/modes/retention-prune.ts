/**
 * The `retention-prune` mode: delete the backups a keep-policy does not keep, and the leftovers of
 * failed runs. Decided from one listing: a backup's time is its id (the UTC start time recorded in
 * its manifest's key), never the store's modification times. Deletes manifests before objects,
 * in batches; `dry-run` reports the same plan and deletes nothing.
 */
import { listSet } from '../catalog.js';
import { formatDuration } from '../duration.js';
import { errorMessage } from '../errors.js';
import { formatCount } from '../format.js';
import { idTime } from '../ids.js';
import { decide, type Decision } from '../retention/policy.js';
import { planPrune, type PrunePlan } from '../retention/plan.js';
import type { PruneSettings } from '../settings.js';
import type { IncompleteUpload } from '../storage/index.js';
import type { ModeResult, RunContext, Table } from './types.js';

/** Summary tables list at most this many rows each; the report holds them all. */
const ROWS_SHOWN = 200;

export async function retentionPrune(
  settings: PruneSettings,
  ctx: RunContext,
): Promise<ModeResult> {
  const listing = await listSet(ctx.store, settings.name);
  const candidates = listing.backups.map((entry) => ({
    id: entry.id,
    createdAt: idTime(entry.id) ?? new Date(0),
  }));
  const decisions =
    candidates.length === 0 ? [] : decide(candidates, settings.policy, settings.timeZone);
  const plan = planPrune(listing, decisions, ctx.now(), settings.orphanGraceMs);
  const uploads = await staleUploads(settings, ctx);
  if (!settings.dryRun) {
    await ctx.store.delete(plan.manifestKeys);
    await ctx.store.delete([...plan.objectKeys, ...plan.orphanKeys]);
    for (const upload of uploads) await ctx.store.abortUpload(upload);
  }
  return describe(settings, plan, uploads, listing.foreignKeys);
}

/** Incomplete uploads older than the grace; a store that cannot list them gets a warning. */
async function staleUploads(settings: PruneSettings, ctx: RunContext): Promise<IncompleteUpload[]> {
  const cutoff = ctx.now().getTime() - settings.orphanGraceMs;
  const stale: IncompleteUpload[] = [];
  try {
    for await (const upload of ctx.store.incompleteUploads(`${settings.name}/`)) {
      if (upload.initiated.getTime() < cutoff) stale.push(upload);
    }
  } catch (error) {
    ctx.log.warning(
      `could not list incomplete uploads (${errorMessage(error)}); they were not checked`,
    );
  }
  return stale;
}

function describe(
  settings: PruneSettings,
  plan: PrunePlan,
  uploads: IncompleteUpload[],
  foreign: number,
): ModeResult {
  const verb = settings.dryRun ? 'would delete' : 'deleted';
  const leftovers = plan.orphanKeys.length + uploads.length;
  return {
    headline: `${settings.dryRun ? 'Dry run: ' : ''}kept ${plan.kept.length} backup(s) of ${settings.name}, ${verb} ${plan.deleted.length}${leftovers ? ` and ${leftovers} leftover(s)` : ''}`,
    outputs: { kept: plan.kept.length, deleted: plan.deleted.length },
    facts: [
      ['Set', settings.name],
      ['Policy', policyText(settings)],
      ['Kept', formatCount(plan.kept.length)],
      [settings.dryRun ? 'Would delete' : 'Deleted', formatCount(plan.deleted.length)],
      [
        'Leftovers of failed runs',
        `${formatCount(plan.orphanKeys.length)} object(s), ${formatCount(uploads.length)} incomplete upload(s)`,
      ],
      ['Keys not in the layout (untouched)', formatCount(foreign)],
      ...(settings.dryRun ? [['Dry run', 'nothing was deleted'] as [string, string]] : []),
    ],
    tables: [
      decisionTable('Kept', plan.kept, true),
      decisionTable(settings.dryRun ? 'Would delete' : 'Deleted', plan.deleted, false),
      ...(leftovers ? [leftoverTable(plan, uploads)] : []),
    ],
    details: {
      dryRun: settings.dryRun,
      kept: plan.kept.map((d) => ({ id: d.id, rules: d.rules })),
      deleted: plan.deleted.map((d) => d.id),
      deletedKeys: [...plan.manifestKeys, ...plan.objectKeys],
      orphanKeys: plan.orphanKeys,
      abortedUploads: uploads.map((u) => u.key),
    },
  };
}

function policyText(settings: PruneSettings): string {
  const { withinMs, ...counts } = settings.policy;
  const parts = Object.entries(counts)
    .filter(([, value]) => value !== undefined && value > 0)
    .map(([rule, value]) => `keep-${rule} ${value}`);
  if (withinMs) parts.push(`keep-within ${formatDuration(withinMs)}`);
  return `${parts.join(', ')} (${settings.timeZone})`;
}

function decisionTable(title: string, decisions: Decision[], withRules: boolean): Table {
  const rows = decisions.slice(0, ROWS_SHOWN).map((d) => {
    const row = [d.id, d.createdAt.toISOString()];
    return withRules ? [...row, d.rules.join(', ')] : row;
  });
  const more =
    decisions.length > ROWS_SHOWN
      ? ` (first ${ROWS_SHOWN} of ${decisions.length}; all in the report output)`
      : '';
  return {
    title: `${title}${more}`,
    header: withRules ? ['id', 'created', 'kept by'] : ['id', 'created'],
    rows,
  };
}

function leftoverTable(plan: PrunePlan, uploads: IncompleteUpload[]): Table {
  const rows = [
    ...plan.orphanKeys.map((key) => [key, 'object with no manifest']),
    ...uploads.map((upload) => [
      upload.key,
      `incomplete upload from ${upload.initiated.toISOString()}`,
    ]),
  ];
  return {
    title: 'Leftovers of failed runs',
    header: ['key', 'what'],
    rows: rows.slice(0, ROWS_SHOWN),
  };
}
