/**
 * Whether a backup is already at a destination, complete and equal, from the destination's
 * listing alone (what write-only credentials may see): its manifest at the size of the source's,
 * every object at the size its manifest records, and none written after the manifest. A copy
 * writes the manifest last, so an object newer than its manifest was rewritten since: not the
 * copy that was made. Pure.
 */
import { manifestObjects, type AnyManifest } from '../core/manifest.js';
import type { SetEntry } from '../storage/catalog.js';

export type Verdict = { equal: true } | { equal: false; reason: string };

export function compareListed(
  source: SetEntry,
  manifest: AnyManifest,
  there: SetEntry | undefined,
): Verdict {
  const differs = (reason: string): Verdict => ({ equal: false, reason });
  if (!there?.manifest) {
    return differs(there?.objects.length ? 'only objects without a manifest there' : 'not there');
  }
  if (there.manifest.size !== source.manifest?.size) {
    return differs(
      `its manifest there holds ${there.manifest.size} bytes, the source's ${source.manifest?.size ?? '?'}`,
    );
  }
  if (source.signature && there.signature?.size !== source.signature.size) {
    return differs(
      there.signature ? 'its signature there differs in size' : 'its signature is missing there',
    );
  }
  const published = there.manifest.modified?.getTime();
  for (const { key, size } of manifestObjects(manifest)) {
    const object = there.objects.find((listed) => listed.key === key);
    if (!object) return differs(`${key} is missing there`);
    if (object.size !== size)
      return differs(`${key} holds ${object.size} bytes there, not ${size}`);
    const written = object.modified?.getTime();
    if (published !== undefined && written !== undefined && written > published) {
      return differs(`${key} was written there after its manifest`);
    }
  }
  return { equal: true };
}
