/**
 * One object of a backup on its way into the store: source → compress → encrypt → hash → store.
 * A failure at any step (or a cancel) leaves no object behind.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { CancelledError, errorMessage } from '../core/errors.js';
import { formatBytes, formatRate } from '../core/format.js';
import type { Compression } from '../core/layout.js';
import type { ObjectRecord } from '../core/manifest.js';
import type { Logger } from '../core/types.js';
import type { FileSink, Store } from '../storage/index.js';
import { compressor, levelOf } from './compress.js';
import { chainFrom, chainInto, describeChain, type Filter } from './chain.js';
import { CompressedPrefix } from './compressed-prefix.js';
import { findZstdProgram, zstdFilter } from './zstd-program.js';
import type { Sealer } from './encryption-layer.js';
import { Batcher } from './batch.js';
import { HashingCounter, hashWhileWritten } from './hash.js';
import type { DirectOutput, ObjectSource, SourceFacts } from './source.js';

/** How every object of a backup is made and stored: the layers, the store, the run's context. */
export interface LayerOptions {
  store: Store;
  compression: Compression;
  compressionLevel?: number;
  /** The encryption layer, when the backup is encrypted. */
  sealer?: Sealer;
  log: Logger;
  /** The run's environment (BACKUP_ACTION_ZSTD=node, BACKUP_ACTION_AGE=node keep a layer in Node). */
  env: NodeJS.ProcessEnv;
  now: () => Date;
  signal: AbortSignal;
  /** How often to log progress; a dump of any size reports at least this often. */
  progressEveryMs?: number;
  /** Put before each progress line, where several objects are stored at once. */
  label?: string;
}

/** One object as stored, with what its source reported once it finished. */
export interface StoredObject {
  object: ObjectRecord;
  facts: SourceFacts;
  /** Bytes the source produced, before compression and encryption (unknown when zstd read them). */
  rawBytes?: number;
}

/** Deletes objects of a failed backup; a store that refuses is warned about, not fatal. */
export async function deleteStored(
  keys: string[],
  options: Pick<LayerOptions, 'store' | 'log'>,
): Promise<void> {
  if (keys.length === 0) return;
  // A writer may not delete: the run still fails for its own reason, the objects are swept later.
  await options.store
    .delete(keys)
    .catch((failed: unknown) =>
      options.log.warning(
        `could not delete ${keys.join(', ')} after the failed backup (${errorMessage(failed)}); retention-prune's orphan sweep removes ${keys.length > 1 ? 'them' : 'it'} once older than orphan-grace`,
      ),
    );
}

/**
 * source → compress → encrypt → hash → store, as `key`. A failure at any step (or a cancel)
 * leaves no object behind and rejects; the source is closed in every case.
 */
export async function storeObject(
  key: string,
  source: ObjectSource,
  options: LayerOptions,
): Promise<StoredObject> {
  const { signal } = options;
  const hasher = new HashingCounter();
  let stopProgress: () => void = () => undefined;
  const onAbort = () => void source.close();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  let uploaded = false;
  try {
    const { stored, raw, probe } = await storing(key, source, options, hasher);
    stopProgress = reportProgress(options, raw, hasher);
    const upload = stored.then((object) => {
      uploaded = true;
      return object;
    });
    const [{ size }, facts] = await uploadThenSource(
      // A store that fails leaves pg_dump blocked on a full pipe: stop it.
      upload.catch(async (error: unknown) => {
        await source.close();
        throw error;
      }),
      source.finished(),
    );
    if (signal.aborted) throw new CancelledError();
    await probe?.check();
    if (size !== hasher.bytes) {
      throw new Error(`the store holds ${size} bytes of ${key}, but ${hasher.bytes} were sent`);
    }
    return {
      object: { key, size, sha256: hasher.digest() },
      facts,
      ...(raw ? { rawBytes: raw.bytes } : {}),
    };
  } catch (error) {
    if (uploaded) await deleteStored([key], options);
    throw signal.aborted ? new CancelledError() : error;
  } finally {
    stopProgress();
    signal.removeEventListener('abort', onAbort);
    await source.close();
  }
}

/**
 * Waits for both, even when one fails, so that no upload is still being cleaned up when the run
 * reports. The upload's failure wins: it carries the first error on the data's path (the
 * producer's, a compressor's or the store's), of which a failing source is then a consequence
 * (pg_dump stopped by a broken pipe, a tar writer whose stream was torn down).
 */
async function uploadThenSource<A, B>(upload: Promise<A>, source: Promise<B>): Promise<[A, B]> {
  const [uploaded, finished] = await Promise.allSettled([upload, source]);
  if (uploaded.status === 'rejected') throw uploaded.reason;
  if (finished.status === 'rejected') throw finished.reason;
  return [uploaded.value, finished.value];
}

/**
 * Starts the bytes on their way into the store, hashed as stored. When programs can make every
 * layer (zstd, then age or gpg), they read pg_dump's output through the system's pipes; into a directory
 * store the last of them writes the file itself and Node only reads it back to hash it. Streamed
 * through Node (a socket read, a file write and a buffer per piece) the compressed bytes would cost
 * CPU that on a 2-core machine comes out of pg_dump's and zstd's share (docs/benchmarks.md).
 */
async function storing(
  key: string,
  source: ObjectSource,
  options: LayerOptions,
  hasher: HashingCounter,
): Promise<{ stored: Promise<{ size: number }>; raw?: Batcher; probe?: CompressedPrefix }> {
  const { store, signal } = options;
  const sizing = { signal, expectedBytes: source.sizeEstimate };
  const upload = (body: Readable) =>
    store.upload(
      key,
      pipeline(body, hasher, () => undefined),
      sizing,
    );
  const zstd = options.compression === 'zstd' ? await findZstdProgram(options.env) : undefined;
  const filters = source.direct ? await programsFor(options, zstd) : undefined;
  if (filters && source.direct) {
    const sink = store.fileSink ? await store.fileSink(key) : undefined;
    // The producer starts here: nothing may wait between its start and the programs reading it.
    const direct = source.direct();
    // Only zstd's own output opens here: behind the encrypting program the bytes are sealed.
    const probe = options.sealer ? undefined : prefixProbe(direct);
    if (probe) hasher.onBytes = (chunk) => probe.feed(chunk);
    if (sink) {
      say(options, `${describeChain(filters)}, which writes the file itself`);
      return { stored: programsIntoFile(sink, filters, direct, hasher), probe };
    }
    say(options, describeChain(filters));
    return { stored: upload(chainFrom(filters, direct)), probe };
  }
  if (zstd) say(options, `Compressing with ${zstd}`);
  const { body, raw, probe } = await layered(source, options, zstd);
  return { stored: upload(body), raw, probe };
}

function prefixProbe(direct: DirectOutput): CompressedPrefix | undefined {
  return direct.expected ? new CompressedPrefix(direct.expected) : undefined;
}

/**
 * The programs that make every layer of the stored bytes (`zstd`, the zstd program found, if
 * any), or undefined when one needs Node.
 */
async function programsFor(
  options: LayerOptions,
  zstd: string | undefined,
): Promise<Filter[] | undefined> {
  const filters: Filter[] = [];
  if (options.compression === 'gzip') return undefined;
  if (options.compression === 'zstd') {
    if (!zstd) return undefined;
    filters.push(zstdFilter(zstd, levelOf('zstd', options.compressionLevel)));
  }
  if (options.sealer) {
    const encrypting = await options.sealer.program();
    if (!encrypting) return undefined;
    filters.push(encrypting);
  }
  return filters.length > 0 ? filters : undefined;
}

async function programsIntoFile(
  sink: FileSink,
  filters: Filter[],
  input: DirectOutput,
  hasher: HashingCounter,
): Promise<{ size: number }> {
  const { written, stop } = chainInto(filters, input, sink.file.fd);
  try {
    await hashWhileWritten(sink.file, written, hasher);
    return await sink.commit();
  } catch (error) {
    stop();
    await written.catch(() => undefined);
    await sink.discard();
    throw error;
  }
}

/**
 * source → compress → encrypt: the bytes as stored, not yet hashed. zstd's own program reads a
 * program source directly; otherwise the source's bytes are batched and counted on the way.
 */
async function layered(
  source: ObjectSource,
  options: LayerOptions,
  zstd: string | undefined,
): Promise<{ body: Readable; raw?: Batcher; probe?: CompressedPrefix }> {
  const encrypted = (stream: Readable) => (options.sealer ? options.sealer.seal(stream) : stream);
  if (zstd && source.direct) {
    const level = levelOf('zstd', options.compressionLevel);
    const direct = source.direct();
    const compressed = chainFrom([zstdFilter(zstd, level)], direct);
    const probe = prefixProbe(direct);
    return { body: await encrypted(probe ? tapped(compressed, probe) : compressed), probe };
  }
  const raw = new Batcher();
  const compress = compressor(options.compression, options.compressionLevel, zstd);
  const noop = () => undefined;
  const compressed: Readable = compress
    ? pipeline(source.output, raw, compress, noop)
    : pipeline(source.output, raw, noop);
  return { body: await encrypted(compressed), raw };
}

/** The same stream, its bytes also fed to `probe` (before Node encrypts them). */
function tapped(stream: Readable, probe: CompressedPrefix): Readable {
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      probe.feed(chunk);
      done(null, chunk);
    },
  });
  return pipeline(stream, tap, () => undefined);
}

/** A log line, after the object's label when several are stored at once. */
function say(options: LayerOptions, line: string): void {
  options.log.info(options.label === undefined ? line : `${options.label}: ${line}`);
}

function reportProgress(
  options: LayerOptions,
  raw: Batcher | undefined,
  stored: HashingCounter,
): () => void {
  const started = options.now().getTime();
  const timer = setInterval(() => {
    const seconds = (options.now().getTime() - started) / 1000;
    const dumped = raw?.bytes;
    say(
      options,
      dumped === undefined
        ? `… ${formatBytes(stored.bytes)} stored (${formatRate(stored.bytes, seconds)})`
        : `… ${formatBytes(dumped)} dumped (${formatRate(dumped, seconds)}), ${formatBytes(stored.bytes)} stored`,
    );
  }, options.progressEveryMs ?? 10_000);
  timer.unref();
  return () => clearInterval(timer);
}
