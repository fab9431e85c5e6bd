/**
 * One backup copied byte for byte: each object streamed from the source into the destination,
 * its sha256 and size checked as it passes (an object that does not match never completes
 * there), then the manifest's exact bytes, last. Nothing is decrypted or recompressed, so the
 * copy opens with the same keys and its manifest holds; a copy cut short publishes no manifest.
 */
import { pipeline } from 'node:stream';
import { CancelledError } from '../core/errors.js';
import { manifestKey } from '../core/layout.js';
import { manifestObjects, type AnyManifest, type ObjectRecord } from '../core/manifest.js';
import { checkedBytes } from '../pipeline/read.js';
import { isComplete, judgeBackup, MANIFEST_MAX_BYTES, type SetEntry } from '../storage/catalog.js';
import type { Store } from '../storage/index.js';

export interface CopyContext {
  source: Store;
  destination: Store;
  name: string;
  now: () => Date;
  signal: AbortSignal;
}

/**
 * Copies the backup `entry` lists in the source. Its manifest is read again and judged here:
 * what is published is exactly the text whose checksums the objects were checked against.
 */
export async function copyBackup(entry: SetEntry, ctx: CopyContext): Promise<AnyManifest> {
  const key = manifestKey(ctx.name, entry.id);
  const text = await ctx.source.read(key, MANIFEST_MAX_BYTES);
  const judged = judgeBackup(entry, text.toString('utf8'), ctx.name, ctx.now());
  if (!isComplete(judged)) throw new Error(`in the source: ${judged.problem}`);
  for (const object of manifestObjects(judged.manifest)) await copyObject(object, ctx);
  if (ctx.signal.aborted) throw new CancelledError();
  await ctx.destination.put(key, text);
  return judged.manifest;
}

async function copyObject(object: ObjectRecord, ctx: CopyContext): Promise<void> {
  const { signal } = ctx;
  const body = await ctx.source.download(object.key, { signal });
  try {
    const checked = pipeline(body, checkedBytes(object), () => undefined);
    const { size } = await ctx.destination.upload(object.key, checked, {
      signal,
      expectedBytes: object.size,
    });
    if (size !== object.size) {
      throw new Error(`the destination holds ${size} bytes of ${object.key}, not ${object.size}`);
    }
  } catch (error) {
    throw signal.aborted ? new CancelledError() : error;
  } finally {
    body.destroy();
  }
}
