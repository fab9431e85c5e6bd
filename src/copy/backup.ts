/**
 * One backup copied byte for byte: each object streamed from the source into the destination,
 * its sha256 and size checked as it passes (an object that does not match never completes
 * there), then its signature when it has one, then the manifest's exact bytes, last. Nothing is
 * decrypted or recompressed, so the copy opens with the same keys, its manifest holds and its
 * signature verifies; a copy cut short publishes no manifest.
 */
import { pipeline, Transform } from 'node:stream';
import { CancelledError } from '../core/errors.js';
import { manifestKey } from '../core/layout.js';
import { manifestObjects, type AnyManifest, type ObjectRecord } from '../core/manifest.js';
import { SIGNATURE_MAX_BYTES } from '../core/sshsig.js';
import { checkedBytes } from '../pipeline/read.js';
import { own } from '../process/owned.js';
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
  // Before the manifest, as the backup wrote it: a signed backup is never there unsigned.
  if (entry.signature) {
    const signature = await ctx.source.read(entry.signature.key, SIGNATURE_MAX_BYTES);
    await ctx.destination.put(entry.signature.key, signature);
  }
  await ctx.destination.put(key, text);
  return judged.manifest;
}

async function copyObject(object: ObjectRecord, ctx: CopyContext): Promise<void> {
  const { signal } = ctx;
  const body = await ctx.source.download(object.key, { signal });
  try {
    const checked = pipeline(body, ownedChunks(), checkedBytes(object), () => undefined);
    const { size } = await ctx.destination.upload(object.key, checked, {
      signal,
      size: object.size,
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

/**
 * Marks each chunk of a download as owned: a socket read made it, and it goes on whole to one
 * consumer, so the store that copies or writes it last can release its memory at once instead of
 * leaving it to the collector (process/owned.ts): memory stays flat whatever the object's size.
 */
function ownedChunks(): Transform {
  return new Transform({
    transform: (chunk: Buffer, _encoding, done) => done(null, own(chunk)),
  });
}
