/**
 * The write path every backup takes: source → compress → encrypt → hash → store, then the
 * manifest, last. A failure at any step leaves neither the object nor a manifest behind.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { CancelledError } from '../errors.js';
import { formatBytes, formatRate } from '../format.js';
import { manifestKey, objectExtension, objectKey, type Compression } from '../layout.js';
import { serializeManifest, type Manifest } from '../manifest.js';
import type { Logger } from '../modes/types.js';
import type { Store } from '../storage/index.js';
import { compressor } from './compress.js';
import { encryptStream, type EncryptionKeys } from './encrypt.js';
import { Batcher } from './batch.js';
import { HashingCounter } from './hash.js';
import type { ArchiveSource } from './source.js';

export interface PublishOptions {
  store: Store;
  name: string;
  id: string;
  createdAt: Date;
  source: ArchiveSource;
  compression: Compression;
  compressionLevel?: number;
  encryption?: EncryptionKeys;
  tool: Manifest['tool'];
  run?: Manifest['run'];
  log: Logger;
  now: () => Date;
  signal: AbortSignal;
  /** How often to log progress; a dump of any size reports at least this often. */
  progressEveryMs?: number;
}

export interface Published {
  manifest: Manifest;
  manifestKey: string;
  /** Bytes the source produced, before compression and encryption. */
  rawBytes: number;
}

export async function publish(options: PublishOptions): Promise<Published> {
  const { store, name, id, source, signal } = options;
  const encryption = options.encryption ? 'age' : 'none';
  const key = objectKey(name, id, objectExtension(source.format, options.compression, encryption));
  const raw = new Batcher();
  const hasher = new HashingCounter();
  const stopProgress = reportProgress(options, raw, hasher);
  const onAbort = () => void source.close();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  let uploaded = false;
  try {
    const body = await layered(source.output, raw, options);
    const upload = store
      .upload(
        key,
        pipeline(body, hasher, () => undefined),
        { signal },
      )
      .then((stored) => {
        uploaded = true;
        return stored;
      });
    const [{ size }, facts] = await bothOrFirstFailure(
      // A store that fails leaves pg_dump blocked on a full pipe: stop it.
      upload.catch(async (error: unknown) => {
        await source.close();
        throw error;
      }),
      source.finished(),
    );
    if (signal.aborted) throw new CancelledError();
    if (size !== hasher.bytes) {
      throw new Error(`the store holds ${size} bytes of ${key}, but ${hasher.bytes} were sent`);
    }
    const manifest: Manifest = {
      version: 1,
      id,
      name,
      createdAt: options.createdAt.toISOString(),
      completedAt: options.now().toISOString(),
      source: source.manifestSource,
      format: source.format,
      compression: options.compression,
      encryption,
      object: { key, size, sha256: hasher.digest() },
      ...facts,
      tool: options.tool,
      ...(source.dump ? { dump: source.dump } : {}),
      ...(options.run ? { run: options.run } : {}),
    };
    await store.put(manifestKey(name, id), serializeManifest(manifest));
    return { manifest, manifestKey: manifestKey(name, id), rawBytes: raw.bytes };
  } catch (error) {
    if (uploaded) await store.delete([key]).catch(() => undefined);
    throw signal.aborted ? new CancelledError() : error;
  } finally {
    stopProgress();
    signal.removeEventListener('abort', onAbort);
    await source.close();
  }
}

/**
 * Waits for both, even when one fails, so that no upload is still being cleaned up when the run
 * reports; throws the first failure, which is the cause (the other is its consequence).
 */
async function bothOrFirstFailure<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  let first: { error: unknown } | undefined;
  const note = (error: unknown) => {
    first ??= { error };
    throw error;
  };
  const settled = await Promise.allSettled([a.catch(note), b.catch(note)]);
  if (first) throw first.error;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [A, B];
}

/** source → batch and count → compress → encrypt: the bytes as stored, not yet hashed. */
async function layered(output: Readable, raw: Batcher, options: PublishOptions): Promise<Readable> {
  const compress = compressor(options.compression, options.compressionLevel);
  const noop = () => undefined;
  const compressed: Readable = compress
    ? pipeline(output, raw, compress, noop)
    : pipeline(output, raw, noop);
  return options.encryption ? encryptStream(compressed, options.encryption) : compressed;
}

function reportProgress(options: PublishOptions, raw: Batcher, stored: HashingCounter): () => void {
  const started = options.now().getTime();
  const timer = setInterval(() => {
    const seconds = (options.now().getTime() - started) / 1000;
    options.log.info(
      `… ${formatBytes(raw.bytes)} dumped (${formatRate(raw.bytes, seconds)}), ${formatBytes(stored.bytes)} stored`,
    );
  }, options.progressEveryMs ?? 10_000);
  timer.unref();
  return () => clearInterval(timer);
}
