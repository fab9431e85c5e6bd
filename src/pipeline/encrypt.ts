/**
 * age encryption as Node streams. Files it writes open with the standard `age -d`; files `age`
 * writes open here. The age-encryption library makes the header (recipient stanzas, scrypt, MAC);
 * the payload, encrypted to public keys, is sealed with Node's native ChaCha20-Poly1305, which is
 * many times faster than the library's JavaScript cipher (docs/benchmarks.md). The library is
 * loaded only when a run encrypts or decrypts.
 */
import { createCipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { AgeKeys, Decryption } from '../core/settings.js';
import { own, release } from '../process/owned.js';

type WebBytes = WebReadableStream<Uint8Array>;

export async function encryptStream(input: Readable, keys: AgeKeys): Promise<Readable> {
  if (keys.passphrase !== undefined) return encryptWithLibrary(input, keys);
  const { prefix, payloadKey } = await headerFor(keys.recipients);
  return pipeline(input, new PayloadSealer(prefix, payloadKey), () => undefined);
}

/**
 * The header and payload nonce of an age file to `recipients`, and its payload key. The library
 * encrypts an empty file (header, nonce, then the empty last chunk's 16-byte tag) while one more
 * recipient, which adds no stanza, hands over the file key; the payload key derives from it as
 * the age specification says: HKDF-SHA-256(file key, salt = nonce, info = "payload").
 */
async function headerFor(recipients: string[]): Promise<{ prefix: Buffer; payloadKey: Buffer }> {
  const { Encrypter } = await import('age-encryption');
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  let fileKey: Uint8Array | undefined;
  encrypter.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = key;
      return [];
    },
  });
  const empty = await encrypter.encrypt(new Uint8Array(0));
  if (!fileKey) throw new Error('age: the file key was not handed over');
  const prefix = Buffer.from(empty.subarray(0, empty.length - TAG_BYTES));
  const nonce = prefix.subarray(prefix.length - NONCE_BYTES);
  const payloadKey = Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
  return { prefix, payloadKey };
}

const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const NONCE_BYTES = 16;

/**
 * age's STREAM: 64 KiB chunks, each sealed with ChaCha20-Poly1305 under an 11-byte big-endian
 * chunk counter and a last-chunk flag. A full chunk is held until more data shows it is not the
 * last, since only the last chunk carries the flag (and only an empty file has an empty one).
 * Whole chunks are sealed where they lie in the input; only the pieces that straddle two inputs
 * are copied, into one staging chunk, so that the bytes are not copied twice on the way.
 */
class PayloadSealer extends Transform {
  private readonly nonce = Buffer.alloc(12);
  private readonly stage = Buffer.allocUnsafe(CHUNK_BYTES);
  private staged = 0;
  private prefix: Buffer | undefined;
  // A key object, made once: given as bytes, every chunk's cipher would import them again, a cost
  // paid per chunk.
  private readonly key: KeyObject;

  constructor(prefix: Buffer, key: Buffer) {
    super();
    this.prefix = prefix;
    this.key = createSecretKey(key);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const sealed: Buffer[] = this.takePrefix();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.staged === CHUNK_BYTES) {
        sealed.push(...this.seal(this.stage, false));
        this.staged = 0;
      }
      if (this.staged === 0 && chunk.length - offset > CHUNK_BYTES) {
        sealed.push(...this.seal(chunk.subarray(offset, offset + CHUNK_BYTES), false));
        offset += CHUNK_BYTES;
        continue;
      }
      const copied = chunk.copy(this.stage, this.staged, offset);
      this.staged += copied;
      offset += copied;
    }
    // Sealed and staged copies hold all of it now.
    release(chunk);
    for (const piece of sealed) this.push(piece);
    done();
  }

  override _flush(done: TransformCallback): void {
    const last = this.seal(this.stage.subarray(0, this.staged), true);
    for (const piece of [...this.takePrefix(), ...last]) this.push(piece);
    done();
  }

  private takePrefix(): Buffer[] {
    const prefix = this.prefix;
    this.prefix = undefined;
    return prefix ? [prefix] : [];
  }

  private seal(plain: Buffer, last: boolean): Buffer[] {
    this.nonce[11] = last ? 1 : 0;
    const cipher = createCipheriv('chacha20-poly1305', this.key, this.nonce, {
      authTagLength: TAG_BYTES,
    });
    const sealed = [own(cipher.update(plain))];
    cipher.final(); // empty for a stream cipher: it computes the tag
    sealed.push(cipher.getAuthTag());
    for (let i = 10; i >= 0; i--) {
      this.nonce[i] = ((this.nonce[i] ?? 0) + 1) & 0xff;
      if (this.nonce[i] !== 0) break;
    }
    return sealed;
  }
}

/** Passphrases go through the library whole: its scrypt stanza is the only one such a file has. */
async function encryptWithLibrary(input: Readable, keys: AgeKeys): Promise<Readable> {
  const { Encrypter } = await import('age-encryption');
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
  const { Decrypter } = await import('age-encryption');
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
