/**
 * verify-latest over several stores (`storage`, one per line, the first the primary): each other
 * store's newest complete backup, its age, and how far it lags the primary. The primary's newest
 * backup must be in every store, complete, under the same manifest, and with `deep` every byte of
 * each copy is hashed against it (the bytes are the primary's, whose archive was read: a matching
 * sha256 is the same archive). A store that lacks it, holds it damaged, or cannot be reached fails
 * the run, named.
 */
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { diagnose } from '../core/retry.js';
import { newestFirst, secondOf, startedAfter, type Dated } from '../core/ids.js';
import { formatLag, lagMs } from '../core/lag.js';
import { storeLabel } from '../core/locations.js';
import { manifestObjects, type AnyManifest } from '../core/manifest.js';
import type { StoreSettings, VerifySettings } from '../core/settings.js';
import { openOther, type RunContext, type Table } from '../core/types.js';
import { checkStored } from '../pipeline/read.js';
import {
  datedOf,
  isComplete,
  judgeEntry,
  listSet,
  newestComplete,
  type SetListing,
} from '../storage/catalog.js';
import { signatureVerdict } from '../storage/signature.js';
import { ArchivedObject, type Store } from '../storage/index.js';

/** What is wrong, by the kind of repair that may mend it (a fresh backup mends the first three). */
export type ProblemKind = 'missing' | 'unsigned' | 'stale' | 'damaged' | 'small' | 'unreachable';

export interface Problem {
  kind: ProblemKind;
  line: string;
  /** An unreachable store's error, which the retry policy judges. */
  cause?: unknown;
}

export interface StoreCheck {
  store: string;
  /** The newest complete backup there, and when it was made. */
  newest?: { id: string; createdAt: string };
  lagMs?: number;
  /** What became of the primary's newest backup there. */
  status: string;
  problem?: Problem;
}

/** Every other store, checked in order against the primary's newest backup. */
export async function checkOtherStores(
  newest: AnyManifest,
  primary: SetListing,
  settings: VerifySettings,
  ctx: RunContext,
): Promise<StoreCheck[]> {
  const checks: StoreCheck[] = [];
  for (const other of settings.otherStores) {
    checks.push(await checkStore(other, newest, primary, settings, ctx));
  }
  return checks;
}

async function checkStore(
  settings: StoreSettings,
  newest: AnyManifest,
  primary: SetListing,
  verify: VerifySettings,
  ctx: RunContext,
): Promise<StoreCheck> {
  const label = storeLabel(settings.location);
  const now = ctx.now();
  try {
    const store = await openOther(ctx, settings);
    const listing = await listSet(store, verify.name);
    const found = await newestComplete(store, verify.name, listing.backups, now);
    const there = found.newest && datedOf(found.newest);
    const lagMs = await lagBehind(primary, there, verify.name, ctx);
    const copy = await checkCopy(store, label, listing, newest, verify, ctx);
    const check: StoreCheck = { store: label, newest: there, lagMs, status: copy.status };
    return copy.problem ? { ...check, problem: copy.problem } : check;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const line = `${label} cannot be read: ${errorMessage(error)}`;
    return {
      store: label,
      status: `UNREACHABLE: ${errorMessage(error)}`,
      problem: { kind: 'unreachable', line, cause: error },
    };
  }
}

/** The primary's newest backup in this store: present, complete, the same, and (deep) intact. */
async function checkCopy(
  store: Store,
  label: string,
  listing: SetListing,
  newest: AnyManifest,
  settings: VerifySettings,
  ctx: RunContext,
): Promise<{ status: string; problem?: Problem }> {
  const entry = listing.backups.find((each) => each.id === newest.id);
  const missing = (why: string) => ({
    status: `MISSING: ${why}`,
    problem: {
      kind: 'missing' as const,
      line: `the newest backup ${newest.id} is missing in ${label}: ${why}`,
    },
  });
  if (!entry) return missing('not there');
  const judged = await judgeEntry(store, settings.name, entry, ctx.now());
  if (!isComplete(judged)) return missing(judged.problem);
  if (JSON.stringify(judged.manifest) !== JSON.stringify(newest)) {
    return missing('its manifest there is not the primary’s');
  }
  const { refused } = await signatureVerdict(store, newest, settings.signingPublicKeys);
  if (refused) {
    const line = `the copy in ${label}: ${refused}`;
    return { status: `UNSIGNED: ${refused}`, problem: { kind: 'unsigned', line } };
  }
  if (!settings.deep) return { status: 'complete (listing)' };
  const archived: string[] = [];
  for (const object of manifestObjects(newest)) {
    try {
      await checkStored(store, object, ctx.signal);
    } catch (error) {
      // A store that fails mid-read (a cut, a refused connection) cannot be read: not damage.
      if (ctx.signal.aborted || diagnose(error).transient) throw error;
      // Cold, not damaged: the listing (present, at its size) is all that can be judged unthawed.
      if (error instanceof ArchivedObject) {
        archived.push(object.key);
        continue;
      }
      const line = `the copy of ${newest.id} in ${label} is damaged: ${errorMessage(error)}`;
      return { status: `DAMAGED: ${errorMessage(error)}`, problem: { kind: 'damaged', line } };
    }
  }
  if (archived.length === 0) return { status: 'sha256 of every object matches' };
  return {
    status: `archived: ${archived.length} object(s) in an archive class, judged by listing (present, at their size); a deep check needs them thawed (restore-object) first`,
  };
}

/**
 * How long ago the oldest of the primary's complete backups made after the store's newest was
 * made (0 when the store holds the primary's newest). Only the primary's entries of that second
 * or later are judged: the listing orders seconds, only manifests order a second's backups.
 */
async function lagBehind(
  primary: SetListing,
  newestThere: Dated | undefined,
  name: string,
  ctx: RunContext,
): Promise<number> {
  const candidates = primary.backups.filter(
    (entry) => newestThere === undefined || secondOf(entry.id) >= secondOf(newestThere.id),
  );
  const newer: Dated[] = [];
  for (const entry of candidates) {
    const judged = await judgeEntry(ctx.store, name, entry, ctx.now());
    if (!isComplete(judged)) continue;
    const dated = datedOf(judged);
    if (newestThere === undefined || startedAfter(dated, newestThere)) newer.push(dated);
  }
  // None of them is in the store: its newest is older than each.
  return lagMs(newer.sort(newestFirst), () => false, ctx.now());
}

/** The stores table: the primary first, then each other store. */
export function storesTable(
  primary: { store: string; id: string; createdAt: string },
  checks: readonly StoreCheck[],
  now: Date,
): Table {
  const age = (createdAt: string) =>
    formatDuration(Math.max(0, now.getTime() - Date.parse(createdAt)));
  return {
    title: 'Stores',
    header: ['store', 'newest complete backup', 'age', 'lag', `copy of ${primary.id}`],
    rows: [
      [primary.store, primary.id, age(primary.createdAt), 'primary', 'verified above'],
      ...checks.map((check) => [
        check.store,
        check.newest?.id ?? 'none',
        check.newest ? age(check.newest.createdAt) : '',
        check.lagMs === undefined ? '?' : formatLag(check.lagMs),
        check.status,
      ]),
    ],
  };
}
