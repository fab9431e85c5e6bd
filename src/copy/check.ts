/**
 * `copy-check: sha256`: a backup the listing shows complete at the destination is read back
 * there, its manifest compared byte for byte with the source's and every object hashed against
 * it, before it is left as it is. An object in an archive class there (GLACIER, DEEP_ARCHIVE)
 * cannot be read until thawed: it is judged by the listing alone. Needs read access at the
 * destination, which write-only credentials lack: a refusal fails the copy to that store and
 * says so.
 */
import { errorMessage } from '../core/errors.js';
import { manifestKey } from '../core/layout.js';
import { manifestObjects, type AnyManifest } from '../core/manifest.js';
import { ChecksumError } from '../pipeline/checksum.js';
import { checkStored } from '../pipeline/read.js';
import { MANIFEST_MAX_BYTES } from '../storage/catalog.js';
import { ArchivedObject } from '../storage/index.js';
import type { CopyContext } from './backup.js';
import type { Verdict } from './compare.js';

export async function compareBytes(
  id: string,
  manifest: AnyManifest,
  ctx: CopyContext,
): Promise<Verdict> {
  try {
    const key = manifestKey(ctx.name, id);
    const [ours, theirs] = await Promise.all([
      ctx.source.read(key, MANIFEST_MAX_BYTES),
      ctx.destination.read(key, MANIFEST_MAX_BYTES),
    ]);
    if (!ours.equals(theirs))
      return { equal: false, reason: 'its manifest there differs from the source’s' };
    for (const object of manifestObjects(manifest)) {
      await checkStored(ctx.destination, object, ctx.signal).catch((error: unknown) => {
        // Cold there: it cannot be read unthawed, and the listing already found it at its size.
        if (!(error instanceof ArchivedObject)) throw error;
      });
    }
    return { equal: true };
  } catch (error) {
    if (error instanceof ChecksumError) return { equal: false, reason: `there, ${error.message}` };
    if (ctx.signal.aborted) throw error;
    throw new Error(
      `copy-check: sha256 reads every backup at the destination back, and it could not (${errorMessage(error)}); give read access there, or use copy-check: listing`,
      { cause: error },
    );
  }
}
