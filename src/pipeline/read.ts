/**
 * The read path every reading mode shares: download → hash → decrypt → decompress. The stored
 * bytes are hashed independently of what consumes the archive, so when a consumer fails on
 * damaged bytes the run still reports the real cause: the checksum that does not match.
 */
import { createHash } from 'node:crypto';
import {
  PassThrough,
  pipeline,
  Transform,
  Writable,
  type Readable,
  type TransformCallback,
} from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import type { Compression, Encryption } from '../core/layout.js';
import type { ObjectRecord } from '../core/manifest.js';
import type { Decryption } from '../core/settings.js';
import type { Store } from '../storage/index.js';
import { decompressor } from './compress.js';
import type { Opened } from './encryption-layer.js';
import { keysFor } from './backup-identity.js';
import { ChecksumError, checkAgainst, type StoredBytes } from './checksum.js';
import { unseal } from './seal.js';

/** The layers every object of a backup went through, as its manifest records them. */
export interface Layers {
  compression: Compression;
  encryption: Encryption;
  /** The backup's own identity, which the passphrase opens and the objects are encrypted to. */
  identity?: ObjectRecord;
}

/**
 * Runs `consume` on one object's archive bytes (decrypted and decompressed), then checks that
 * every stored byte matched the manifest's size and sha256. Throws ChecksumError for a mismatch,
 * even when the damage also broke decryption or decompression first.
 */
export async function readObject<T>(
  store: Store,
  object: ObjectRecord,
  layers: Layers,
  keys: Decryption,
  consume: (archive: Readable) => Promise<T>,
  signal?: AbortSignal,
  /** Hand over the bytes still compressed: the consumer decompresses them (zstd's own program). */
  keepCompressed = false,
): Promise<T> {
  // Before the download: a passphrase that does not open the identity fails at once.
  const opening = await keysFor(store, layers, keys);
  signal?.throwIfAborted();
  const body = await store.download(object.key, { signal });
  const { forward, stored } = hashAndForward(body);
  const verified = stored.then((actual) => checkAgainst(object, actual));
  verified.catch(() => undefined);
  let opened: Opened | undefined;
  try {
    opened = await unseal(forward, layers.encryption, opening);
    const result = await consume(decompressed(opened.plain, layers, keepCompressed));
    // The consumer may stop before the end (a table of contents is at the start): hash the rest.
    forward.destroy();
    await verified;
    return result;
  } catch (error) {
    forward.destroy();
    // Stopped: the rest is not read. Otherwise damage shows first as a decryption or archive
    // error, and the checksum of the rest names the real cause.
    if (signal?.aborted) throw error;
    await verified;
    throw error;
  } finally {
    body.destroy();
    await opened?.close();
  }
}

function hashAndForward(body: Readable): { forward: PassThrough; stored: Promise<StoredBytes> } {
  const hash = createHash('sha256');
  const forward = new PassThrough({ highWaterMark: 1 << 20 });
  let bytes = 0;
  const stored = new Promise<StoredBytes>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (!forward.destroyed && !forward.write(chunk)) body.pause();
    });
    forward.on('drain', () => body.resume());
    // A consumer that stopped early (or failed) no longer reads: keep downloading to hash it all.
    forward.on('close', () => body.resume());
    body.on('end', () => {
      forward.end();
      resolve({ bytes, sha256: hash.digest('hex') });
    });
    body.on('error', (error) => {
      forward.destroy(error);
      reject(error);
    });
  });
  return { forward, stored };
}

/**
 * The bytes of `object` as they pass, hashed and counted: the stream ends only once they matched
 * the manifest's size and sha256, and errors with ChecksumError instead, so that whatever it feeds
 * (an upload) never completes with bytes that do not match. Its last chunk is held back until
 * then: a consumer that completes on its byte count (a PutObject of a known length) never has
 * them all. Too many bytes fail at once.
 */
export function checkedBytes(object: ObjectRecord): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      bytes += chunk.length;
      if (bytes > object.size) {
        done(
          new ChecksumError(
            `${object.key} holds more than the ${object.size} bytes its manifest records`,
          ),
        );
        return;
      }
      hash.update(chunk);
      const previous = held;
      held = chunk;
      done(null, previous);
    },
    flush(done: TransformCallback) {
      try {
        checkAgainst(object, { bytes, sha256: hash.digest('hex') });
        done(null, held);
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/**
 * Reads `object` from `store` to its end, every byte hashed: resolves when it matches the
 * record, rejects with ChecksumError when not (or with the store's error when it cannot be read).
 */
export async function checkStored(
  store: Store,
  object: ObjectRecord,
  signal?: AbortSignal,
): Promise<void> {
  const body = await store.download(object.key, { signal });
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  await pipelineAsync(body, checkedBytes(object), discard, ...(signal ? [{ signal }] : []));
}

function decompressed(plain: Readable, layers: Layers, keepCompressed: boolean): Readable {
  const decompress = keepCompressed ? undefined : decompressor(layers.compression);
  return decompress ? pipeline(plain, decompress, () => undefined) : plain;
}
