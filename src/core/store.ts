/** One interface over the places backups live. Keys are relative to the storage root. */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** An object holds more than a reader accepts; it was not read past the limit. */
export class ObjectTooLarge extends Error {
  constructor(
    readonly key: string,
    readonly maxBytes: number,
  ) {
    super(`${key} holds more than ${maxBytes} bytes`);
    this.name = 'ObjectTooLarge';
  }
}

/**
 * Collects at most `maxBytes` of `stream`, destroying it (which ends the transfer) as soon as it
 * yields more, so a huge object costs one chunk of memory, not its size.
 */
export async function readUpTo(stream: Readable, key: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) throw new ObjectTooLarge(key, maxBytes);
      chunks.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

/** The object is in an archive storage class: it must be restored before it can be read. */
export class ArchivedObject extends Error {
  constructor(readonly key: string) {
    super(
      `${key} is in an archive storage class (GLACIER or DEEP_ARCHIVE) and cannot be read until restored: the backup is not damaged. Restore it first (aws s3api restore-object --bucket … --key … --restore-request Days=1), or write backups with a storage class that can be read at once (STANDARD, STANDARD_IA, GLACIER_IR)`,
    );
    this.name = 'ArchivedObject';
  }
}

export interface RefusedKey {
  key: string;
  reason: string;
}

/** The store refused to delete some keys (Object Lock retention, a WORM bucket, a policy). */
export class DeleteRefused extends Error {
  constructor(readonly refused: readonly RefusedKey[]) {
    const first = refused[0];
    super(
      `the store refused to delete ${refused.length} key(s), e.g. ${first?.key ?? '?'}: ${first?.reason ?? 'no reason given'}`,
    );
    this.name = 'DeleteRefused';
  }
}

export interface StoredObject {
  key: string;
  size: number;
  /** When the store last wrote it, by the store's own clock, where a listing says. */
  modified?: Date;
}

export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface UploadOptions {
  signal?: AbortSignal;
  contentType?: string;
  /** An estimate of the body's size, if the caller has one; a store may size its parts from it. */
  expectedBytes?: number;
  /**
   * The body's exact size, when it is known before it starts (a copy): a store may send it in one
   * request of that length. The body must then hold back its last bytes until it is sure of them.
   */
  size?: number;
}

/** An object being written as a file under a temporary name (directory stores). */
export interface FileSink {
  /** Open for reading and writing; a program may write to its descriptor directly. */
  readonly file: FileHandle;
  /** Closes the file and puts it under its key, whole; resolves with its size. */
  commit(): Promise<{ size: number }>;
  /** Closes the file and removes it: nothing is left under the key. */
  discard(): Promise<void>;
}

export interface Store {
  /** Where the store is, for logs: `s3://bucket/prefix` or a directory path. Never holds secrets. */
  readonly description: string;
  /**
   * Streams `body` to `key`. The object appears under `key` only once complete; if the body or
   * the store fails, or `signal` aborts, nothing is left under `key` and no upload stays open.
   */
  upload(key: string, body: Readable, options?: UploadOptions): Promise<{ size: number }>;
  /**
   * Where a store keeps objects as files: one to write `key` to directly, for a program that can
   * write it itself. The same guarantees as `upload` hold once the caller commits or discards.
   */
  fileSink?(key: string): Promise<FileSink>;
  /**
   * Proves, before a backup starts its dump, that objects can be written under `prefix` (as far
   * as the writer's permissions let it: on S3, that the bucket and credentials answer for it), so
   * a store that cannot take the backup fails the run before any work rather than after the dump.
   */
  checkWritable(prefix: string): Promise<void>;
  /**
   * Writes a small object (a manifest) whole, atomically. Never in an archive storage class
   * (GLACIER, DEEP_ARCHIVE): what a store holds is read from its manifests.
   */
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Streams an object's bytes. Rejects when the object does not exist. */
  download(key: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /**
   * Reads a small object (a manifest) whole, but never more than `maxBytes`: anyone with access
   * to the store can put a gigabyte under a manifest's key. Rejects with ObjectTooLarge then.
   */
  read(key: string, maxBytes: number): Promise<Buffer>;
  /** The object's size, or undefined when it does not exist. */
  stat(key: string): Promise<StoredObject | undefined>;
  /** Every key under `prefix`, paging through the whole listing. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /**
   * Deletes the keys, in as few requests as the store allows. Missing keys are not an error; keys
   * the store refuses one by one (Object Lock) reject with DeleteRefused once all were tried.
   */
  delete(keys: readonly string[]): Promise<void>;
  /** Multipart uploads started under `prefix` and never completed (S3 only; none elsewhere). */
  incompleteUploads(prefix: string): AsyncIterable<IncompleteUpload>;
  /** Aborts an incomplete upload. */
  abortUpload(upload: IncompleteUpload): Promise<void>;
}
