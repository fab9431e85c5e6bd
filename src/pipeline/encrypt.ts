/**
 * age encryption as Node streams, over the age-encryption library's web streams. Files it writes
 * open with the standard `age -d`; files `age` writes open here.
 */
import { Decrypter, Encrypter } from 'age-encryption';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Decryption } from '../settings.js';

export interface EncryptionKeys {
  recipients: string[];
  passphrase?: string;
}

type WebBytes = WebReadableStream<Uint8Array>;

export async function encryptStream(input: Readable, keys: EncryptionKeys): Promise<Readable> {
  const encrypter = new Encrypter();
  if (keys.passphrase !== undefined) encrypter.setPassphrase(keys.passphrase);
  for (const recipient of keys.recipients) encrypter.addRecipient(recipient);
  const web = Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
  const encrypted = (await encrypter.encrypt(web)) as unknown as WebBytes;
  return Readable.fromWeb(encrypted, { highWaterMark: 4 });
}

/** Thrown when no identity or passphrase given opens the file. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export async function decryptStream(input: Readable, keys: Decryption): Promise<Readable> {
  if (keys.identities.length === 0 && keys.passphrase === undefined) {
    throw new DecryptionError(
      'the backup is encrypted with age; give age-identity or encryption-passphrase to read it',
    );
  }
  const decrypter = new Decrypter();
  for (const identity of keys.identities) decrypter.addIdentity(identity);
  if (keys.passphrase !== undefined) decrypter.addPassphrase(keys.passphrase);
  const web = Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
  let decrypted: WebBytes;
  try {
    decrypted = (await decrypter.decrypt(web)) as unknown as WebBytes;
  } catch (error) {
    input.destroy();
    throw new DecryptionError(
      `cannot decrypt the backup: ${error instanceof Error ? error.message : String(error)} (is age-identity or encryption-passphrase the one it was encrypted for?)`,
    );
  }
  return Readable.fromWeb(decrypted, { highWaterMark: 4 });
}
