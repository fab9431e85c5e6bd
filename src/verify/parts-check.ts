/**
 * The deep check of a backup's objects: each read as stored (every byte hashed, decrypted,
 * decompressed) and handed to the reader of its kind. One damaged object does not hide another:
 * each is checked and every damaged one named, with what it is and its key. A wrong key is not
 * damage: it would fail every object alike, so it stops the check at once; nor is a store that
 * fails mid-read, which stops it too.
 */
import type { Readable } from 'node:stream';
import { errorMessage } from '../core/errors.js';
import { diagnose } from '../core/retry.js';
import type { ObjectRecord } from '../core/manifest.js';
import type { Decryption } from '../core/settings.js';
import { DecryptionError } from '../pipeline/encrypt.js';
import { readObject, type Layers } from '../pipeline/read.js';
import type { Store } from '../storage/index.js';

/** One object and how its archive is read. */
export interface PartReader<T> {
  /** What it is, in the damage line (`database "shop"`); a backup's only object needs none. */
  label?: string;
  object: ObjectRecord;
  read(archive: Readable): Promise<T>;
}

export interface ObjectsReader {
  store: Store;
  decryption: Decryption;
  signal: AbortSignal;
}

export interface PartsRead<T> {
  /** By object key, for those that passed. */
  found: Map<string, T>;
  /** By object key: one line naming the part, the key and the cause. */
  damaged: Map<string, string>;
}

export async function readParts<T>(
  parts: readonly PartReader<T>[],
  layers: Layers,
  reader: ObjectsReader,
): Promise<PartsRead<T>> {
  const read: PartsRead<T> = { found: new Map(), damaged: new Map() };
  const { store, decryption, signal } = reader;
  for (const { label, object, read: consume } of parts) {
    try {
      read.found.set(
        object.key,
        await readObject(store, object, layers, decryption, consume, signal),
      );
    } catch (error) {
      if (error instanceof DecryptionError || signal.aborted) throw error;
      if (diagnose(error).transient) throw storeFailure(error, object.key, store);
      const cause = errorMessage(error);
      read.damaged.set(object.key, label ? `${label} (${object.key}): ${cause}` : cause);
    }
  }
  return read;
}

/**
 * A store that failed mid-read (a response cut short, a refused connection, a 5xx after the
 * client's own tries) says nothing of the backup's bytes: the check stops there, naming the store
 * and the object, its error kept as the cause the retry policy judges.
 */
function storeFailure(error: unknown, key: string, store: Store): Error {
  const said = errorMessage(error);
  if (said.includes(key)) return error as Error;
  return new Error(`the store ${store.description} failed while ${key} was read: ${said}`, {
    cause: error,
  });
}
