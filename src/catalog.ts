/**
 * What a set holds, from one paged listing of `<name>/`: backups (ids with a manifest), leftovers
 * of failed runs (objects with no manifest), and how many keys were not ours. Ids sort by time,
 * so the listing alone orders backups; only the manifests a mode needs are read.
 */
import { classifyKey } from './layout.js';
import { ManifestError, parseManifest, type Manifest } from './manifest.js';
import type { Store, StoredObject } from './storage/index.js';

export interface SetEntry {
  id: string;
  manifest?: StoredObject;
  objects: StoredObject[];
}

export interface SetListing {
  /** Ids with a manifest, newest first. */
  backups: SetEntry[];
  /** Ids with data objects but no manifest: failed or in-flight runs. Newest first. */
  leftovers: SetEntry[];
  /** Keys under `<name>/` that do not match the layout; never touched. */
  foreignKeys: number;
}

export async function listSet(store: Store, name: string): Promise<SetListing> {
  const entries = new Map<string, SetEntry>();
  let foreignKeys = 0;
  for await (const object of store.list(`${name}/`)) {
    const kind = classifyKey(name, object.key);
    if (!kind) {
      foreignKeys += 1;
      continue;
    }
    const entry = entries.get(kind.id) ?? { id: kind.id, objects: [] };
    if (kind.kind === 'manifest') entry.manifest = object;
    else entry.objects.push(object);
    entries.set(kind.id, entry);
  }
  const newestFirst = [...entries.values()].sort((a, b) =>
    a.id < b.id ? 1 : a.id > b.id ? -1 : 0,
  );
  return {
    backups: newestFirst.filter((entry) => entry.manifest),
    leftovers: newestFirst.filter((entry) => !entry.manifest),
    foreignKeys,
  };
}

/** Reads and validates an entry's manifest; it must be this set's and this id's. */
export async function readManifest(store: Store, name: string, entry: SetEntry): Promise<Manifest> {
  const key = entry.manifest?.key ?? `${name}/${entry.id}.manifest.json`;
  const text = (await store.read(key)).toString('utf8');
  const manifest = parseManifest(text, key, name);
  if (manifest.id !== entry.id) throw new ManifestError(key, `records id ${manifest.id}`);
  return manifest;
}

/** The manifest of `backupId` in the set, or of its newest backup for `latest`. */
export async function findBackup(store: Store, name: string, backupId: string): Promise<Manifest> {
  if (backupId === 'latest') {
    const { backups } = await listSet(store, name);
    const newest = backups[0];
    if (!newest) throw new Error(`no backup of set "${name}" in ${store.description}`);
    return readManifest(store, name, newest);
  }
  const entry: SetEntry = { id: backupId, objects: [] };
  const key = `${name}/${backupId}.manifest.json`;
  if (!(await store.stat(key)))
    throw new Error(`no backup ${backupId} in set "${name}" (${store.description})`);
  return readManifest(store, name, entry);
}
