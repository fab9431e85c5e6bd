/**
 * The deep check of a server backup: every object read as a single backup's is (every stored
 * byte hashed, decrypted, decompressed), each database's archive listed by `pg_restore --list`
 * and the globals read as pg_dumpall's SQL. One damaged object does not hide another: each is
 * checked and every damaged one named, with its database and key. A wrong key is not damage:
 * it would fail every object alike, so it stops the check at once.
 */
import type { Readable } from 'node:stream';
import type { ObjectRecord, ServerManifest } from '../core/manifest.js';
import type { Decryption } from '../core/settings.js';
import { errorMessage } from '../core/errors.js';
import { DecryptionError } from '../pipeline/encrypt.js';
import { readObject } from '../pipeline/read.js';
import type { Program } from '../process/programs.js';
import type { Store } from '../storage/index.js';
import { checkArchive, type ArchiveContents } from './archive-check.js';
import { checkGlobals, type GlobalsContents } from './globals-check.js';

export interface ServerContents {
  /** By exact database name, for those whose object passed. */
  databases: Map<string, ArchiveContents>;
  globals?: GlobalsContents;
  /** By object key: one line naming the database (or the globals), the key and the cause. */
  damaged: Map<string, string>;
}

export interface ServerReader {
  store: Store;
  decryption: Decryption;
  pgRestore: Program;
  signal: AbortSignal;
}

export async function checkServerObjects(
  manifest: ServerManifest,
  reader: ServerReader,
): Promise<ServerContents> {
  const contents: ServerContents = { databases: new Map(), damaged: new Map() };
  const read = <T>(object: ObjectRecord, what: string, consume: (bytes: Readable) => Promise<T>) =>
    readOne(manifest, reader, object, what, consume, contents.damaged);
  for (const database of manifest.databases) {
    const what = `database ${JSON.stringify(database.name)}`;
    const archive = await read(database.object, what, (bytes) =>
      checkArchive(bytes, 'pg_dump-custom', reader.pgRestore),
    );
    if (archive) contents.databases.set(database.name, archive);
  }
  if (manifest.globals) {
    contents.globals = await read(manifest.globals.object, 'the globals', checkGlobals);
  }
  return contents;
}

async function readOne<T>(
  manifest: ServerManifest,
  reader: ServerReader,
  object: ObjectRecord,
  what: string,
  consume: (bytes: Readable) => Promise<T>,
  damaged: Map<string, string>,
): Promise<T | undefined> {
  const { store, decryption, signal } = reader;
  try {
    return await readObject(store, object, manifest, decryption, consume, signal);
  } catch (error) {
    if (error instanceof DecryptionError || signal.aborted) throw error;
    damaged.set(object.key, `${what} (${object.key}): ${errorMessage(error)}`);
    return undefined;
  }
}
