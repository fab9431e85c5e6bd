/**
 * A passphrase backup's own age identity. The scrypt a passphrase costs takes seconds, on
 * purpose; paid for each object, it made a server backup of 180 databases minutes slower to
 * write and again to read. So each backup makes one random X25519 identity, encrypts every object
 * to it, and stores the identity encrypted with the passphrase, as one small object its manifest
 * names with its sha256: one scrypt to write a backup, one for each run that reads it, and by hand
 * `age -d` twice. The identity is never written anywhere else, nor its public key at all.
 */
import { createHash } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import { identityKey } from '../core/layout.js';
import { IDENTITY_MAX_BYTES, type ObjectRecord } from '../core/manifest.js';
import type { AgeKeys, Decryption } from '../core/settings.js';
import { ObjectTooLarge, type Store } from '../storage/index.js';
import { checkAgainst, ChecksumError } from './checksum.js';
import { DecryptionError } from './encrypt.js';

/** A new backup's identity: what its objects are encrypted to, and the identity sealed. */
export interface OwnIdentity {
  /** The identity's recipient, alone: the objects carry no scrypt stanza. */
  keys: AgeKeys;
  /** The identity, encrypted with the passphrase: the bytes stored beside the manifest. */
  sealed: Uint8Array;
}

export async function makeIdentity(passphrase: string): Promise<OwnIdentity> {
  const { Encrypter, generateX25519Identity, identityToRecipient } = await import('age-encryption');
  // X25519, which every age program reads (Debian 12's age 1.1 knows no post-quantum keys).
  const identity = await generateX25519Identity();
  const encrypter = new Encrypter();
  encrypter.setPassphrase(passphrase);
  return {
    keys: { recipients: [await identityToRecipient(identity)], secret: true },
    sealed: await encrypter.encrypt(`${identity}\n`),
  };
}

/** The record of backup `id`'s sealed identity, for its manifest; publish stores the bytes. */
export function identityRecord(name: string, id: string, sealed: Uint8Array): ObjectRecord {
  return { key: identityKey(name, id), size: sealed.length, sha256: sha256Of(sealed) };
}

/** What the layers of a backup that may have an identity say of it. */
interface Sealing {
  encryption: string;
  identity?: ObjectRecord;
}

/**
 * The keys that open a backup's objects: its own identity when it has one, opened with the
 * passphrase. Without a passphrase the identities given are tried as they are, so a backup's
 * identity decrypted by hand opens it too; a backup made before identities existed has none,
 * and the passphrase opens each object.
 */
export async function keysFor(
  store: Store,
  sealing: Sealing,
  keys: Decryption,
): Promise<Decryption> {
  const record = sealing.identity;
  if (sealing.encryption !== 'age' || !record || keys.passphrase === undefined) return keys;
  return { identities: [await openedIdentity(store, record, keys, keys.passphrase)] };
}

/** By the keys a run was given, each backup identity that run opened, by its sha256. */
const opened = new WeakMap<Decryption, Map<string, Promise<string>>>();

/**
 * Each identity opened once per run, whichever store and however many objects ask for it. One
 * that failed is forgotten: another store's copy may be whole.
 */
function openedIdentity(
  store: Store,
  record: ObjectRecord,
  keys: Decryption,
  passphrase: string,
): Promise<string> {
  const byHash = opened.get(keys) ?? new Map<string, Promise<string>>();
  opened.set(keys, byHash);
  const known = byHash.get(record.sha256);
  if (known) return known;
  const opening = openIdentity(store, record, passphrase);
  byHash.set(record.sha256, opening);
  opening.catch(() => byHash.delete(record.sha256));
  return opening;
}

async function openIdentity(
  store: Store,
  record: ObjectRecord,
  passphrase: string,
): Promise<string> {
  const sealed = await store
    .read(record.key, Math.min(record.size, IDENTITY_MAX_BYTES))
    .catch((error: unknown) => {
      if (!(error instanceof ObjectTooLarge)) throw error;
      throw new ChecksumError(
        `${record.key} holds more than the ${record.size} bytes its manifest records`,
      );
    });
  checkAgainst(record, { bytes: sealed.length, sha256: sha256Of(sealed) });
  const { Decrypter } = await import('age-encryption');
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  let text: string;
  try {
    text = await decrypter.decrypt(sealed, 'text');
  } catch (error) {
    throw new DecryptionError(
      `cannot decrypt the backup's identity ${record.key}: ${errorMessage(error)} (is encryption-passphrase the one the backup was made with?)`,
    );
  }
  const identity = text.split(/\r?\n/).find((line) => line.startsWith('AGE-SECRET-KEY-1'));
  if (identity === undefined) throw new DecryptionError(`${record.key} holds no age identity`);
  return identity;
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
