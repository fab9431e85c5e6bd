/**
 * What a set holds, from one paged listing of `<name>/`: backups (ids with a manifest), leftovers
 * of failed runs (objects with no manifest), and how many keys were not ours. Ids sort by their
 * second, so the listing alone orders backups to the second; within one second only the manifests
 * order them (`newestFirst`), and only the manifests a mode needs are read.
 *
 * A listed manifest is not yet a backup. Only a *complete* backup (a manifest that parses as
 * exactly what a backup writes, for its own key, dated no later than the clock allows, whose
 * object is listed at the size it records) is counted, kept or chosen as the newest. Anything
 * else is *unusable*: reported by name, never counted, and never deleted by a keep-policy.
 */
import {
  idTime,
  newestFirst,
  sameIdSecond,
  secondOf,
  startedAfter,
  type Dated,
} from '../core/ids.js';
import { classifyKey, isIdentityKey, type RecordMode } from '../core/layout.js';
import {
  ManifestError,
  manifestObjects,
  parseManifest,
  type AnyManifest,
} from '../core/manifest.js';
import type { Logger } from '../core/types.js';
import { ObjectTooLarge, type Store, type StoredObject } from './index.js';

/** A manifest is a few kilobytes (row counts of thousands of tables fit well under this). */
export const MANIFEST_MAX_BYTES = 1 << 20;

/**
 * How far ahead of this machine's clock a backup may be dated and still count: two machines'
 * clocks differ a little (5 minutes is the usual bound, as in Kerberos). Beyond it the date is
 * wrong, and a wrong date would win every "newest" and every keep-within window.
 */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;

export interface SetEntry {
  id: string;
  manifest?: StoredObject;
  objects: StoredObject[];
  /** The manifest's signature (`<id>.manifest.json.sig`), when the backup was signed. */
  signature?: StoredObject;
}

/** Every key an entry holds besides its manifest: what goes when the backup or leftover goes. */
export function keysBesideManifest(entry: SetEntry): StoredObject[] {
  return entry.signature ? [...entry.objects, entry.signature] : entry.objects;
}

/** A key of the set's history folder: the record of one restore-test or verify-latest run. */
export interface RecordEntry extends StoredObject {
  /** The run's id: its start time and a random suffix. */
  id: string;
  mode: RecordMode;
}

export interface SetListing {
  /** Ids with a manifest, newest second first (within a second, in no order of time). */
  backups: SetEntry[];
  /** Ids with data objects but no manifest: failed or in-flight runs. Newest first. */
  leftovers: SetEntry[];
  /** History records, newest first: never a backup, a leftover or foreign. */
  records: RecordEntry[];
  /** Keys under `<name>/` that do not match the layout; never touched. */
  foreignKeys: number;
}

export interface CompleteBackup {
  entry: SetEntry;
  manifest: AnyManifest;
}

export interface UnusableBackup {
  entry: SetEntry;
  /** The manifest's key. */
  key: string;
  /** One line naming the key and what is wrong. */
  problem: string;
  /** A readable, valid manifest whose objects are missing or of another size: a torn backup. */
  torn?: AnyManifest;
}

export type Judged = CompleteBackup | UnusableBackup;

export const isComplete = (judged: Judged): judged is CompleteBackup => 'manifest' in judged;

export async function listSet(
  store: Store,
  name: string,
  prefix = `${name}/`,
): Promise<SetListing> {
  const entries = new Map<string, SetEntry>();
  const records: RecordEntry[] = [];
  let foreignKeys = 0;
  for await (const object of store.list(prefix)) {
    const kind = classifyKey(name, object.key);
    if (!kind) {
      foreignKeys += 1;
      continue;
    }
    if (kind.kind === 'record') {
      records.push({ ...object, id: kind.id, mode: kind.mode });
      continue;
    }
    const entry = entries.get(kind.id) ?? { id: kind.id, objects: [] };
    if (kind.kind === 'manifest') entry.manifest = object;
    else if (kind.kind === 'signature') entry.signature = object;
    else entry.objects.push(object);
    entries.set(kind.id, entry);
  }
  const newestFirst = [...entries.values()].sort(newestIdFirst);
  return {
    backups: newestFirst.filter((entry) => entry.manifest),
    leftovers: newestFirst.filter((entry) => !entry.manifest),
    records: records.sort(newestIdFirst),
    foreignKeys,
  };
}

/** Newest second first: the order a listing alone can give (ids of one second tie in time). */
const newestIdFirst = (a: { id: string }, b: { id: string }): number =>
  a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

/**
 * An entry's size as listed: its data object's, or the sum of a server backup's objects (those
 * in its folder), which for a complete backup is what its manifest records (its identity is not
 * data: manifestSize leaves it out too).
 */
export function listedSize(entry: SetEntry): number | undefined {
  const inFolder = entry.objects.filter((object) => object.key.includes(`/${entry.id}/`));
  if (inFolder.length === 0) {
    return entry.objects.find((object) => !isIdentityKey(object.key, entry.id))?.size;
  }
  return inFolder.reduce((sum, object) => sum + object.size, 0);
}

const manifestKeyOf = (name: string, entry: SetEntry): string =>
  entry.manifest?.key ?? `${name}/${entry.id}.manifest.json`;

/**
 * Whether a listed entry is a complete backup, from its manifest's text. Pure. `now` is the
 * clock that dates may not run ahead of; without it (a backup the user named by id) dates are
 * only checked against each other.
 */
export function judgeBackup(entry: SetEntry, text: string, name: string, now?: Date): Judged {
  const key = manifestKeyOf(name, entry);
  let manifest: AnyManifest;
  try {
    manifest = parseManifest(text, key, name);
  } catch (error) {
    if (error instanceof ManifestError) return { entry, key, problem: error.message };
    throw error;
  }
  const dating = datingProblem(manifest, entry, key, now);
  if (dating) return { entry, key, problem: dating };
  const torn = objectProblem(manifest, entry, key);
  return torn ? { entry, key, problem: torn, torn: manifest } : { entry, manifest };
}

function datingProblem(
  manifest: AnyManifest,
  entry: SetEntry,
  key: string,
  now: Date | undefined,
): string | undefined {
  if (manifest.id !== entry.id) return `corrupt manifest ${key}: records id ${manifest.id}`;
  // The id is the start time to the second: createdAt is that second, plus a fraction.
  const idMs = idTime(manifest.id)?.getTime() ?? NaN;
  const createdMs = Date.parse(manifest.createdAt);
  if (!(createdMs >= idMs && createdMs < idMs + 1000)) {
    return `corrupt manifest ${key}: createdAt ${manifest.createdAt} disagrees with its id`;
  }
  if (Date.parse(manifest.completedAt) < createdMs) {
    return `corrupt manifest ${key}: completedAt ${manifest.completedAt} is before createdAt`;
  }
  const latest = Math.max(idMs, Date.parse(manifest.completedAt));
  if (now && latest > now.getTime() + CLOCK_TOLERANCE_MS) {
    return `backup ${key} is dated ${new Date(latest).toISOString()}, ahead of this machine's clock (${now.toISOString()}): the clock of the machine that made it, or of this one, is wrong`;
  }
  return undefined;
}

/** Every object must be listed beside its manifest, at the size recorded: else the backup is torn. */
function objectProblem(
  manifest: AnyManifest,
  entry: SetEntry,
  manifestKey: string,
): string | undefined {
  for (const { key, size } of manifestObjects(manifest)) {
    const stored = entry.objects.find((object) => object.key === key);
    if (!stored) return `torn backup ${manifestKey}: its object ${key} is missing from the store`;
    if (stored.size !== size) {
      return `torn backup ${manifestKey}: its object ${key} holds ${stored.size} bytes, but its manifest records ${size}`;
    }
  }
  return undefined;
}

/** Reads an entry's manifest (never more than MANIFEST_MAX_BYTES of it) and judges it. */
export async function judgeEntry(
  store: Store,
  name: string,
  entry: SetEntry,
  now?: Date,
): Promise<Judged> {
  const key = manifestKeyOf(name, entry);
  const tooLarge = {
    entry,
    key,
    problem: `corrupt manifest ${key}: larger than ${MANIFEST_MAX_BYTES} bytes, not read`,
  };
  if ((entry.manifest?.size ?? 0) > MANIFEST_MAX_BYTES) return tooLarge;
  let bytes: Buffer;
  try {
    bytes = await store.read(key, MANIFEST_MAX_BYTES);
  } catch (error) {
    if (error instanceof ObjectTooLarge) return tooLarge;
    throw error;
  }
  return judgeBackup(entry, bytes.toString('utf8'), name, now);
}

/** Manifests read at once: enough to hide a store's latency, few enough to be a polite client. */
const READS_AT_ONCE = 8;

/**
 * Judges every entry given (a listing's backups, newest first), in order. A manifest that cannot
 * be read at all (the store failed) fails the whole call: a prune must stop rather than decide
 * from what it missed.
 */
export async function judgeAll(
  store: Store,
  name: string,
  entries: readonly SetEntry[],
  now: Date,
): Promise<Judged[]> {
  return inParallel(entries, (entry) => judgeEntry(store, name, entry, now));
}

/** `read` for each item, at most READS_AT_ONCE at a time, the results in the items' order. */
export async function inParallel<T, R>(
  items: readonly T[],
  read: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await read(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: READS_AT_ONCE }, worker));
  return results;
}

/**
 * The newest complete backup, reading manifests newest first only as far as needed, and the
 * unusable entries newer than it (which a reader must report: they hide a newer run's failure).
 */
export async function newestComplete(
  store: Store,
  name: string,
  entries: readonly SetEntry[],
  now: Date,
): Promise<{ newest?: CompleteBackup; newer: UnusableBackup[] }> {
  const newer: UnusableBackup[] = [];
  for (const [i, entry] of entries.entries()) {
    const judged = await judgeEntry(store, name, entry, now);
    if (isComplete(judged)) {
      const sameSecond = entries.slice(i + 1).filter((other) => sameIdSecond(entry.id, other.id));
      return { newest: await startedLast(store, name, judged, sameSecond, now), newer };
    }
    newer.push(judged);
  }
  return { newer };
}

/** A complete backup as the one order of backups (`newestFirst`) reads it. */
export const datedOf = ({ entry, manifest }: CompleteBackup): Dated => ({
  id: entry.id,
  createdAt: manifest.createdAt,
});

/** Complete backups in the one order of backups, newest first. */
export function completeNewestFirst(backups: readonly CompleteBackup[]): CompleteBackup[] {
  return [...backups].sort((a, b) => newestFirst(datedOf(a), datedOf(b)));
}

/**
 * Ids of one second sort by their random suffix, not by time: among the complete backups
 * started in the same second as `first`, the one whose manifest says it started last.
 */
async function startedLast(
  store: Store,
  name: string,
  first: CompleteBackup,
  ofItsSecond: readonly SetEntry[],
  now: Date,
): Promise<CompleteBackup> {
  let newest = first;
  for (const entry of ofItsSecond) {
    const judged = await judgeEntry(store, name, entry, now);
    if (isComplete(judged) && startedAfter(datedOf(judged), datedOf(newest))) newest = judged;
  }
  return newest;
}

/**
 * The complete backup made before `newest`, which `newestComplete` found in `entries` (so it is
 * the last started of its second): the listing cannot order a second's ids, so every other entry
 * of its second is a candidate, whatever its suffix.
 */
export async function completeBefore(
  store: Store,
  name: string,
  entries: readonly SetEntry[],
  newest: CompleteBackup,
  now: Date,
): Promise<CompleteBackup | undefined> {
  const second = secondOf(newest.entry.id);
  const older = entries.filter(
    (entry) => entry.id !== newest.entry.id && secondOf(entry.id) <= second,
  );
  return (await newestComplete(store, name, older, now)).newest;
}

/** The lines that name unusable entries, at most `shown` of them, for a log or a failure. */
export function unusableText(unusable: readonly UnusableBackup[], shown = 3): string {
  const more = unusable.length > shown ? `; and ${unusable.length - shown} more` : '';
  return (
    unusable
      .slice(0, shown)
      .map((item) => item.problem)
      .join('; ') + more
  );
}

/**
 * The manifest of `backupId` in the set, or of its newest complete backup for `latest` (naming
 * any unusable newer entry in a warning). A named backup must be complete too, but its date is
 * not held against the clock: the user chose it.
 */
export async function findBackup(
  ctx: { store: Store; log: Logger; now: () => Date },
  name: string,
  backupId: string,
): Promise<AnyManifest> {
  const { store } = ctx;
  if (backupId === 'latest') {
    const listing = await listSet(store, name);
    const { newest, newer } = await newestComplete(store, name, listing.backups, ctx.now());
    if (newer.length > 0) {
      ctx.log.warning(
        `skipped ${newer.length} unusable backup(s) newer than the newest complete one: ${unusableText(newer)}`,
      );
    }
    if (!newest) {
      throw new Error(`no complete backup of set "${name}" in ${store.description}`);
    }
    return newest.manifest;
  }
  const judged = await judgeId(store, name, backupId);
  if (!judged) throw new Error(`no backup ${backupId} in set "${name}" (${store.description})`);
  if (!isComplete(judged)) throw new Error(judged.problem);
  return judged.manifest;
}

/** The backup `id` of the set as the store holds it, judged; undefined when it has no manifest. */
export async function judgeId(store: Store, name: string, id: string): Promise<Judged | undefined> {
  // Ids have one length, so this prefix holds this id's manifest and objects (a server backup's
  // are in its own folder) and nothing of any other id.
  const entry = (await listSet(store, name, `${name}/${id}`)).backups[0];
  return entry?.id === id ? judgeEntry(store, name, entry) : undefined;
}
