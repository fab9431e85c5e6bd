/**
 * restore and restore-test from any copy: `storage` lists the stores, one per line, in the order
 * they are tried. The backup is chosen first: the id asked for; for `latest`, the primary's newest
 * complete backup (a newer one found only in a copy is not this set's history as the primary
 * knows it), or, when the primary cannot be listed or holds none, the newest complete backup of
 * the other stores, said so in a warning. Then each store in turn: the first whose manifest of
 * that id is readable and valid (complete or torn) sets what every other copy must hold, object
 * for object (key, size, sha256); a store that cannot be listed, lacks a complete copy, holds
 * another manifest, holds it in an archive class, or whose bytes fail their sha256 while the kind
 * restores them, is passed over for the next. The kinds check every byte before anything is
 * touched, and leave a target they could not restore as it was, so the next store starts afresh.
 * The report says which copy was restored and why the others were passed over.
 */
import { errorMessage } from '../core/errors.js';
import { startedAfter, type Dated } from '../core/ids.js';
import { storeLabel } from '../core/locations.js';
import { manifestObjects, type AnyManifest } from '../core/manifest.js';
import type { RestoreSettings, RestoreTestSettings } from '../core/settings.js';
import {
  ModeFailure,
  openOther,
  type ModeResult,
  type RunContext,
  type Table,
} from '../core/types.js';
import { ChecksumError } from '../pipeline/checksum.js';
import { Phases } from '../restore/phases.js';
import {
  datedOf,
  findBackup,
  isComplete,
  judgeId,
  listSet,
  newestComplete,
} from '../storage/catalog.js';
import { ArchivedObject, type Store } from '../storage/index.js';
import { checkSignature, withSignature } from '../storage/signature.js';
import { kindOf, type AnyKind } from './index.js';
import type { KindRun } from './kind.js';
import { finishRun, restoreReport } from './report.js';

/** What a mode asks of the backup's kind, from one store (its context). */
export type StartRun = (
  kind: AnyKind,
  manifest: AnyManifest,
  ctx: RunContext,
  phases: Phases,
) => Promise<KindRun>;

interface Source {
  label: string;
  /** The store, or why it could not be opened or listed. */
  store?: Store;
  unreachable?: string;
}

export async function restoreFromStores(
  settings: RestoreSettings | RestoreTestSettings,
  ctx: RunContext,
  start: StartRun,
): Promise<ModeResult> {
  if (settings.otherStores.length === 0)
    return restoreFrom(settings, settings.backupId, ctx, start);
  const sources = await openSources(settings, ctx);
  const id =
    settings.backupId === 'latest'
      ? await chooseLatest(sources, settings.name, ctx)
      : settings.backupId;
  const passed: [string, string][] = [];
  const pass = (source: Source, why: string) => {
    passed.push([source.label, why]);
    ctx.log.warning(`${source.label} passed over: ${why}`);
  };
  let reference: { manifest: AnyManifest; label: string } | undefined;
  for (const source of sources) {
    const found = source.unreachable ?? (await copyIn(source, id, settings.name, ctx));
    if (typeof found === 'string') {
      pass(source, found);
      continue;
    }
    if (found.manifest && reference && !sameObjects(found.manifest, reference.manifest)) {
      pass(
        source,
        `its manifest of ${id} differs from ${reference.label}'s (the sha256 of its objects)`,
      );
      continue;
    }
    if (found.manifest) reference ??= { manifest: found.manifest, label: source.label };
    if (found.problem !== undefined || !found.manifest) {
      pass(source, found.problem ?? `no usable copy of ${id}`);
      continue;
    }
    try {
      const result = await restoreFrom(
        settings,
        id,
        { ...ctx, store: source.store! },
        start,
        found.manifest,
      );
      return withSources(result, source.label, passed, sources);
    } catch (error) {
      const reason = storeFault(error);
      if (reason === undefined || ctx.signal.aborted)
        throw withSourcesOnFailure(error, passed, sources);
      pass(source, reason);
    }
  }
  const table = sourcesTable(passed, sources);
  throw new ModeFailure(
    `no store holds a usable copy of ${settings.name}/${id}: ${passed.map(([store, why]) => `${store}: ${why}`).join('; ')}`,
    { tables: [table] },
  );
}

/**
 * From one store: the backup found there (unless given), its kind's run, and the report. With
 * signing-public-key, a backup whose signature there does not hold is refused before anything is
 * read or touched; `latest` then fails naming it rather than fall back on an older one, which
 * would hide that someone wrote the store.
 */
async function restoreFrom(
  settings: RestoreSettings | RestoreTestSettings,
  backupId: string,
  ctx: RunContext,
  start: StartRun,
  found?: AnyManifest,
): Promise<ModeResult> {
  const phases = new Phases(ctx.now);
  const manifest = found ?? (await findBackup(ctx, settings.name, backupId));
  const signer = await checkSignature(ctx.store, manifest, settings.signingPublicKeys);
  const kind = kindOf(manifest);
  const run = await start(kind, manifest, ctx, phases);
  return withSignature(
    await finishRun(run, () => restoreReport(manifest, kind.holds(manifest), phases, run.rows())),
    signer,
  );
}

async function openSources(
  settings: RestoreSettings | RestoreTestSettings,
  ctx: RunContext,
): Promise<Source[]> {
  const others = settings.otherStores.map(async (store): Promise<Source> => {
    const label = storeLabel(store.location);
    try {
      return { label, store: await openOther(ctx, store) };
    } catch (error) {
      return { label, unreachable: `cannot be opened: ${errorMessage(error)}` };
    }
  });
  return [
    { label: storeLabel(settings.storage), store: ctx.store },
    ...(await Promise.all(others)),
  ];
}

/**
 * `latest`: the primary's newest complete backup; the other stores' newest only when the primary
 * cannot be listed or holds none (a warning says so). A store that cannot be listed is marked so.
 */
async function chooseLatest(sources: Source[], name: string, ctx: RunContext): Promise<string> {
  const [primary, ...others] = sources;
  const own = primary ? await newestIn(primary, name, ctx) : undefined;
  if (own !== undefined) return own.id;
  let newest: Dated | undefined;
  let where: string | undefined;
  for (const source of others) {
    const found = await newestIn(source, name, ctx);
    if (found && (newest === undefined || startedAfter(found, newest)))
      [newest, where] = [found, source.label];
  }
  if (newest === undefined) {
    const why = sources
      .map((s) => `${s.label}: ${s.unreachable ?? 'no complete backup'}`)
      .join('; ');
    throw new ModeFailure(`no complete backup of set "${name}" in any store (${why})`, {});
  }
  ctx.log.warning(
    `the primary store ${primary?.label ?? ''} ${primary?.unreachable ?? 'holds no complete backup'}: latest is the newest complete backup of the other stores, ${newest.id} (${where ?? ''})`,
  );
  return newest.id;
}

/** The store's newest complete backup; undefined when none or it cannot be listed. */
async function newestIn(source: Source, name: string, ctx: RunContext): Promise<Dated | undefined> {
  if (!source.store) return undefined;
  try {
    const listing = await listSet(source.store, name);
    const { newest } = await newestComplete(source.store, name, listing.backups, ctx.now());
    return newest && datedOf(newest);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    source.unreachable = `cannot be listed: ${errorMessage(error)}`;
    return undefined;
  }
}

/**
 * The store's manifest of `id` when it is readable and valid (complete or torn), and why the
 * store cannot be restored from when it cannot; a string when it holds no manifest to go by.
 */
async function copyIn(
  source: Source,
  id: string,
  name: string,
  ctx: RunContext,
): Promise<{ manifest?: AnyManifest; problem?: string } | string> {
  try {
    const judged = await judgeId(source.store!, name, id);
    if (!judged) return `no backup ${id} in set "${name}"`;
    return isComplete(judged)
      ? { manifest: judged.manifest }
      : { manifest: judged.torn, problem: judged.problem };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return `cannot be read: ${errorMessage(error)}`;
  }
}

/** Whether two manifests record the same objects: each key at the same size and sha256. */
function sameObjects(one: AnyManifest, other: AnyManifest): boolean {
  const records = (m: AnyManifest) =>
    JSON.stringify(
      manifestObjects(m)
        .map(({ key, size, sha256 }) => [key, size, sha256])
        .sort(),
    );
  return records(one) === records(other);
}

/** Why a failure is this store's copy's, not the target's: its bytes, or its storage class. */
function storeFault(error: unknown): string | undefined {
  for (let each: unknown = error; each; each = (each as { cause?: unknown }).cause) {
    if (each instanceof ChecksumError) return `its copy fails its sha256: ${each.message}`;
    if (each instanceof ArchivedObject)
      return `its copy is archived and must be thawed first: ${each.message}`;
  }
  return undefined;
}

function sourcesTable(
  passed: readonly [string, string][],
  sources: readonly Source[],
  used?: string,
): Table {
  const why = new Map(passed);
  return {
    title: 'Stores',
    header: ['store', 'copy'],
    rows: sources.map(({ label }) => [
      label,
      label === used
        ? 'restored from here'
        : why.has(label)
          ? `passed over: ${why.get(label)!}`
          : 'not needed',
    ]),
  };
}

function withSources(
  result: ModeResult,
  used: string,
  passed: readonly [string, string][],
  sources: readonly Source[],
): ModeResult {
  const over =
    passed.length > 0 ? ` (passed over: ${passed.map(([store]) => store).join(', ')})` : '';
  return {
    ...result,
    headline: `${result.headline}; restored from ${used}${over}`,
    facts: [...result.facts, ['Restored from', `${used}${over}`]],
    tables: [...result.tables, sourcesTable(passed, sources, used)],
    details: { ...result.details, restoredFrom: used, passedOver: Object.fromEntries(passed) },
  };
}

function withSourcesOnFailure(
  error: unknown,
  passed: readonly [string, string][],
  sources: readonly Source[],
): unknown {
  if (!(error instanceof ModeFailure) || passed.length === 0) return error;
  const tables = [...(error.partial.tables ?? []), sourcesTable(passed, sources)];
  return new ModeFailure(error.message, { ...error.partial, tables }, error.cause, error.final);
}
